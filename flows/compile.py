"""Compile the remissammanställning: by hand, when a round is complete, or after its deadline."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flows.dashboard import label_round_run, publish_round, quietly
from remiss.core.dates import utcnow
from remiss.core.settings import load_settings
from remiss.report.compiling import build_for_compile, record_version
from remiss.report.render import FORMATS, render_markdown, slug, write_report


@task(name="skriv-remissammanställning")
def write_task(
    round_id: int, formats: list[str], out_dir: str | None, automatic: bool
) -> list[str]:
    settings = load_settings()
    now = utcnow()
    report = build_for_compile(settings, round_id=round_id, now=now, automatic=automatic)
    target = (
        Path(out_dir)
        if out_dir
        else settings.data_dir
        / "sammanstallningar"
        / f"{slug(report.diarienummer)}-omgang-{round_id}"
        / now.strftime("%Y%m%d-%H%M%S")
    )
    paths = write_report(report, settings, target, tuple(formats))
    record_version(report, paths)
    create_markdown_artifact(
        key=f"remissammanstallning-{round_id}",
        markdown=render_markdown(report, settings),
        description=f"Remissammanställning {report.diarienummer} ({report.status_label.lower()})",
    )
    return [str(p) for p in paths]


@flow(name="sammanställ-remissvar")
def compile_round(
    round_id: int,
    formats: list[str] | None = None,
    out_dir: str | None = None,
    automatic: bool = False,
) -> list[str]:
    """Write the remissammanställning for a round as HTML, PDF and DOCX."""
    quietly(label_round_run, round_id, "remissammanställning")
    paths = write_task(round_id, list(formats or FORMATS), out_dir, automatic)
    quietly(publish_round, round_id, paths)
    return paths
