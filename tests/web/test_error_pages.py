"""No error page is a dead end: each has the site's header and a link on, and none tells
the reader to contact a handläggare the page does not name."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from tests.web.conftest import Portal

HEADER = '<header class="sidhuvud">'
UNNAMED = "som anges på sidan"


def _link_on(page: httpx.Response) -> str:
    """The href of the link the error page offers in its main content."""
    main = page.text.split('<main id="innehall"', 1)[1].split("</main>", 1)[0]
    links = re.findall(r'<a href="([^"]+)"', main)
    assert links, f"{page.status_code}: no way on from\n{main}"
    return str(links[-1])


def _an_error_page(page: httpx.Response, status: int) -> None:
    assert page.status_code == status, page.text[:500]
    assert HEADER in page.text
    assert "/static/style.css" in page.text
    assert page.text.count("<h1>") == 1
    assert UNNAMED not in page.text


@pytest.fixture
def portal(make_portal: Callable[..., Portal]) -> Portal:
    return make_portal(REMISS_UPLOAD_MAX_TOTAL_MB="1", REMISS_UPLOAD_MAX_FILE_MB="1")


def test_every_error_page_has_the_site_header_and_a_link_on(portal: Portal) -> None:
    token = portal.tokens["socialnamnden"]
    client = portal.client
    portal.csrf(token)

    missing = client.get("/r/finns-inte")
    _an_error_page(missing, 404)
    assert _link_on(missing) == "/"
    assert "i e-postmeddelandet med remissen" in missing.text  # the footer

    expired = client.post(f"/r/{token}/kvittens", data={"diarienummer": "SN 2026/1"})
    _an_error_page(expired, 403)
    assert "<title>Formuläret har gått ut" in expired.text
    assert _link_on(expired) == f"/r/{token}"

    wrong_method = client.get(f"/r/{token}/kvittens")
    _an_error_page(wrong_method, 405)
    assert "Sidan kan inte användas på det här sättet" in wrong_method.text
    assert _link_on(wrong_method) == f"/r/{token}"

    too_large = client.post(
        f"/r/{token}/svar",
        content=b"0" * (3 * 1024 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    _an_error_page(too_large, 413)
    assert "<title>För stora filer – " in too_large.text
    assert "högst 1 MB" in too_large.text
    assert _link_on(too_large) == f"/r/{token}"

    app = client.app
    assert isinstance(app, FastAPI)

    def broken() -> None:
        raise RuntimeError("a fault in the code")

    app.router.add_api_route("/r/{token}/trasig", broken)
    failed = client.get(f"/r/{token}/trasig")
    _an_error_page(failed, 500)
    assert _link_on(failed) == f"/r/{token}"

    for _ in range(40):
        refused = client.get("/r/gissad")
        if refused.status_code == 429:
            break
    _an_error_page(refused, 429)
    assert "Vänta tio minuter" in refused.text
    assert _link_on(refused) == "/"


def test_the_answer_page_footer_names_the_handläggare(portal: Portal) -> None:
    page = portal.client.get(f"/r/{portal.tokens['socialnamnden']}")
    footer = page.text.split('<footer class="sidfot">', 1)[1]
    assert "Kontakta handläggaren Karin Lindqvist" in footer
    assert "mailto:karin.lindqvist@stockholm.example" in footer
