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
import signal
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from remiss.cli import stopping, temporary_server
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
    "arkivera": "flows.archive:archive_round",
}


def process_answer(answer_id: int) -> None:
    """The process-answer flow, imported (with Prefect) on the first answer, not at start."""
    from flows.messages import process_answer as flow

    # The temporary server, if the flow starts one, ends with the portal (even on SIGKILL).
    temporary_server.install()
    flow(answer_id)


def run_job(job: tuple[str, dict[str, int]]) -> None:
    temporary_server.install()
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


# How long open connections (a slow upload, say) may hold up a stop before they are cut:
# well inside systemd's 90 s and Docker's 10 s before SIGKILL, which no cleanup survives.
GRACEFUL_SECONDS = 8


class _Server(uvicorn.Server):
    """uvicorn's server, stopped alike by SIGTERM, SIGINT and SIGHUP, and at once by a second.

    uvicorn stops gracefully on SIGINT and SIGTERM, then raises the signal again for the
    handler it found (`stopping`'s: the command then unwinds and the temporary Prefect
    server is stopped); SIGHUP it leaves alone, so here it counts as SIGTERM.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:
            stopping.hurry(sig)
        stopping.watch(sig)
        super().handle_exit(sig, frame)

    def _hangup(self, _sig: int, frame: FrameType | None) -> None:
        self.handle_exit(signal.SIGTERM, frame)

    def run_until_stopped(self) -> None:
        previous = signal.signal(signal.SIGHUP, self._hangup)
        try:
            self.run()
        except KeyboardInterrupt:  # the stop signal, raised again once the server is down
            pass
        finally:
            signal.signal(signal.SIGHUP, previous)


def serve(app: FastAPI, *, host: str, port: int) -> bool:
    """Serve `app` until a stop signal; whether the server had started."""
    server = _Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            # Off: uvicorn would log every link's token; our middleware logs masked paths.
            access_log=False,
            # The application reads X-Forwarded-For itself, from trusted_proxies only (web/
            # security.py ProxyHeaders): it must still see the proxy's own address.
            proxy_headers=False,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
    )
    server.run_until_stopped()
    for runner in (app.state.trigger, getattr(app.state.jobs, "runner", None)):
        if isinstance(runner, BackgroundRunner):
            runner.wait_idle(stopping.STOP_SECONDS)
    return server.started
