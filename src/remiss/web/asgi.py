"""The answer page for an ASGI server with several worker processes:

    uvicorn --factory remiss.web.asgi:app --workers 4 --proxy-headers --no-access-log

Each process reads the settings; with answer_trigger: event no answer depends on the
process that stored it.
"""

from __future__ import annotations

from fastapi import FastAPI

from remiss.core.settings import Settings, load_settings
from remiss.web.app import Trigger, create_app
from remiss.web.trigger import announce, process_in_background


def trigger_for(settings: Settings) -> Trigger:
    return announce if settings.answer_trigger == "event" else process_in_background


def app() -> FastAPI:
    settings = load_settings()
    return create_app(settings, trigger=trigger_for(settings))
