"""The record survives (issue 24): a data folder moved elsewhere still serves every file, and a
form posted twice (a double click, a resend after a lost reply) is stored once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from remiss.core.states import EventKind
from remiss.db.engine import session_scope
from remiss.db.models import Anstand, Answer, Document, Event
from remiss.outbox.compose import attached
from remiss.report.compiling import extract_answer_texts
from remiss.web.app import create_app
from tests.support.documents import docx_bytes, pdf_bytes
from tests.support.rounds import dispatch_of
from tests.web.conftest import Portal
from tests.web.test_portal import answer_form, answers_of, files

PDF = pdf_bytes("Nämnden tillstyrker förslaget.")
DOCX = docx_bytes("Protokollsutdrag för nämndens beslut.")


def form_key(html: str, form: str) -> str:
    """The submission key of one form on the page."""
    match = re.search(
        rf'action="/r/[^"]+/{form}"[^>]*>\s*<input type="hidden" name="csrf" value="[^"]*">'
        r'\s*<input type="hidden" name="nyckel" value="([^"]+)">',
        html,
    )
    assert match, f"the {form} form carries a submission key"
    return match.group(1)


def page_and_csrf(portal: Portal, token: str) -> tuple[str, str]:
    page = portal.client.get(f"/r/{token}")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    return page.text, csrf.group(1)


def test_a_data_folder_moved_elsewhere_serves_every_document_attachment_and_text(
    portal: Portal, tmp_path: Path
) -> None:
    tokens = portal.tokens
    for code in ("socialnamnden", "bromma"):
        sent = portal.client.post(
            f"/r/{tokens[code]}/svar",
            data=answer_form(portal.csrf(tokens[code])),
            files=files(("Tjänsteutlåtande.pdf", PDF), (f"Protokoll {code}.docx", DOCX)),
        )
        assert sent.status_code == 303
    with session_scope(portal.settings.database_url) as session:
        rows = session.execute(select(Document.id, Document.storage_path, Document.sha256)).all()
    assert len(rows) >= 5
    # Relative to the documents folder: nothing of where the folder was.
    assert all(not Path(path).is_absolute() for _, path, _ in rows)

    # A copy of the data folder in another place, the original gone.
    moved = tmp_path / "moved" / "data"
    shutil.copytree(portal.settings.data_dir, moved)
    shutil.rmtree(portal.settings.data_dir)
    url = portal.settings.database_url
    if url.startswith("sqlite"):
        url = f"sqlite:///{moved / 'remiss.db'}"
    settings = dataclasses.replace(portal.settings, data_dir=moved, database_url=url)
    client = TestClient(
        create_app(settings),
        base_url="https://testserver",
        follow_redirects=False,
        client=("127.0.0.1", 50000),
    )
    downloads = 0
    with client:
        for code in ("socialnamnden", "bromma", "kpr"):
            token = tokens[code]
            page = client.get(f"/r/{token}")
            assert page.status_code == 200
            links = set(re.findall(rf'href="(/r/{token}/(?:handlingar|filer)/\d+)"', page.text))
            for answer in answers_of(dataclasses.replace(portal, settings=settings), code):
                links |= {f"/r/{token}/filer/{d.id}" for d in answer.documents}
            for link in sorted(links):
                got = client.get(link)
                assert got.status_code == 200, link
                doc_id = int(link.rsplit("/", 1)[1])
                sha = next(s for i, _, s in rows if i == doc_id)
                assert hashlib.sha256(got.content).hexdigest() == sha
                downloads += 1
    assert downloads >= 7  # the case's handlingar three times, and four answer files

    with session_scope(settings.database_url) as session:
        first = session.scalars(select(Answer).order_by(Answer.id)).first()
        assert first is not None
        answer_id = first.id
        # The kvittens' attachments read the files from the moved folder too.
        assert [a.data for a in attached(first.documents, settings.documents_dir)] == [PDF, DOCX]
    # And the remissammanställning's text extraction.
    assert extract_answer_texts(settings, answer_id=answer_id) == 2
    with session_scope(settings.database_url) as session:
        texts = [d.text or "" for d in session.get_one(Answer, answer_id).documents]
    assert "tillstyrker" in texts[0]


def test_an_answer_form_posted_twice_is_stored_once_and_shows_the_first_receipt(
    portal: Portal,
) -> None:
    token = portal.tokens["socialnamnden"]
    html, csrf = page_and_csrf(portal, token)
    key = form_key(html, "svar")
    form = answer_form(csrf, nyckel=key)
    first = portal.client.post(f"/r/{token}/svar", data=form, files=files(("svar.pdf", PDF)))
    again = portal.client.post(f"/r/{token}/svar", data=form, files=files(("svar.pdf", PDF)))
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"] == f"/r/{token}/kvitto/1"
    (answer,) = answers_of(portal, "socialnamnden")
    assert len(answer.documents) == 1
    assert len(portal.triggered) == 1  # handed on, and so given a kvittens, once

    # A new rendering of the form is a new answer: version 2.
    html, csrf = page_and_csrf(portal, token)
    assert form_key(html, "svar") != key
    changed = portal.client.post(
        f"/r/{token}/svar",
        data=answer_form(csrf, nyckel=form_key(html, "svar")),
        files=files(("svar.pdf", PDF)),
    )
    assert changed.headers["location"] == f"/r/{token}/kvitto/2"


def test_each_small_form_posted_twice_does_its_work_once(portal: Portal) -> None:
    token = portal.tokens["servicenamnden"]
    html, csrf = page_and_csrf(portal, token)
    keys = {form: form_key(html, form) for form in ("kvittens", "anstand", "avstar")}
    assert len(set(keys.values())) == 3  # a key of its own per form
    kvittens = {
        "csrf": csrf,
        "nyckel": keys["kvittens"],
        "diarienummer": "SN 2026/12",
        "kontaktperson": "Eva Ek",
        "epost": "eva.ek@stockholm.example",
    }
    for _ in range(2):
        done = portal.client.post(f"/r/{token}/kvittens", data=kvittens)
        assert done.status_code == 303
        assert done.headers["location"].endswith("?klart=kvittens#lage")
    anstand = {
        "csrf": csrf,
        "nyckel": keys["anstand"],
        "datum": "",
        "skal": "Nämnden sammanträder efter svarsdagen.",
        "epost": "eva.ek@stockholm.example",
    }
    with session_scope(portal.settings.database_url) as session:
        deadline = dispatch_of(session, "servicenamnden").deadline
    anstand["datum"] = (deadline + dt.timedelta(days=14)).isoformat()
    for _ in range(2):
        asked = portal.client.post(f"/r/{token}/anstand", data=anstand)
        assert asked.status_code == 303, asked.text
    with session_scope(portal.settings.database_url) as session:
        kinds = list(session.scalars(select(Event.kind)))
        assert kinds.count(EventKind.RECEIVED) == 1
        assert kinds.count(EventKind.ANSTAND_REQUESTED) == 1
        assert session.scalar(select(func.count(Anstand.id))) == 1

    other = portal.tokens["farsta"]
    html, csrf = page_and_csrf(portal, other)
    avstar = {"csrf": csrf, "nyckel": form_key(html, "avstar"), "skal": "Frågan rör oss inte."}
    for _ in range(2):
        assert portal.client.post(f"/r/{other}/avstar", data=avstar).status_code == 303
    with session_scope(portal.settings.database_url) as session:
        kinds = list(session.scalars(select(Event.kind)))
        assert kinds.count(EventKind.DECLINED) == 1


def test_a_post_without_a_key_or_with_a_foreign_one_is_stored_as_before(
    make_portal: Callable[..., Portal],
) -> None:
    portal = make_portal()
    token = portal.tokens["socialnamnden"]
    for key in ("", "<script>", "x" * 200):
        sent = portal.client.post(
            f"/r/{token}/svar",
            data=answer_form(portal.csrf(token), nyckel=key),
            files=files(("svar.pdf", PDF)),
        )
        assert sent.status_code == 303
    assert [a.version for a in answers_of(portal, "socialnamnden")] == [1, 2, 3]
