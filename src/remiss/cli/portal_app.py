"""The answer page and workspace as an entry point: the web application wired to the flows.

`remiss portal` serves `app_for(settings)`; an ASGI server with several worker processes
uses the factory:

    uvicorn --factory remiss.cli.portal_app:create --workers 4 --no-proxy-headers --no-access-log

(`--no-proxy-headers`: the application reads X-Forwarded-For itself, from `trusted_proxies`
only.) Each process reads the settings; with answer_trigger: event no answer or job depends on
the process that stored it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from remiss.core.settings import Settings, load_settings
from remiss.web.app import Trigger, create_app
from remiss.web.trigger import BackgroundRunner, Jobs, announce, announce_job

# The jobs the workspace hands on: name -> the flow that does it ("module:function").
# With answer_trigger: event, flows/deployments.py has a deployment whose trigger expects
# `remiss.job.<name>` for each (tests/unit/test_deployments.py checks that it does).
JOBS: dict[str, str] = {
    "skicka": "flows.messages:send_round_messages",
    "starta": "flows.start_round:start_round_from_draft",
    "sammanstall": "flows.compile:compile_round",
}


def process_answer(answer_id: int) -> None:
    """The process-answer flow, imported (with Prefect) on the first answer, not at start."""
    from flows.messages import process_answer as flow

    flow(answer_id)


def run_job(job: tuple[str, dict[str, int]]) -> None:
    name, params = job
    module, function = JOBS[name].split(":")
    flow: Callable[..., Any] = getattr(importlib.import_module(module), function)
    flow(**params)


@dataclass
class ThreadJobs:
    """answer_trigger: thread: jobs run one after another on a worker thread."""

    runner: BackgroundRunner[tuple[str, dict[str, int]]]

    def submit(self, name: str, **params: int) -> None:
        if name not in JOBS:
            raise ValueError(f"unknown job {name!r}")
        self.runner((name, params))


class EventJobs:
    """answer_trigger: event: each job is an event that a deployment's trigger runs."""

    def submit(self, name: str, **params: int) -> None:
        if name not in JOBS:
            raise ValueError(f"unknown job {name!r}")
        announce_job(name, params)


def trigger_for(settings: Settings) -> Trigger:
    """How a stored answer is handed on: a Prefect event, or the flow in a worker thread."""
    if settings.answer_trigger == "event":
        return announce
    return BackgroundRunner(process_answer)


def jobs_for(settings: Settings) -> Jobs:
    if settings.answer_trigger == "event":
        return EventJobs()
    return ThreadJobs(BackgroundRunner(run_job))


def app_for(settings: Settings) -> FastAPI:
    return create_app(settings, trigger=trigger_for(settings), jobs=jobs_for(settings))


def create() -> FastAPI:
    """The ASGI factory (`uvicorn --factory remiss.cli.portal_app:create`)."""
    return app_for(load_settings())
