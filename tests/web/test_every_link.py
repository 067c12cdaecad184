"""Every link an official can reach from the e-mails, in every state a round passes through,
answers without a server error (issue 18: an earlier answer's receipt once answered 500)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import unescape

from remiss.answers import anstand
from remiss.answers import service as answers
from remiss.answers.review import review_answer
from remiss.core import dates
from remiss.core.terms import NOT_REVIEWED
from remiss.db.engine import session_scope
from remiss.rounds.service import close_round
from remiss.storage.uploads import UploadLimits, check_files
from tests.support.documents import docx_bytes, pdf_bytes
from tests.support.rounds import dispatch_of
from tests.web.conftest import Portal

CLICKED = {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-User": "?1"}
HREF = re.compile(r'href="([^"#]+)')


def crawl(portal: Portal, starts: Iterable[str], limit: int = 400) -> dict[str, int]:
    """GET every page and file reachable on the site from `starts`; each path's status."""
    seen: dict[str, int] = {}
    todo = list(starts)
    while todo and len(seen) < limit:
        path = todo.pop()
        if path in seen:
            continue
        response = portal.client.get(path, headers=CLICKED)
        seen[path] = response.status_code
        if response.headers.get("content-type", "").startswith("text/html"):
            for href in HREF.findall(response.text):
                link = unescape(href)
                # The site's own links; the staff workspace has its own login and tests.
                if link.startswith("/") and not link.startswith(("/admin", "/static")):
                    todo.append(link)
        if response.is_redirect:
            todo.append(response.headers["location"].replace("https://testserver", ""))
    return seen


def post(portal: Portal, token: str, action: str, data: dict[str, str], **kw: object) -> None:
    response = portal.client.post(
        f"/r/{token}/{action}", data={"csrf": portal.csrf(token), **data}, **kw
    )
    assert response.status_code == 303, (action, response.status_code, response.text[:500])


def test_every_link_from_the_e_mails_answers_in_every_state(make_portal: object) -> None:
    portal: Portal = make_portal()  # type: ignore[operator]
    tokens = portal.tokens
    now = dates.utcnow()
    # Answered through the page, twice (two versions, two receipts), with files.
    for summary in ("Första svaret.", "Andra svaret."):
        post(
            portal,
            tokens["socialnamnden"],
            "svar",
            {"stallningstagande": "tillstyrker", "sammanfattning": summary},
            files=[("filer", ("svar.pdf", pdf_bytes(), "application/pdf"))],
        )
    # Answered by e-mail, then reviewed (the e-mailed version keeps its placeholder position).
    with session_scope(portal.settings.database_url) as session:
        answers.submit_answer(
            session,
            dispatch=dispatch_of(session, "servicenamnden"),
            values={
                "position": NOT_REVIEWED,
                "att_sats_positions": {},
                "summary": None,
                "contact_email": "registrator@service.example",
                "needs_review": True,
                "email_message_id": "<svar@service.example>",
            },
            files=check_files([("yttrande.docx", docx_bytes("Yttrande"))], UploadLimits()),
            store=portal.settings.documents_dir,
            now=now,
            channel="email",
        )
    with session_scope(portal.settings.database_url) as session:
        review_answer(
            session,
            dispatch=dispatch_of(session, "servicenamnden"),
            position="inga_synpunkter",
            att_sats_positions={},
            summary=None,
            reviewer="karin.lindqvist",
            now=now,
        )
    # Anstånd asked for and granted; the råd declines; farsta only confirms receipt.
    deadline = dates.local_today(now, portal.settings.timezone)
    post(
        portal,
        tokens["bromma"],
        "anstand",
        {
            "datum": dates.add_working_days(deadline, 40).isoformat(),
            "skal": "Nämnden sammanträder senare.",
        },
    )
    with session_scope(portal.settings.database_url) as session:
        (request,) = anstand.pending(session, round_id=1)
        anstand.decide(
            session, anstand_id=request.id, grant=True, now=now, tz=portal.settings.timezone
        )
    post(portal, tokens["kpr"], "avstar", {"skal": "Ärendet berör inte rådets frågor."})
    post(portal, tokens["farsta"], "kvittens", {"kontaktperson": "Registrator Farsta"})

    starts = ["/", *(f"/r/{token}" for token in tokens.values())]
    while_open = crawl(portal, starts)
    with session_scope(portal.settings.database_url) as session:
        close_round(session, round_id=1, now=dates.utcnow())
    when_closed = crawl(portal, starts)

    for state, seen in (("open", while_open), ("closed", when_closed)):
        errors = {path: code for path, code in seen.items() if code >= 500}
        assert not errors, f"{state}: {errors}"
        # The receipts of both versions, the files and each link's page were reached.
        assert sum("/kvitto/" in p for p in seen) >= 3, (state, sorted(seen))
        assert sum("/filer/" in p or "/handlingar/" in p for p in seen) >= 2, (state, sorted(seen))
        broken = {p: c for p, c in seen.items() if c >= 400}
        assert not broken, f"{state}: links on our own pages that lead nowhere: {broken}"
