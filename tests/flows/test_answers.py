"""Processing answers through Prefect: the kvittens, and the sweep when Prefect was away."""

from __future__ import annotations

import email
from email.policy import default as default_policy
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings
from sqlalchemy import select

from flows.messages import process_answer, sweep
from remiss.answers import service as answers
from remiss.core.dates import utcnow
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Answer, Dispatch
from remiss.storage.uploads import UploadLimits, check_files
from tests.support.documents import docx_bytes, pdf_bytes
from tests.support.mailers import send_calls
from tests.support.rounds import read_eml, start_and_send


def store_answer(settings: Settings, case: Path) -> int:
    start_and_send(settings, case, ["socialnamnden", "kpr"])
    files = check_files(
        [("Tjänsteutlåtande.pdf", pdf_bytes()), ("Protokoll.docx", docx_bytes())], UploadLimits()
    )
    with session_scope(settings.database_url) as session:
        dispatch = session.scalars(
            select(Dispatch).where(Dispatch.remissinstans.has(code="socialnamnden"))
        ).one()
        form = answers.AnswerForm(
            position="tillstyrker", contact_name="Eva Ek", contact_email="eva.ek@stockholm.example"
        )
        values = answers.check_answer(dispatch, form, now=utcnow(), tz=settings.timezone)
        answer = answers.submit_answer(
            session,
            dispatch=dispatch,
            values=values,
            files=files,
            store=settings.documents_dir,
            now=utcnow(),
        )
        return answer.id


def kvittenser(settings: Settings) -> list[Path]:
    return sorted(settings.outbox_dir.glob("*_kvittens_*.eml"))


def test_processing_sends_one_kvittens_listing_the_checksums(
    settings: Settings, case_dir: Path
) -> None:
    answer_id = store_answer(settings, case_dir / "arende.yaml")
    process_answer(answer_id)
    process_answer(answer_id)  # a retried run sends nothing more
    (path,) = kvittenser(settings)
    msg = read_eml(path)
    assert str(msg["To"]) == "registrator.socialforvaltningen@stockholm.example"
    assert str(msg["Cc"]) == "eva.ek@stockholm.example"
    assert "KS 2025/348" in str(msg["Subject"])
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    with session_scope(settings.database_url) as session:
        answer = session.get_one(Answer, answer_id)
        assert answer.processed_at is not None
        for doc in answer.documents:
            assert doc.sha256 in body.get_content()
    assert set(send_calls(settings.outbox_dir).values()) == {1}


def test_an_answer_stored_while_prefect_was_away_is_processed_by_the_sweep(
    settings: Settings, case_dir: Path
) -> None:
    answer_id = store_answer(settings, case_dir / "arende.yaml")
    with (
        temporary_settings(
            {PREFECT_API_URL: "http://127.0.0.1:9/api", PREFECT_CLIENT_MAX_RETRIES: 0}
        ),
        pytest.raises(Exception, match=r"(?i)connect|127\.0\.0\.1:9"),
    ):
        process_answer(answer_id)
    with session_scope(settings.database_url) as session:
        assert session.get_one(Answer, answer_id).processed_at is None
    assert kvittenser(settings) == []

    assert sweep() == {"compiled": 0, "answers": 1, "answers_left": 0, "messages": 0}
    assert len(kvittenser(settings)) == 1
    with session_scope(settings.database_url) as session:
        assert session.get_one(Answer, answer_id).processed_at is not None
    assert sweep() == {"compiled": 0, "answers": 0, "answers_left": 0, "messages": 0}
    assert len(kvittenser(settings)) == 1


def test_kvittens_is_in_swedish_with_the_files(settings: Settings, case_dir: Path) -> None:
    answer_id = store_answer(settings, case_dir / "arende.yaml")
    process_answer(answer_id)
    (path,) = kvittenser(settings)
    msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "har tagit emot ert svar" in text
    assert "Ställningstagande: tillstyrker" in text
    assert "Tjänsteutlåtande.pdf" in text
