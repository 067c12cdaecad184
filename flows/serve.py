"""`python -m flows.serve`: serve every deployment in this process (what `remiss up` runs),
after creating the automation that marks a dead process's flow runs Crashed."""

from __future__ import annotations

from prefect import serve

from flows.automations import HEARTBEAT_SECONDS, ensure_crash_automation
from flows.deployments import deployments

if __name__ == "__main__":
    ensure_crash_automation()
    # Every flow run this process starts sends a heartbeat this often; the automation
    # marks a run Crashed after three are missed.
    # Not paused on shutdown: pausing needs the server, which may be stopping too.
    serve(*deployments(), pause_on_shutdown=False, heartbeat_seconds=HEARTBEAT_SECONDS)
