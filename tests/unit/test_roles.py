"""Who gets which role in the workspace (admin_roles), as the settings say."""

from __future__ import annotations

import pytest

from remiss.core.errors import InputError
from remiss.core.settings import load_settings
from remiss.core.states import Role
from remiss.web.staff import role_for

ROLES = {"anna": "handlaggare", "grupp:kansli": "lasare", "grupp:remiss": "handlaggare"}


def test_no_roles_configured_makes_everyone_logged_in_a_handlaggare() -> None:
    assert role_for("vem-som-helst", (), {}) == Role.HANDLAGGARE


def test_a_users_own_entry_comes_before_their_groups() -> None:
    assert role_for("anna", ("kansli",), ROLES) == Role.HANDLAGGARE
    assert role_for("anna", (), {"anna": "lasare", "grupp:remiss": "handlaggare"}) == Role.LASARE


def test_the_highest_role_of_a_users_groups_counts() -> None:
    assert role_for("bo", ("kansli",), ROLES) == Role.LASARE
    assert role_for("bo", ("kansli", "remiss"), ROLES) == Role.HANDLAGGARE


def test_a_user_matching_no_entry_has_no_role() -> None:
    assert role_for("bo", ("ekonomi",), ROLES) is None


def test_roles_from_the_environment() -> None:
    settings = load_settings(
        {"REMISS_CONFIG": "", "REMISS_ADMIN_ROLES": "anna=handlaggare; grupp:kansli=lasare"}
    )
    assert settings.admin_roles == {"anna": "handlaggare", "grupp:kansli": "lasare"}


@pytest.mark.parametrize(
    ("value", "field"),
    [("anna=chef", "admin_roles.anna"), ("anna", "admin_roles")],
)
def test_a_wrong_role_names_the_setting(value: str, field: str) -> None:
    with pytest.raises(InputError) as caught:
        load_settings({"REMISS_CONFIG": "", "REMISS_ADMIN_ROLES": value})
    assert caught.value.field == field


def test_a_trusted_proxy_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        load_settings({"REMISS_CONFIG": "", "REMISS_TRUSTED_PROXIES": "10.0.0.5, proxy.local"})
    assert caught.value.field == "trusted_proxies"
    assert "10.0.0.0/24" in str(caught.value)
