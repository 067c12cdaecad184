"""Behind a reverse proxy, over real HTTP: the SSO headers count only when the proxy itself
(an address in `trusted_proxies`) sends them, and the client's address the throttle counts
comes from the proxy's X-Forwarded-For, never from anyone else's."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.web.test_hostile_http import Running, running_portal

__all__ = ["running_portal"]

SSO = {"REMISS_ADMIN_SSO_HEADER": "X-Remote-User", "REMISS_ADMIN_GROUP_HEADER": "X-Remote-Groups"}


def staff_page(portal: Running, **headers: str) -> httpx.Response:
    with httpx.Client(base_url=portal.url, follow_redirects=False, timeout=60) as client:
        return client.get("/admin", headers=headers)


def test_sso_from_a_proxy_on_this_host_logs_the_user_in(
    running_portal: Callable[..., Running],
) -> None:
    # nginx on the same host: the portal sees 127.0.0.1 and the client in X-Forwarded-For.
    portal = running_portal(**SSO)
    page = staff_page(portal, **{"X-Remote-User": "karin.lindqvist", "X-Forwarded-For": "10.1.2.3"})
    assert page.status_code == 200
    assert "karin.lindqvist" in page.text


def test_sso_headers_from_an_address_not_trusted_are_ignored(
    running_portal: Callable[..., Running],
) -> None:
    # The portal reached past the proxy: the same headers, from an address not listed.
    portal = running_portal(**SSO, REMISS_TRUSTED_PROXIES="10.0.0.5")
    page = staff_page(portal, **{"X-Remote-User": "karin.lindqvist", "X-Forwarded-For": "10.0.0.5"})
    assert (page.status_code, page.headers["location"]) == (303, "/admin/login")


def test_roles_come_from_the_proxys_group_header(running_portal: Callable[..., Running]) -> None:
    portal = running_portal(**SSO, REMISS_ADMIN_ROLES="grupp:remiss-lasare=lasare")
    reader = staff_page(
        portal, **{"X-Remote-User": "lars.berg", "X-Remote-Groups": "remiss-lasare"}
    )
    assert reader.status_code == 200
    stranger = staff_page(portal, **{"X-Remote-User": "lars.berg", "X-Remote-Groups": "ekonomi"})
    assert stranger.status_code == 403
    assert "ingen roll" in stranger.text


def test_a_client_blocked_by_the_throttle_is_the_one_behind_the_proxy(
    running_portal: Callable[..., Running],
) -> None:
    # Guessing links from one address behind the proxy blocks that address, not the proxy
    # (through which everyone else comes too).
    portal = running_portal()
    with portal.client("203.0.113.66") as guesser:
        statuses = [guesser.get(f"/r/gissad-{n}").status_code for n in range(12)]
    assert statuses[-1] == 429
    token = portal.tokens["socialnamnden"]
    with portal.client("198.51.100.7") as official:
        assert official.get(f"/r/{token}").status_code == 200
