"""What an operator sees in Prefect's dashboard: runs named and tagged by case, per-round
artifacts that show the current state, and the event log as Prefect events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
)
from prefect.client.orchestration import get_client
from prefect.events import emit_event
from prefect.runtime import flow_run

from remiss.answers.processing import round_of_answer
from remiss.core.dates import iso_local, utcnow
from remiss.core.language import count, sentence
from remiss.core.settings import load_settings
from remiss.rounds.feed import claim_batch
from remiss.rounds.status import answer_origin, round_overview, round_tags, table_rows


def label_run(name: str, tags: Iterable[str]) -> None:
    """Give the current flow run a name that says what it does, and tags to filter by."""
    run_id = flow_run.id
    if not run_id:
        return
    with get_client(sync_client=True) as client:
        current = client.read_flow_run(run_id)
        client.update_flow_run(run_id, name=name[:200], tags=sorted({*current.tags, *tags}))


def label_round_run(round_id: int, what: str) -> None:
    dnr, tags = round_tags(load_settings(), round_id=round_id)
    label_run(f"Remiss {dnr} – {what}", tags)


def label_answer_run(answer_id: int) -> None:
    name, dnr, code = answer_origin(load_settings(), answer_id=answer_id)
    label_run(f"Svar från {name} – {dnr}", [dnr, code])


def publish_answer_round(answer_id: int) -> None:
    publish_round(round_of_answer(load_settings(), answer_id=answer_id))


def label_dated_run(what: str, *, with_time: bool = False) -> None:
    """ "Påminnelser 2026-12-15", "Brevlådan 2026-12-15 10:05": runs not tied to one round."""
    settings = load_settings()
    stamp = iso_local(utcnow(), settings.timezone)
    label_run(f"{what} {stamp if with_time else stamp[:10]}", [])


def publish_round(round_id: int, report_files: list[str] | None = None) -> None:
    """The round's artifacts, keyed so that the newest version is the current view."""
    settings = load_settings()
    doc, documents = round_overview(settings, round_id=round_id, now=utcnow())
    title = f"{doc['diarienummer']} {doc['rubrik']}"
    create_table_artifact(
        key=f"remissomgang-{round_id}",
        table=[
            {"Remissinstans": name, "Status": state, "Skickad": sent, "Svar senast": deadline}
            for name, state, sent, deadline in table_rows(doc, settings.timezone)
        ],
        description=f"Remissomgång {round_id}: {title}",
    )
    total = doc["counts"]["total"] or 1
    done = doc["progress_counts"]["answered"] + doc["progress_counts"]["declined"]
    create_progress_artifact(
        progress=round(100 * done / total, 1),
        key=f"remissomgang-{round_id}-svar",
        description=f"Svar in: {done} av {doc['counts']['total']} ({doc['diarienummer']})"
        + (f", {doc['to_review']} ska granskas" if doc["to_review"] else ""),
    )
    base = settings.base_url
    lines = [f"# Remiss {title}", "", f"[Översikten för omgången]({base}/admin/omgang/{round_id})"]
    waiting = [
        (doc["to_review"], "som kom med e-post ska granskas", "#granska-rubrik"),
        (doc["awaiting_kvittens"], "väntar på kvittens", ""),
    ]
    for n, what, anchor in waiting:
        if n:
            link = f"{base}/admin/omgang/{round_id}{anchor}"
            lines += ["", f"**{sentence(count(n, 'svar', 'svar', neuter=True))} {what}** ({link})"]
    if documents:
        lines += ["", "## Svarsdokument", ""]
        lines += [
            f"- {name}: [{file}]({base}/admin/filer/{doc_id})" for name, file, doc_id in documents
        ]
    if report_files:
        lines += ["", "## Remissammanställning", ""]
        lines += [f"- `{path}`" for path in report_files]
        lines += ["", f"Texten finns i artefakten `remissammanstallning-{round_id}`."]
    create_markdown_artifact(
        key=f"remissomgang-{round_id}-dokument",
        markdown="\n".join(lines),
        description=f"Länkar: {doc['diarienummer']}",
    )


def publish_events() -> int:
    """Emit every log row not yet published as a Prefect event; how many were emitted."""
    settings = load_settings()
    emitted = 0
    while True:
        events = claim_batch(settings)
        if not events:
            return emitted
        for event in events:
            emit_event(
                event=event.event,
                resource=event.resource,
                related=event.related,
                payload=event.payload,
                occurred=event.occurred,
                id=event.id,
            )
            emitted += 1


def quietly(call: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """The dashboard is for looking: if Prefect's API stumbles, the work stands and says so."""
    try:
        call(*args, **kwargs)
    except Exception as exc:
        get_run_logger().warning(
            "Kunde inte uppdatera översikten i Prefect (%s: %s)", type(exc).__name__, exc
        )
