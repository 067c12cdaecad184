"""The e-archive package of a closed round, and the retention rules (issue 21)."""

from __future__ import annotations

from prefect import flow

from flows.dashboard import label_round_run, quietly
from remiss.archive.sip import build_package
from remiss.core.dates import utcnow
from remiss.core.settings import load_settings


@flow(name="arkivera-remissomgang")
def archive_round(round_id: int) -> str:
    """Write the closed round as an E-ARK SIP (zip) under the data folder; its path."""
    quietly(label_round_run, round_id, "e-arkiv")
    return str(build_package(load_settings(), round_id=round_id, now=utcnow()))


@flow(name="gallra")
def apply_retention() -> int:
    """Delete what the gallring rules allow (nothing by default) and log it; how many items."""
    from remiss.archive import retention

    return retention.apply(load_settings(), now=utcnow())
