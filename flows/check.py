"""The daily check (`remiss check --repair` as a flow): what crashes left is cleared, and a
record that is not whole fails the run, so the alarm (flows/deployments.py) tells the
operators."""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows.dashboard import label_dated_run, quietly
from remiss.core.dates import utcnow
from remiss.core.errors import RemissError
from remiss.core.settings import load_settings
from remiss.storage.check import check


@flow(name="kontroll")
def check_record() -> dict[str, int]:
    """Remove stale temp files, quarantine old unreferenced files, and check the rest."""
    quietly(label_dated_run, "Kontroll")
    report = check(load_settings(), now=utcnow(), repair=True)
    logger = get_run_logger()
    # Counts and the report's sentences: document ids and paths, never names or content.
    for line in report.lines():
        logger.info(line)
    repaired = report.repaired
    if report.problems:
        raise RemissError(" ".join(report.problems))
    return {
        "dokument": report.documents,
        "borttagna": repaired.removed if repaired else 0,
        "karantan": repaired.quarantined if repaired else 0,
    }
