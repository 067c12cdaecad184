"""The staff view at /admin: closed without a login, read-only with one."""

from __future__ import annotations

import re
from collections.abc import Callable

from remiss.web.security import hash_password, verify_password
from tests.support.documents import pdf_bytes
from tests.web.conftest import Portal

PASSWORD = "korrekt häst batteri"


def login_csrf(portal: Portal) -> str:
    page = portal.client.get("/admin/login")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_password_hashes_verify_only_the_right_password() -> None:
    stored = hash_password(PASSWORD)
    assert PASSWORD not in stored
    assert verify_password(PASSWORD, stored)
    assert not verify_password("fel", stored)
    assert not verify_password(PASSWORD, "inte ett hash")


def test_admin_is_closed_when_no_login_is_configured(portal: Portal) -> None:
    assert portal.client.get("/admin").status_code == 303
    page = portal.client.get("/admin/login")
    assert page.status_code == 403
    assert "inte aktiverad" in page.text


def test_password_login_opens_the_overview(make_portal: Callable[..., Portal]) -> None:
    portal = make_portal(REMISS_ADMIN_PASSWORD_HASH=hash_password(PASSWORD))
    token = portal.tokens["socialnamnden"]
    portal.client.post(
        f"/r/{token}/svar",
        data={"csrf": portal.csrf(token), "stallningstagande": "avstyrker"},
        files=[("filer", ("svar.pdf", pdf_bytes(), "application/pdf"))],
    )
    redirect = portal.client.get("/admin")
    assert (redirect.status_code, redirect.headers["location"]) == (303, "/admin/login")

    wrong = portal.client.post("/admin/login", data={"csrf": login_csrf(portal), "losenord": "fel"})
    assert wrong.status_code == 401
    assert "Fel lösenord" in wrong.text
    no_csrf = portal.client.post("/admin/login", data={"losenord": PASSWORD})
    assert no_csrf.status_code == 403

    ok = portal.client.post("/admin/login", data={"csrf": login_csrf(portal), "losenord": PASSWORD})
    assert ok.status_code == 303
    overview = portal.client.get("/admin")
    assert overview.status_code == 200
    assert "KS 2025/348" in overview.text
    assert "1 av 5" in overview.text
    detail = portal.client.get("/admin/omgang/1")
    assert "Socialnämnden" in detail.text
    assert "avstyrker" in detail.text
    file_link = re.search(r'href="(/admin/filer/\d+)"', detail.text)
    assert file_link
    download = portal.client.get(file_link.group(1))
    assert download.content == pdf_bytes()
    assert download.headers["content-disposition"].startswith("attachment;")


def test_a_forged_session_cookie_is_refused(make_portal: Callable[..., Portal]) -> None:
    portal = make_portal(REMISS_ADMIN_PASSWORD_HASH=hash_password(PASSWORD))
    portal.client.cookies.set("remiss_admin", "personal|9999999999.deadbeef", path="/admin")
    assert portal.client.get("/admin").status_code == 303


def test_sso_header_from_the_reverse_proxy_logs_in(make_portal: Callable[..., Portal]) -> None:
    portal = make_portal(REMISS_ADMIN_SSO_HEADER="X-Remote-User")
    assert portal.client.get("/admin").status_code == 303
    page = portal.client.get("/admin", headers={"X-Remote-User": "karin.lindqvist"})
    assert page.status_code == 200
    assert "karin.lindqvist" in page.text


def test_sso_header_from_an_address_that_is_not_a_trusted_proxy_is_ignored(
    make_portal: Callable[..., Portal],
) -> None:
    portal = make_portal(REMISS_ADMIN_SSO_HEADER="X-Remote-User", REMISS_TRUSTED_PROXIES="10.0.0.5")
    page = portal.client.get("/admin", headers={"X-Remote-User": "karin.lindqvist"})
    assert (page.status_code, page.headers["location"]) == (303, "/admin/login")


def test_a_user_without_a_role_gets_a_clear_403_page(make_portal: Callable[..., Portal]) -> None:
    portal = make_portal(
        REMISS_ADMIN_SSO_HEADER="X-Remote-User",
        REMISS_ADMIN_GROUP_HEADER="X-Remote-Groups",
        REMISS_ADMIN_ROLES="karin.lindqvist=handlaggare;grupp:remiss-lasare=lasare",
    )
    stranger = portal.client.get("/admin", headers={"X-Remote-User": "okand.person"})
    assert stranger.status_code == 403
    assert "Ni har inte behörighet" in stranger.text
    assert "ingen roll i remisstjänsten" in stranger.text
    assert "KS 2025/348" not in stranger.text
    assert portal.client.get("/admin/omgang/1", headers={"X-Remote-User": "x"}).status_code == 403
    reader = portal.client.get(
        "/admin", headers={"X-Remote-User": "lars.berg", "X-Remote-Groups": "alla, remiss-lasare"}
    )
    assert reader.status_code == 200
    assert "KS 2025/348" in reader.text
