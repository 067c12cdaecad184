"""`python -m flows.serve`: serve every deployment in this process (what `remiss up` runs)."""

from __future__ import annotations

from prefect import serve

from flows.deployments import deployments

if __name__ == "__main__":
    # Not paused on shutdown: pausing needs the server, which may be stopping too.
    serve(*deployments(), pause_on_shutdown=False)
