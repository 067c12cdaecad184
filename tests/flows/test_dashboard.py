"""What an operator sees in Prefect after a round: runs named and tagged by case, the
round's artifacts, and the dispatches' state changes in the event feed."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterTags,
)
from prefect.client.schemas.sorting import ArtifactSort

from flows.dashboard import publish_round
from flows.messages import sweep
from flows.start_round import start_round
from remiss.answers import service as answers
from remiss.core.dates import utcnow
from remiss.core.settings import Settings
from remiss.core.terms import NOT_REVIEWED
from remiss.db.engine import session_scope
from remiss.db.models import Round
from tests.conftest import future_deadline

DNR = "KS 2025/348"


def in_thread(call: Any) -> Any:
    # Another test's Playwright may hold this thread's event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(call())).result()


def events_named(prefix: str, since: dt.datetime) -> list[dict[str, Any]]:
    """This test's events: earlier tests' rounds had the same ids in their own databases."""

    async def read() -> list[dict[str, Any]]:
        async with get_client() as client:
            response = await client._client.post(
                "/events/filter",
                json={
                    "filter": {
                        "event": {"prefix": [prefix]},
                        "occurred": {"since": since.isoformat()},
                    },
                    "limit": 50,
                },
            )
            response.raise_for_status()
            return list(response.json()["events"])

    result: list[dict[str, Any]] = in_thread(read)
    return result


def test_runs_artifacts_and_events_show_the_round(settings: Settings, case_dir: Path) -> None:
    began = utcnow()
    round_id = start_round(
        str(case_dir / "arende.yaml"), to=["rad"], deadline=future_deadline().isoformat()
    )
    with session_scope(settings.database_url) as session:
        dispatch = next(
            d for d in session.get_one(Round, round_id).dispatches
            if d.remissinstans.code == "kpr"
        )  # fmt: skip
        answers.record_opening(session, dispatch=dispatch, now=utcnow())
    sweep()  # publishes what happened on the answer page

    async def read() -> tuple[list[Any], dict[str, Any]]:
        async with get_client() as client:
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[DNR, "kpr"]))
            )
            found = {}
            for key in (f"remissomgang-{round_id}", f"remissomgang-{round_id}-svar",
                        f"remissomgang-{round_id}-dokument"):  # fmt: skip
                latest = await client.read_artifacts(
                    artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                    sort=ArtifactSort.CREATED_DESC,
                    limit=1,
                )
                found[key] = latest[0] if latest else None
        return list(runs), found

    runs, artifacts = in_thread(read)
    names = {r.name for r in runs}
    assert f"Remiss {DNR} – utskick" in names
    assert f"Remiss {DNR} – start" in names
    assert all({"kpr", "skonhetsradet", DNR} <= set(r.tags) for r in runs)

    table = json.loads(str(artifacts[f"remissomgang-{round_id}"].data))
    assert {row["Status"] for row in table} == {"skickad"}
    assert artifacts[f"remissomgang-{round_id}-svar"].type == "progress"
    assert "/admin/omgang/" in str(artifacts[f"remissomgang-{round_id}-dokument"].data)

    for _ in range(60):  # the server writes events in batches
        sent = events_named("remiss.dispatch.sent", began)
        opened = events_named("remiss.dispatch.opened", began)
        if len(sent) >= 5 and opened:
            break
        time.sleep(0.5)
    assert len(sent) == 5
    resource = opened[0]["resource"]
    assert resource["remiss.remissinstans"] == "kpr"
    assert resource["remiss.diarienummer"] == DNR
    roles = {r["prefect.resource.role"]: r["prefect.resource.id"] for r in opened[0]["related"]}
    assert roles["remissomgang"] == f"remiss.round.{round_id}"
    assert roles["remissinstans"] == "remiss.remissinstans.kpr"


def test_the_round_artifacts_say_how_many_answers_wait_for_review(
    settings: Settings, case_dir: Path
) -> None:
    round_id = start_round(
        str(case_dir / "arende.yaml"), to=["rad"], deadline=future_deadline().isoformat()
    )
    with session_scope(settings.database_url) as session:
        dispatch = next(
            d for d in session.get_one(Round, round_id).dispatches
            if d.remissinstans.code == "kpr"
        )  # fmt: skip
        # As the mailbox poll stores a reply, before its kvittens has gone out.
        answers.submit_answer(
            session,
            dispatch=dispatch,
            values={
                "position": NOT_REVIEWED,
                "att_sats_positions": {},
                "contact_email": dispatch.email,
                "needs_review": True,
            },
            files=[],
            store=settings.documents_dir,
            now=utcnow(),
            channel="email",
        )
    publish_round(round_id)

    async def read() -> dict[str, Any]:
        async with get_client() as client:
            found = {}
            for key in (f"remissomgang-{round_id}-svar", f"remissomgang-{round_id}-dokument"):
                latest = await client.read_artifacts(
                    artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                    sort=ArtifactSort.CREATED_DESC,
                    limit=1,
                )
                found[key] = latest[0]
        return found

    artifacts = in_thread(read)
    assert str(artifacts[f"remissomgang-{round_id}-svar"].description).endswith(", 1 ska granskas")
    markdown = str(artifacts[f"remissomgang-{round_id}-dokument"].data)
    assert "**Ett svar som kom med e-post ska granskas**" in markdown
    assert f"/admin/omgang/{round_id}#granska-rubrik" in markdown
    assert "**Ett svar väntar på kvittens**" in markdown
