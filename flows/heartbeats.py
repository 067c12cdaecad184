"""Flow-run heartbeats that stop as soon as the run ends.

Prefect 3.9's heartbeat thread (`prefect.flow_engine._send_heartbeats`) sleeps in whole
seconds between checks of its stop event, and the end of every flow run joins it: each run
ended up to a second late, whatever it did. Measured here on a flow that does nothing:
1.1-1.5 s a run with Prefect's thread, 0.17-0.31 s with this one; a round start is two
flow runs, and the demo some thirty (bench/README.md). This is the same thread, emitting
the same heartbeat event at the same interval, waiting on the stop event instead, so the
join returns at once.

The heartbeats matter: the automation in flows/automations.py marks a run Crashed when
they stop. tests/flows/test_heartbeats.py checks that a run still sends them and that the
thread is gone when the run has ended, and `install` refuses a Prefect whose engine no
longer has what it replaces.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

import prefect.flow_engine as engine_module

_REPLACED = "_send_heartbeats"
_USED = ("_build_heartbeat_event_template", "_emit_flow_run_heartbeat", "heartbeat_seconds")


@contextmanager
def send_heartbeats(engine: Any, join_on_exit: bool = True) -> Generator[None, None, None]:
    """Prefect's `_send_heartbeats`, stopped by its event rather than a one-second poll."""
    seconds = engine.heartbeat_seconds
    if seconds is None:
        yield
        return
    seconds = max(seconds, engine_module.MINIMUM_HEARTBEAT_INTERVAL)
    resource, related = engine._build_heartbeat_event_template()
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            run = engine.flow_run
            if run and run.state and run.state.is_final():
                return
            try:
                engine._emit_flow_run_heartbeat(resource, related)
            except Exception:  # as Prefect does: a missed heartbeat is only logged
                engine.logger.debug("Failed to emit heartbeat", exc_info=True)
            stop.wait(seconds)

    # The thread sees the run's settings context (the API URL), as in Prefect's version.
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(beat,), name="flow-run-heartbeat", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        if join_on_exit:
            thread.join(timeout=2)


def install() -> None:
    """Put `send_heartbeats` in place of Prefect's; raise if the engine has changed."""
    current = getattr(engine_module, _REPLACED, None)
    missing = [name for name in _USED if not hasattr(engine_module.BaseFlowRunEngine, name)]
    if current is None or missing or not hasattr(engine_module, "MINIMUM_HEARTBEAT_INTERVAL"):
        raise RuntimeError(
            f"prefect.flow_engine has changed ({_REPLACED}, {', '.join(missing) or 'ok'}): "
            "check whether flows/heartbeats.py is still needed"
        )
    setattr(engine_module, _REPLACED, send_heartbeats)
