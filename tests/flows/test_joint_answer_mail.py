"""The e-mail asking a partner to confirm a joint answer goes out with the answer's
processing, once, with the partner's own link."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from flows.messages import process_answer, sweep
from remiss.answers import service as answers
from remiss.core.dates import utcnow
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Dispatch
from remiss.storage.uploads import UploadLimits, check_files
from tests.support.documents import pdf_bytes
from tests.support.mailers import send_calls
from tests.support.rounds import link_in, read_eml, start_and_send


def answer_jointly(settings: Settings, case: Path) -> tuple[int, dict[str, str]]:
    tokens = start_and_send(settings, case, ["socialnamnden", "servicenamnden", "kpr"])
    files = check_files([("Tjänsteutlåtande.pdf", pdf_bytes())], UploadLimits())
    with session_scope(settings.database_url) as session:
        dispatch = session.scalars(
            select(Dispatch).where(Dispatch.remissinstans.has(code="socialnamnden"))
        ).one()
        form = answers.AnswerForm(position="tillstyrker", joint_with=["servicenamnden"])
        values = answers.check_answer(dispatch, form, now=utcnow(), tz=settings.timezone)
        answer = answers.submit_answer(
            session,
            dispatch=dispatch,
            values=values,
            files=files,
            store=settings.documents_dir,
            now=utcnow(),
        )
        return answer.id, tokens


def requests(settings: Settings) -> list[Path]:
    return sorted(settings.outbox_dir.glob("*_gemensamt_svar_*.eml"))


def test_processing_asks_the_named_partner_once_with_its_own_link(
    settings: Settings, case_dir: Path
) -> None:
    answer_id, tokens = answer_jointly(settings, case_dir / "arende.yaml")
    process_answer(answer_id)
    process_answer(answer_id)  # a retried run sends nothing more
    assert sweep()["messages"] == 0, "nothing left for the sweep"
    (path,) = requests(settings)
    msg = read_eml(path)
    assert str(msg["To"]) == "registrator.serviceforvaltningen@stockholm.example"
    assert "Socialnämnden har angett er" in str(msg["Subject"])
    assert link_in(msg).endswith("/r/" + tokens["servicenamnden"])
    assert len(sorted(settings.outbox_dir.glob("*_kvittens_*.eml"))) == 1
    assert set(send_calls(settings.outbox_dir).values()) == {1}
