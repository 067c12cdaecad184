"""Forged posts over real HTTP (issue 17, point 3): a form posted from another site, a
planted CSRF cookie, a token made for another cookie. Each is refused with a Swedish 403
and stores nothing; the official's own post from the page still goes through."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import func, select

from remiss.db.engine import session_scope
from remiss.db.models import Answer
from remiss.web.security import CSRF_COOKIE, CSRF_COOKIE_SECURE, csrf_form_token
from tests.web.conftest import Portal
from tests.web.test_hostile_http import Running, csrf_of, running_portal

__all__ = ["running_portal"]

ANSWER = {"stallningstagande": "tillstyrker", "sammanfattning": "Nämnden tillstyrker."}
PDF_FILE = [("filer", ("svar.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"))]


def answers(portal: Running) -> int:
    with session_scope(portal.settings.database_url) as session:
        return int(session.scalar(select(func.count(Answer.id))) or 0)


def post_answer(client: httpx.Client, token: str, csrf: str, **headers: str) -> httpx.Response:
    return client.post(
        f"/r/{token}/svar", data={**ANSWER, "csrf": csrf}, files=PDF_FILE, headers=headers
    )


def test_a_form_posted_from_another_site_is_refused(
    running_portal: Callable[..., Running],
) -> None:
    portal = running_portal()
    token = portal.tokens["socialnamnden"]
    with portal.client("198.51.100.7") as official:
        csrf = csrf_of(official.get(f"/r/{token}"))
        # The browser says where the form came from: another site, in both headers.
        for headers in (
            {"Sec-Fetch-Site": "cross-site", "Origin": "https://angripare.example"},
            {"Sec-Fetch-Site": "same-site", "Origin": "https://www.stockholm.example"},
            {"Origin": "https://angripare.example"},
            {"Origin": "null"},
        ):
            refused = post_answer(official, token, csrf, **headers)
            assert refused.status_code == 403, headers
            assert "från en annan webbplats" in refused.text
        assert answers(portal) == 0
        own = post_answer(
            official, token, csrf, **{"Sec-Fetch-Site": "same-origin", "Origin": portal.url}
        )
        assert own.status_code == 303
    assert answers(portal) == 1


def test_a_planted_cookie_with_a_matching_field_is_refused(
    running_portal: Callable[..., Running],
) -> None:
    # The classic double-submit forgery: the attacker sets the cookie (from a neighbouring
    # subdomain, or over plain http) and posts the same value in the form.
    portal = running_portal()
    token = portal.tokens["socialnamnden"]
    planted = "angriparens-eget-varde"
    with portal.client("198.51.100.7") as attacker:
        attacker.cookies.set(CSRF_COOKIE, planted)
        refused = post_answer(attacker, token, planted)
        assert refused.status_code == 403
        assert "Formuläret har gått ut" in refused.text
        # Not a dead end: back to the page, to load it afresh (a reload would post again).
        assert f'<a href="/r/{token}">Tillbaka till remissen</a>' in refused.text
        # Nor does a token the attacker got from the page with their own cookie work with
        # the victim's cookie: the token belongs to the cookie it was made for.
        mine = csrf_of(attacker.get(f"/r/{token}"))
    with portal.client("198.51.100.8") as victim:
        victim.get(f"/r/{token}")
        assert post_answer(victim, token, mine).status_code == 403
    assert answers(portal) == 0


def test_the_form_token_is_made_with_the_secret_key_from_the_cookie() -> None:
    assert csrf_form_token("a", b"nyckel") == csrf_form_token("a", b"nyckel")
    assert csrf_form_token("a", b"nyckel") != csrf_form_token("b", b"nyckel")
    assert csrf_form_token("a", b"nyckel") != csrf_form_token("a", b"annan")
    nonce = "kakans-slumpvarde"
    assert nonce not in csrf_form_token(nonce, b"nyckel")


def test_over_https_the_csrf_cookie_is_host_only_and_secure(portal: Portal) -> None:
    page = portal.client.get(f"/r/{portal.tokens['socialnamnden']}")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE_SECURE}=")
    for attribute in ("Secure", "Path=/", "HttpOnly", "SameSite=strict"):
        assert attribute in cookie, attribute
    assert "Domain=" not in cookie
