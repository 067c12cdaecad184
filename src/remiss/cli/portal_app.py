"""The answer page as an entry point: the web application wired to the flows.

`remiss portal` serves `app_for(settings)`; an ASGI server with several worker processes
uses the factory:

    uvicorn --factory remiss.cli.portal_app:create --workers 4 --proxy-headers --no-access-log

Each process reads the settings; with answer_trigger: event no answer depends on the
process that stored it.
"""

from __future__ import annotations

from fastapi import FastAPI

from remiss.core.settings import Settings, load_settings
from remiss.web.app import Trigger, create_app
from remiss.web.trigger import BackgroundRunner, announce


def process_answer(answer_id: int) -> None:
    """The process-answer flow, imported (with Prefect) on the first answer, not at start."""
    from flows.messages import process_answer as flow

    flow(answer_id)


def trigger_for(settings: Settings) -> Trigger:
    """How a stored answer is handed on: a Prefect event, or the flow in a worker thread."""
    if settings.answer_trigger == "event":
        return announce
    return BackgroundRunner(process_answer)


def app_for(settings: Settings) -> FastAPI:
    return create_app(settings, trigger=trigger_for(settings))


def create() -> FastAPI:
    """The ASGI factory (`uvicorn --factory remiss.cli.portal_app:create`)."""
    return app_for(load_settings())
