"""The register of remissinstanser: codes, groups and funktionsbrevlådor."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from remiss.core.errors import InputError
from remiss.register.instances import KINDS, Register, load_register, parse_register

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_REGISTER = ROOT / "config" / "remissinstanser.yaml"
SOURCE = "remissinstanser.yaml"

STADSDELSNAMNDER = {
    "Järva stadsdelsnämnd",
    "Hässelby-Vällingby stadsdelsnämnd",
    "Bromma stadsdelsnämnd",
    "Kungsholmens stadsdelsnämnd",
    "Norra innerstadens stadsdelsnämnd",
    "Södermalms stadsdelsnämnd",
    "Enskede-Årsta-Vantörs stadsdelsnämnd",
    "Skarpnäcks stadsdelsnämnd",
    "Farsta stadsdelsnämnd",
    "Hägersten-Älvsjö stadsdelsnämnd",
    "Skärholmens stadsdelsnämnd",
}

_BASE: dict[str, Any] = {
    "grupper": {"stadsdelsnamnder": "Alla stadsdelsnämnder", "rad": "Alla råd"},
    "remissinstanser": [
        {
            "kod": "socialnamnden",
            "namn": "Socialnämnden",
            "typ": "namnd",
            "funktionsbrevlada": "registrator.social@stockholm.example",
            "kontakter": [
                {
                    "namn": "Förvaltningschef",
                    "epost": "chef.social@stockholm.example",
                    "roll": "förvaltningschef",
                }
            ],
        },
        {
            "kod": "farsta",
            "namn": "Farsta stadsdelsnämnd",
            "typ": "stadsdelsnamnd",
            "funktionsbrevlada": "registrator.farsta@stockholm.example",
            "grupper": ["stadsdelsnamnder"],
        },
        {
            "kod": "bromma",
            "namn": "Bromma stadsdelsnämnd",
            "typ": "stadsdelsnamnd",
            "funktionsbrevlada": "registrator.bromma@stockholm.example",
            "grupper": ["stadsdelsnamnder"],
        },
        {
            "kod": "kpr",
            "namn": "Kommunala pensionärsrådet",
            "typ": "rad",
            "funktionsbrevlada": "kpr@stockholm.example",
            "grupper": ["rad"],
        },
    ],
}


def _data() -> dict[str, Any]:
    return copy.deepcopy(_BASE)


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(InputError) as info:
        parse_register(data, SOURCE)
    return str(info.value)


@pytest.fixture
def register() -> Register:
    return parse_register(_data(), SOURCE)


@pytest.fixture(scope="module")
def shipped() -> Register:
    return load_register(SHIPPED_REGISTER)


# --- The shipped register ------------------------------------------------------------------


def test_shipped_register_has_the_eleven_stadsdelsnamnder(shipped: Register) -> None:
    members = shipped.in_group("stadsdelsnamnder")
    assert {m.name for m in members} == STADSDELSNAMNDER
    assert len(members) == 11
    assert all(m.kind == "stadsdelsnamnd" for m in members)


def test_shipped_register_groups_namnder_as_facknamnder_plus_stadsdelsnamnder(
    shipped: Register,
) -> None:
    namnder = {m.code for m in shipped.in_group("namnder")}
    fack = {m.code for m in shipped.in_group("facknamnder")}
    districts = {m.code for m in shipped.in_group("stadsdelsnamnder")}
    assert namnder == fack | districts
    assert not fack & districts


def test_shipped_register_has_a_funktionsbrevlada_for_every_remissinstans(
    shipped: Register,
) -> None:
    assert len(shipped.instanser) >= 40
    addresses = [inst.email for inst in shipped.instanser.values()]
    assert all("@" in a for a in addresses)
    assert len(addresses) == len(set(addresses))


def test_shipped_register_knows_its_source(shipped: Register) -> None:
    assert shipped.source == str(SHIPPED_REGISTER)


# --- Parsing -------------------------------------------------------------------------------


def test_a_remissinstans_carries_its_kind_groups_and_contacts(register: Register) -> None:
    social = register.instanser["socialnamnden"]
    assert social.name == "Socialnämnden"
    assert social.kind_label == "nämnd"
    assert social.groups == ()
    assert len(social.contacts) == 1
    assert social.contacts[0].epost == "chef.social@stockholm.example"
    assert social.contacts[0].roll == "förvaltningschef"
    assert register.instanser["kpr"].kind_label == "råd"
    assert register.instanser["farsta"].groups == ("stadsdelsnamnder",)


def test_every_kind_has_a_swedish_label() -> None:
    assert KINDS["stadsdelsnamnd"] == "stadsdelsnämnd"
    assert set(KINDS) == {"namnd", "stadsdelsnamnd", "bolag", "rad", "extern"}


def test_groups_keep_their_names_and_members_in_register_order(register: Register) -> None:
    group = register.groups["stadsdelsnamnder"]
    assert group.name == "Alla stadsdelsnämnder"
    assert group.members == ("farsta", "bromma")


def test_a_register_without_groups_is_allowed() -> None:
    data = _data()
    del data["grupper"]
    for item in data["remissinstanser"]:
        item.pop("grupper", None)
    assert parse_register(data, SOURCE).groups == {}


def test_the_domain_of_a_funktionsbrevlada_is_normalised_to_lower_case() -> None:
    data = _data()
    data["remissinstanser"][0]["funktionsbrevlada"] = "Registrator.Social@Stockholm.EXAMPLE"
    inst = parse_register(data, SOURCE).instanser["socialnamnden"]
    assert inst.email == "Registrator.Social@stockholm.example"


# --- resolve and in_group ------------------------------------------------------------------


def test_resolve_returns_codes_and_group_members_in_register_order(register: Register) -> None:
    found = register.resolve(["kpr", "stadsdelsnamnder"], source="x", field="f")
    assert [r.code for r in found] == ["farsta", "bromma", "kpr"]


def test_resolve_names_each_remissinstans_once(register: Register) -> None:
    found = register.resolve(
        ["bromma", "stadsdelsnamnder", "farsta", "bromma"], source="x", field="f"
    )
    assert [r.code for r in found] == ["farsta", "bromma"]


def test_resolve_ignores_surrounding_whitespace(register: Register) -> None:
    found = register.resolve(["  kpr "], source="x", field="f")
    assert [r.code for r in found] == ["kpr"]


def test_resolve_of_nothing_is_nothing(register: Register) -> None:
    assert register.resolve([], source="x", field="f") == []


def test_resolve_refuses_an_unknown_code_naming_source_field_and_value(
    register: Register,
) -> None:
    with pytest.raises(InputError) as info:
        register.resolve(["bromma", "Bromma"], source="arende.yaml", field="remissinstanser")
    message = str(info.value)
    assert "arende.yaml" in message
    assert "fältet remissinstanser" in message
    assert "'Bromma'" in message
    assert "rad, stadsdelsnamnder" in message


def test_in_group_lists_the_members_in_register_order(register: Register) -> None:
    assert [r.code for r in register.in_group("stadsdelsnamnder")] == ["farsta", "bromma"]


def test_in_group_refuses_an_unknown_group_as_option_group(register: Register) -> None:
    with pytest.raises(InputError) as info:
        register.in_group("bolag")
    message = str(info.value)
    assert "--grupp" in message
    assert "'bolag'" in message
    assert "rad, stadsdelsnamnder" in message


def test_in_group_does_not_accept_a_remissinstans_code(register: Register) -> None:
    with pytest.raises(InputError):
        register.in_group("bromma")


# --- Bad registers -------------------------------------------------------------------------


def test_a_duplicate_code_is_refused() -> None:
    data = _data()
    data["remissinstanser"].append(dict(data["remissinstanser"][2], namn="Bromma igen"))
    message = _error(data)
    assert SOURCE in message
    assert "fältet remissinstanser[4].kod" in message
    assert "'bromma'" in message
    assert "mer än en gång" in message


def test_an_invalid_funktionsbrevlada_is_refused() -> None:
    data = _data()
    data["remissinstanser"][1]["funktionsbrevlada"] = "registrator.farsta@"
    message = _error(data)
    assert SOURCE in message
    assert "fältet remissinstanser[1].funktionsbrevlada" in message
    assert "'registrator.farsta@'" in message


def test_a_funktionsbrevlada_that_is_not_text_is_refused() -> None:
    data = _data()
    data["remissinstanser"][1]["funktionsbrevlada"] = ["a@stockholm.example"]
    assert "fältet remissinstanser[1].funktionsbrevlada" in _error(data)


def test_an_invalid_contact_email_is_refused() -> None:
    data = _data()
    data["remissinstanser"][0]["kontakter"][0]["epost"] = "chef at social"
    message = _error(data)
    assert "fältet remissinstanser[0].kontakter[0].epost" in message
    assert "'chef at social'" in message


def test_an_unknown_typ_is_refused_with_the_allowed_ones() -> None:
    data = _data()
    data["remissinstanser"][3]["typ"] = "forening"
    message = _error(data)
    assert SOURCE in message
    assert "fältet remissinstanser[3].typ" in message
    assert "'forening'" in message
    assert "stadsdelsnamnd" in message


def test_a_typ_that_is_a_list_is_an_input_error_not_a_crash() -> None:
    data = _data()
    data["remissinstanser"][3]["typ"] = ["rad"]
    message = _error(data)
    assert "fältet remissinstanser[3].typ" in message
    assert "['rad']" in message


def test_a_group_used_but_not_defined_is_refused() -> None:
    data = _data()
    data["remissinstanser"][0]["grupper"] = ["facknamnder"]
    message = _error(data)
    assert SOURCE in message
    assert "fältet remissinstanser[0].grupper" in message
    assert "'facknamnder'" in message
    assert "inte definierad" in message


def test_a_group_entry_that_is_a_mapping_is_an_input_error_not_a_crash() -> None:
    data = _data()
    data["remissinstanser"][0]["grupper"] = [{"rad": "Alla råd"}]
    assert "fältet remissinstanser[0].grupper" in _error(data)


def test_grupper_of_a_remissinstans_must_be_a_list() -> None:
    data = _data()
    data["remissinstanser"][0]["grupper"] = "rad"
    message = _error(data)
    assert "fältet remissinstanser[0].grupper" in message
    assert "lista" in message


def test_a_code_equal_to_a_group_name_is_refused() -> None:
    data = _data()
    data["remissinstanser"][3]["kod"] = "rad"
    message = _error(data)
    assert "fältet remissinstanser[3].kod" in message
    assert "'rad'" in message
    assert "grupps kod" in message


@pytest.mark.parametrize("code", ["Bromma", "bromma-vasterled", "1bromma", "", 17])
def test_a_code_must_be_lower_case_letters_digits_and_underscores(code: object) -> None:
    data = _data()
    data["remissinstanser"][2]["kod"] = code
    message = _error(data)
    assert "fältet remissinstanser[2].kod" in message


def test_a_group_code_must_follow_the_code_pattern() -> None:
    data = _data()
    data["grupper"]["Alla-rad"] = "Alla råd"
    message = _error(data)
    assert "fältet grupper.Alla-rad" in message
    assert "'Alla-rad'" in message


def test_a_group_needs_a_name() -> None:
    data = _data()
    data["grupper"]["bolag"] = ""
    assert "fältet grupper.bolag" in _error(data)


def test_grupper_must_be_a_mapping() -> None:
    data = _data()
    data["grupper"] = ["stadsdelsnamnder", "rad"]
    assert "fältet grupper" in _error(data)


def test_remissinstanser_must_be_a_list() -> None:
    data = _data()
    data["remissinstanser"] = {"bromma": "Bromma stadsdelsnämnd"}
    message = _error(data)
    assert "fältet remissinstanser" in message
    assert "lista" in message


def test_a_remissinstans_that_is_not_a_mapping_is_refused() -> None:
    data = _data()
    data["remissinstanser"].append("skarpnack")
    assert "fältet remissinstanser[4]" in _error(data)


@pytest.mark.parametrize("field", ["kod", "namn", "typ", "funktionsbrevlada"])
def test_a_remissinstans_missing_a_required_field_is_refused(field: str) -> None:
    data = _data()
    del data["remissinstanser"][1][field]
    message = _error(data)
    assert f"fältet remissinstanser[1].{field}" in message
    assert "saknas" in message


def test_an_unknown_field_on_a_remissinstans_is_refused() -> None:
    data = _data()
    data["remissinstanser"][1]["epost"] = "registrator.farsta@stockholm.example"
    message = _error(data)
    assert "fältet remissinstanser[1].epost" in message
    assert "okänt fält" in message


def test_an_unknown_top_level_field_is_refused() -> None:
    data = _data()
    data["instanser"] = []
    assert "fältet instanser" in _error(data)


def test_an_empty_register_is_refused() -> None:
    data = _data()
    data["remissinstanser"] = []
    assert "fältet remissinstanser" in _error(data)


# --- Loading from a file -------------------------------------------------------------------


def test_load_register_reads_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "remissinstanser.yaml"
    path.write_text(yaml.safe_dump(_data(), allow_unicode=True), encoding="utf-8")
    loaded = load_register(path)
    assert loaded.source == str(path)
    assert list(loaded.instanser) == ["socialnamnden", "farsta", "bromma", "kpr"]


def test_load_register_names_the_file_in_its_errors(tmp_path: Path) -> None:
    data = _data()
    data["remissinstanser"][2]["typ"] = "kommun"
    path = tmp_path / "remissinstanser.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_register(path)
    assert str(path) in str(info.value)
    assert "'kommun'" in str(info.value)


def test_load_register_refuses_malformed_yaml_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "remissinstanser.yaml"
    path.write_text(
        "grupper:\n  rad: Alla råd\nremissinstanser:\n  - kod: [kpr\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as info:
        load_register(path)
    message = str(info.value)
    assert str(path) in message
    assert "rad 5" in message


def test_load_register_refuses_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "saknas.yaml"
    with pytest.raises(InputError) as info:
        load_register(path)
    assert str(path) in str(info.value)
    assert "finns inte" in str(info.value)


def test_load_register_refuses_a_list_at_top_level(tmp_path: Path) -> None:
    path = tmp_path / "remissinstanser.yaml"
    path.write_text("- kod: kpr\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_register(path)
    assert "mappning" in str(info.value)
