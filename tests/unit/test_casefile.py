"""The case file (arende.yaml): what it must contain, and how a round is planned from it."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from remiss.cases.casefile import (
    CaseFile,
    ad_hoc_code,
    check_deadline,
    field_errors,
    parse_case,
    plan_round,
)
from remiss.core.errors import InputError
from remiss.register.instances import CODE_PATTERN, Register, load_register, parse_register

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CASE = ROOT / "examples" / "KS-2025-348" / "arende.yaml"
SHIPPED_REGISTER = ROOT / "config" / "remissinstanser.yaml"

# A fixed "today": never the real clock. 2026-11-23 is a Monday.
TODAY = dt.date(2026, 11, 23)
# A plain working day (Friday) well after TODAY.
WORKING_DAY = dt.date(2027, 1, 29)

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

CaseWriter = Callable[..., Path]


def _valid_case() -> dict[str, Any]:
    return {
        "diarienummer": "KS 2026/17",
        "rubrik": "Motion om fler parkbänkar",
        "arendetyp": "motion",
        "motionarer": [{"namn": "Anna Andersson", "parti": "S"}],
        "vackt": dt.date(2026, 10, 19),
        "att_satser": ["att staden ställer ut fler parkbänkar"],
        "svar_senast": WORKING_DAY,
        "remissinstanser": ["bromma", "kulturnamnden"],
        "handlingar": [{"fil": "motion.pdf", "titel": "Motionen"}],
        "handlaggare": {"namn": "Karin Lindqvist", "epost": "karin.lindqvist@stockholm.example"},
    }


_DROP = object()


@pytest.fixture
def write_case(tmp_path: Path) -> CaseWriter:
    """Write a valid case (with motion.pdf beside it), changed by keyword overrides.

    An override with the value `_DROP` removes the key.
    """

    def write(**overrides: object) -> Path:
        folder = tmp_path / "arende"
        folder.mkdir(exist_ok=True)
        (folder / "motion.pdf").write_bytes(b"%PDF-1.4\n%test\n")
        data = _valid_case()
        for key, value in overrides.items():
            if value is _DROP:
                data.pop(key, None)
            else:
                data[key] = value
        path = folder / "arende.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="module")
def shipped_register() -> Register:
    return load_register(SHIPPED_REGISTER)


@pytest.fixture
def small_register() -> Register:
    return parse_register(
        {
            "grupper": {"stadsdelsnamnder": "Alla stadsdelsnämnder", "tomma": "Inga alls"},
            "remissinstanser": [
                {
                    "kod": "kulturnamnden",
                    "namn": "Kulturnämnden",
                    "typ": "namnd",
                    "funktionsbrevlada": "registrator.kultur@stockholm.example",
                },
                {
                    "kod": "bromma",
                    "namn": "Bromma stadsdelsnämnd",
                    "typ": "stadsdelsnamnd",
                    "funktionsbrevlada": "registrator.bromma@stockholm.example",
                    "grupper": ["stadsdelsnamnder"],
                },
                {
                    "kod": "farsta",
                    "namn": "Farsta stadsdelsnämnd",
                    "typ": "stadsdelsnamnd",
                    "funktionsbrevlada": "registrator.farsta@stockholm.example",
                    "grupper": ["stadsdelsnamnder"],
                },
            ],
        },
        "register.yaml",
    )


def _error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        parse_case(path)
    return str(info.value)


# --- The example case ----------------------------------------------------------------------


def test_example_case_parses_with_its_diarienummer_and_rubrik() -> None:
    case = parse_case(EXAMPLE_CASE)
    assert case.diarienummer == "KS 2025/348"
    assert case.rubrik == "Motion om Stockholms stads stöd i återuppbyggnaden av Ukraina"
    assert case.arendetyp == "motion"
    assert case.arendetyp_label == "motion"
    assert case.vackt == dt.date(2026, 10, 19)
    assert case.svar_senast == dt.date(2027, 1, 29)


def test_example_case_has_four_motionarer_from_m_l_c_and_kd() -> None:
    case = parse_case(EXAMPLE_CASE)
    assert [m.parti for m in case.motionarer] == ["M", "L", "C", "KD"]
    assert case.motionarer[0].namn == "Dennis Wedin"
    assert case.motionarer[3].namn == "Nike Örbrink"


def test_example_case_has_two_att_satser_folded_onto_one_line_each() -> None:
    case = parse_case(EXAMPLE_CASE)
    assert len(case.att_satser) == 2
    assert case.att_satser[0].startswith("att finansborgarrådet")
    assert case.att_satser[1].startswith("att staden inrättar en praxis")
    assert all("\n" not in sats and "  " not in sats for sats in case.att_satser)


def test_example_case_has_the_motion_pdf_as_its_one_handling() -> None:
    case = parse_case(EXAMPLE_CASE)
    assert len(case.handlingar) == 1
    handling = case.handlingar[0]
    assert handling.path == (EXAMPLE_CASE.parent / "motion.pdf").resolve()
    assert handling.content_type == "application/pdf"
    assert handling.title == "Motion om Stockholms stads stöd i återuppbyggnaden av Ukraina"


def test_example_case_names_its_handlaggare_and_missiv() -> None:
    case = parse_case(EXAMPLE_CASE)
    assert case.handlaggare_namn == "Karin Lindqvist"
    assert case.handlaggare_epost == "karin.lindqvist@stockholm.example"
    assert case.missiv is not None
    assert case.missiv.startswith("Stadsledningskontoret önskar")
    assert not case.missiv.endswith("\n")


def test_case_records_its_resolved_source_and_the_sha256_of_its_bytes() -> None:
    case = parse_case(EXAMPLE_CASE)
    assert case.source == EXAMPLE_CASE.resolve()
    assert case.sha256 == hashlib.sha256(EXAMPLE_CASE.read_bytes()).hexdigest()


def test_example_round_reaches_at_least_twelve_remissinstanser(
    shipped_register: Register,
) -> None:
    plan = plan_round(parse_case(EXAMPLE_CASE), shipped_register, today=TODAY)
    codes = [r.code for r in plan.recipients]
    assert len(codes) >= 12
    assert len(codes) == len(set(codes))
    assert {
        "socialnamnden",
        "servicenamnden",
        "arbetsmarknadsnamnden",
        "exploateringsnamnden",
        "fastighetsnamnden",
        "kulturnamnden",
        "ks_rad_funktionshinder",
    } <= set(codes)
    assert plan.deadline == dt.date(2027, 1, 29)


def test_example_round_expands_stadsdelsnamnder_to_all_eleven(
    shipped_register: Register,
) -> None:
    plan = plan_round(parse_case(EXAMPLE_CASE), shipped_register, today=TODAY)
    districts = {r.name for r in plan.recipients if r.kind == "stadsdelsnamnd"}
    assert districts == STADSDELSNAMNDER


def test_a_code_named_alone_and_through_its_group_is_sent_to_once(
    write_case: CaseWriter, shipped_register: Register
) -> None:
    path = write_case(remissinstanser=["bromma", "stadsdelsnamnder", "bromma", "socialnamnden"])
    plan = plan_round(parse_case(path), shipped_register, today=TODAY)
    codes = [r.code for r in plan.recipients]
    assert codes.count("bromma") == 1
    assert len(codes) == len(set(codes)) == 12


def test_recipients_come_in_register_order_not_in_case_order(
    write_case: CaseWriter, small_register: Register
) -> None:
    path = write_case(remissinstanser=["farsta", "bromma", "kulturnamnden"])
    plan = plan_round(parse_case(path), small_register, today=TODAY)
    assert [r.code for r in plan.recipients] == ["kulturnamnden", "bromma", "farsta"]


def test_to_on_the_command_line_replaces_the_case_files_remissinstanser(
    write_case: CaseWriter, small_register: Register
) -> None:
    plan = plan_round(parse_case(write_case()), small_register, today=TODAY, to=["farsta"])
    assert [r.code for r in plan.recipients] == ["farsta"]


def test_unknown_code_in_to_is_named_as_field_to_from_the_command_line(
    write_case: CaseWriter, small_register: Register
) -> None:
    with pytest.raises(InputError) as info:
        plan_round(parse_case(write_case()), small_register, today=TODAY, to=["vasastan"])
    message = str(info.value)
    assert "kommandoraden" in message
    assert "flaggan --till" in message
    assert "'vasastan'" in message


def test_a_group_without_members_leaves_no_recipients_and_is_refused(
    write_case: CaseWriter, small_register: Register
) -> None:
    path = write_case(remissinstanser=["tomma"])
    with pytest.raises(InputError) as info:
        plan_round(parse_case(path), small_register, today=TODAY)
    assert "inga remissinstanser" in str(info.value)
    assert str(path.resolve()) in str(info.value)


def test_unknown_remissinstans_is_refused_naming_file_field_and_code(
    write_case: CaseWriter, small_register: Register
) -> None:
    path = write_case(remissinstanser=["bromma", "vasastan"])
    with pytest.raises(InputError) as info:
        plan_round(parse_case(path), small_register, today=TODAY)
    message = str(info.value)
    assert str(path.resolve()) in message
    assert "fältet remissinstanser" in message
    assert "'vasastan'" in message


def test_unknown_group_is_refused_and_the_message_lists_the_groups(
    write_case: CaseWriter, shipped_register: Register
) -> None:
    path = write_case(remissinstanser=["alla_stadsdelar"])
    with pytest.raises(InputError) as info:
        plan_round(parse_case(path), shipped_register, today=TODAY)
    message = str(info.value)
    assert "'alla_stadsdelar'" in message
    assert "stadsdelsnamnder" in message


# --- The deadline --------------------------------------------------------------------------


def test_deadline_on_a_working_day_ahead_is_accepted(
    write_case: CaseWriter, small_register: Register
) -> None:
    plan = plan_round(parse_case(write_case()), small_register, today=TODAY)
    assert plan.deadline == WORKING_DAY


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (dt.date(2026, 11, 22), "efter i dag"),  # yesterday
        (TODAY, "efter i dag"),
    ],
    ids=["in_the_past", "today"],
)
def test_deadline_in_the_past_or_today_is_refused_even_when_forced(
    write_case: CaseWriter, small_register: Register, day: dt.date, reason: str
) -> None:
    path = write_case(svar_senast=day)
    case = parse_case(path)
    for force in (False, True):
        with pytest.raises(InputError) as info:
            plan_round(case, small_register, today=TODAY, force=force)
        message = str(info.value)
        assert reason in message
        assert str(path.resolve()) in message
        assert "fältet svar_senast" in message
        assert repr(day.isoformat()) in message


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (dt.date(2026, 11, 28), "lördag"),
        (dt.date(2026, 11, 29), "söndag"),
        (dt.date(2026, 12, 24), "julafton"),
        (dt.date(2026, 12, 25), "juldagen"),
        (dt.date(2026, 12, 31), "nyårsafton"),
        (dt.date(2027, 1, 1), "nyårsdagen"),
        (dt.date(2027, 1, 6), "trettondedag jul"),
    ],
    ids=[
        "saturday",
        "sunday",
        "julafton",
        "juldagen",
        "nyarsafton",
        "nyarsdagen",
        "trettondedag_jul",
    ],
)
def test_deadline_on_a_day_off_is_refused_unless_forced(
    write_case: CaseWriter, small_register: Register, day: dt.date, reason: str
) -> None:
    path = write_case(svar_senast=day)
    case = parse_case(path)
    with pytest.raises(InputError) as info:
        plan_round(case, small_register, today=TODAY)
    message = str(info.value)
    assert reason in message
    assert "--tvinga" in message
    assert str(path.resolve()) in message
    assert "fältet svar_senast" in message
    assert repr(day.isoformat()) in message

    plan = plan_round(case, small_register, today=TODAY, force=True)
    assert plan.deadline == day


def test_deadline_on_midsummer_eve_is_refused_unless_forced() -> None:
    midsommarafton = dt.date(2026, 6, 19)
    early_june = dt.date(2026, 6, 1)
    with pytest.raises(InputError) as info:
        check_deadline(
            midsommarafton, today=early_june, force=False, source="arende.yaml", field="svar_senast"
        )
    message = str(info.value)
    assert "midsommarafton" in message
    assert "arende.yaml" in message
    assert "fältet svar_senast" in message
    assert "'2026-06-19'" in message
    check_deadline(
        midsommarafton, today=early_june, force=True, source="arende.yaml", field="svar_senast"
    )


def test_the_day_before_midsummer_eve_is_a_working_day() -> None:
    check_deadline(
        dt.date(2026, 6, 18),
        today=dt.date(2026, 6, 1),
        force=False,
        source="arende.yaml",
        field="svar_senast",
    )


def test_deadline_from_the_command_line_overrides_the_case_file(
    write_case: CaseWriter, small_register: Register
) -> None:
    case = parse_case(write_case())
    plan = plan_round(case, small_register, today=TODAY, deadline=dt.date(2027, 2, 5))
    assert plan.deadline == dt.date(2027, 2, 5)


def test_deadline_from_the_command_line_is_checked_as_field_deadline(
    write_case: CaseWriter, small_register: Register
) -> None:
    case = parse_case(write_case())
    with pytest.raises(InputError) as info:
        plan_round(case, small_register, today=TODAY, deadline=dt.date(2026, 12, 24))
    message = str(info.value)
    assert "kommandoraden" in message
    assert "flaggan --svarsdag" in message
    assert "'2026-12-24'" in message
    assert "svar_senast" not in message


def test_a_bad_case_deadline_does_not_matter_when_the_command_line_gives_one(
    write_case: CaseWriter, small_register: Register
) -> None:
    case = parse_case(write_case(svar_senast=dt.date(2026, 12, 24)))
    plan = plan_round(case, small_register, today=TODAY, deadline=WORKING_DAY)
    assert plan.deadline == WORKING_DAY


@pytest.mark.parametrize(
    "value", ["2027-1-29", "29/1/2027", "20270129", "snart", "2027-02-30", 20270129]
)
def test_svar_senast_that_is_not_a_date_is_refused(write_case: CaseWriter, value: object) -> None:
    path = write_case(svar_senast=value)
    message = _error(path)
    assert str(path) in message
    assert "fältet svar_senast" in message
    assert repr(value) in message
    assert "ÅÅÅÅ-MM-DD" in message


def test_svar_senast_may_be_a_quoted_iso_date(write_case: CaseWriter) -> None:
    case = parse_case(write_case(svar_senast="2027-01-29"))
    assert case.svar_senast == dt.date(2027, 1, 29)


def test_vackt_that_is_not_a_date_is_refused(write_case: CaseWriter) -> None:
    path = write_case(vackt="19 oktober")
    message = _error(path)
    assert "fältet vackt" in message
    assert "'19 oktober'" in message


def test_vackt_is_optional(write_case: CaseWriter) -> None:
    assert parse_case(write_case(vackt=_DROP)).vackt is None


# --- Malformed files -----------------------------------------------------------------------


def test_malformed_yaml_is_refused_with_file_and_line_number(tmp_path: Path) -> None:
    path = tmp_path / "arende.yaml"
    path.write_text(
        "diarienummer: KS 2026/17\nrubrik: Motion\natt_satser: [att a, att b\narendetyp: motion\n",
        encoding="utf-8",
    )
    message = _error(path)
    assert str(path) in message
    assert "inte giltig YAML" in message
    assert "rad 4" in message


def test_a_case_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "arende.yaml"
    path.write_text("- diarienummer\n- rubrik\n", encoding="utf-8")
    message = _error(path)
    assert str(path) in message
    assert "mappning" in message


def test_an_empty_case_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "arende.yaml"
    path.write_text("", encoding="utf-8")
    assert "mappning" in _error(path)


def test_a_missing_case_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "saknas.yaml"
    message = _error(path)
    assert str(path) in message
    assert "finns inte" in message


def test_a_case_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "arende.yaml"
    path.write_bytes("rubrik: Motion om bänkar\n".encode("latin-1"))
    message = _error(path)
    assert str(path) in message
    assert "UTF-8" in message


@pytest.mark.parametrize(
    "field",
    [
        "diarienummer",
        "rubrik",
        "arendetyp",
        "att_satser",
        "svar_senast",
        "remissinstanser",
        "handlaggare",
    ],
)
def test_a_missing_required_field_is_named(write_case: CaseWriter, field: str) -> None:
    path = write_case(**{field: _DROP})
    message = _error(path)
    assert str(path) in message
    assert f"fältet {field}:" in message
    assert "saknas" in message


@pytest.mark.parametrize("empty", ["", [], None])
def test_an_empty_required_field_counts_as_missing(write_case: CaseWriter, empty: object) -> None:
    message = _error(write_case(rubrik=empty))
    assert "fältet rubrik:" in message
    assert "saknas eller är tomt" in message


def test_an_unknown_field_is_named_and_the_allowed_fields_listed(write_case: CaseWriter) -> None:
    path = write_case(svarsdatum="2027-01-29")
    message = _error(path)
    assert str(path) in message
    assert "fältet svarsdatum" in message
    assert "okänt fält" in message
    assert "svar_senast" in message


def test_an_unknown_arendetyp_is_refused_with_the_allowed_ones(write_case: CaseWriter) -> None:
    path = write_case(arendetyp="interpellation")
    message = _error(path)
    assert str(path) in message
    assert "fältet arendetyp" in message
    assert "'interpellation'" in message
    assert "motion" in message
    assert "skrivelse" in message


def test_an_arendetyp_that_is_a_list_is_an_input_error_not_a_crash(
    write_case: CaseWriter,
) -> None:
    message = _error(write_case(arendetyp=["motion"]))
    assert "fältet arendetyp" in message
    assert "['motion']" in message


@pytest.mark.parametrize("motionarer", [_DROP, []])
def test_a_motion_without_motionarer_is_refused(write_case: CaseWriter, motionarer: object) -> None:
    path = write_case(motionarer=motionarer)
    message = _error(path)
    assert str(path) in message
    assert "fältet motionarer" in message
    assert "minst en motionär" in message


def test_a_skrivelse_needs_no_motionarer(write_case: CaseWriter) -> None:
    case = parse_case(write_case(arendetyp="skrivelse", motionarer=_DROP))
    assert case.motionarer == ()
    assert case.arendetyp_label == "skrivelse"


def test_a_motionar_without_parti_is_refused(write_case: CaseWriter) -> None:
    message = _error(write_case(motionarer=[{"namn": "Anna Andersson"}]))
    assert "fältet motionarer[0].parti" in message


def test_a_motionar_given_as_plain_text_is_refused(write_case: CaseWriter) -> None:
    message = _error(write_case(motionarer=["Anna Andersson (S)"]))
    assert "fältet motionarer[0]" in message
    assert "namn och parti" in message


def test_motionarer_that_is_not_a_list_is_refused(write_case: CaseWriter) -> None:
    message = _error(write_case(motionarer="Anna Andersson"))
    assert "fältet motionarer" in message
    assert "lista" in message
    assert "'Anna Andersson'" in message


def test_att_satser_that_is_not_a_list_is_refused(write_case: CaseWriter) -> None:
    message = _error(write_case(att_satser="att staden gör något"))
    assert "fältet att_satser" in message
    assert "lista" in message


def test_an_empty_att_sats_is_refused_with_its_index(write_case: CaseWriter) -> None:
    message = _error(write_case(att_satser=["att a", "   "]))
    assert "fältet att_satser[1]" in message


def test_a_remissinstans_that_is_not_text_is_refused(write_case: CaseWriter) -> None:
    message = _error(write_case(remissinstanser=["bromma", {"kod": "farsta"}]))
    assert "fältet remissinstanser[1]" in message


def test_an_invalid_handlaggare_email_is_refused(write_case: CaseWriter) -> None:
    path = write_case(handlaggare={"namn": "Karin", "epost": "karin.lindqvist.stockholm.example"})
    message = _error(path)
    assert str(path) in message
    assert "fältet handlaggare.epost" in message
    assert "'karin.lindqvist.stockholm.example'" in message
    assert "e-postadress" in message


def test_a_handlaggare_without_epost_is_refused(write_case: CaseWriter) -> None:
    message = _error(write_case(handlaggare={"namn": "Karin"}))
    assert "fältet handlaggare.epost" in message


def test_missiv_must_be_text(write_case: CaseWriter) -> None:
    message = _error(write_case(missiv=["a", "b"]))
    assert "fältet missiv" in message


# --- Handlingar ----------------------------------------------------------------------------


def test_a_handling_file_that_does_not_exist_is_refused(write_case: CaseWriter) -> None:
    path = write_case(handlingar=[{"fil": "motion.pdf"}, {"fil": "bilaga.pdf"}])
    message = _error(path)
    assert str(path) in message
    assert "fältet handlingar[1].fil" in message
    assert "'bilaga.pdf'" in message
    assert "finns inte" in message


def test_a_folder_is_not_a_handling(write_case: CaseWriter) -> None:
    path = write_case(handlingar=["bilagor"])
    (path.parent / "bilagor").mkdir()
    assert "fältet handlingar[0].fil" in _error(path)


def test_the_same_handling_twice_is_refused(write_case: CaseWriter) -> None:
    path = write_case(handlingar=["motion.pdf", "./motion.pdf"])
    message = _error(path)
    assert "fältet handlingar[1].fil" in message
    assert "två gånger" in message


def test_handling_paths_are_relative_to_the_case_file_not_the_working_directory(
    write_case: CaseWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_case()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    case = parse_case(path)
    assert case.handlingar[0].path == (path.parent / "motion.pdf").resolve()


def test_a_handling_given_as_a_plain_path_takes_its_title_from_the_file_name(
    write_case: CaseWriter,
) -> None:
    path = write_case(handlingar=["motion.pdf", "bilaga_1.zzz"])
    (path.parent / "bilaga_1.zzz").write_bytes(b"data")
    case = parse_case(path)
    assert [h.title for h in case.handlingar] == ["motion", "bilaga_1"]
    assert [h.content_type for h in case.handlingar] == [
        "application/pdf",
        "application/octet-stream",
    ]


def test_a_handling_with_an_unknown_key_is_refused(write_case: CaseWriter) -> None:
    message = _error(write_case(handlingar=[{"fil": "motion.pdf", "namn": "Motionen"}]))
    assert "fältet handlingar[0].namn" in message


def test_the_example_case_folder_can_be_copied_and_still_parses(tmp_path: Path) -> None:
    target = tmp_path / "copy"
    shutil.copytree(EXAMPLE_CASE.parent, target)
    case: CaseFile = parse_case(target / "arende.yaml")
    assert case.handlingar[0].path == (target / "motion.pdf").resolve()


def test_an_impossible_unquoted_date_is_an_input_error_with_its_line(
    write_case: CaseWriter,
) -> None:
    path = write_case()
    text = path.read_text(encoding="utf-8").replace(
        "svar_senast: 2027-01-29", "svar_senast: 2027-02-30"
    )
    assert "2027-02-30" in text
    path.write_text(text, encoding="utf-8")
    message = _error(path)
    assert str(path) in message
    assert "'2027-02-30'" in message
    line = 1 + text.splitlines().index("svar_senast: 2027-02-30")
    assert f"rad {line}," in message


# --- Outside organisations named in the case file (ad hoc recipients) -------------------------

TEATER = {"namn": "Teaterförbundet", "epost": "kansli@teaterforbundet.example", "typ": "extern"}


def test_an_outside_organisation_in_the_case_file_is_sent_the_remiss_too(
    write_case: CaseWriter, small_register: Register
) -> None:
    case = parse_case(write_case(remissinstanser=["bromma", TEATER]))
    assert case.remissinstanser == ("bromma",)
    plan = plan_round(case, small_register, today=TODAY)
    assert [r.name for r in plan.recipients] == ["Bromma stadsdelsnämnd", "Teaterförbundet"]
    extern = plan.recipients[1]
    assert (extern.email, extern.kind) == ("kansli@teaterforbundet.example", "extern")
    assert extern.code in plan.ad_hoc_codes


def test_an_ad_hoc_code_can_never_be_a_register_code() -> None:
    code = ad_hoc_code("Teaterförbundet", "kansli@teaterforbundet.example")
    assert code.startswith("extern-teaterforbundet-")
    assert not CODE_PATTERN.fullmatch(code)
    assert code == ad_hoc_code("Teaterförbundet", "KANSLI@teaterforbundet.example ")
    assert code != ad_hoc_code("Teaterförbundet", "annan@teaterforbundet.example")
    assert ad_hoc_code("Ö", "a@b.example").startswith("extern-o-")
    assert ad_hoc_code("???", "a@b.example").startswith("extern-organisation-")


def test_only_outside_organisations_is_enough(
    write_case: CaseWriter, small_register: Register
) -> None:
    plan = plan_round(parse_case(write_case(remissinstanser=[TEATER])), small_register, today=TODAY)
    assert [r.name for r in plan.recipients] == ["Teaterförbundet"]


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        ({"namn": "Förbundet", "epost": "inte-en-adress", "typ": "extern"}, "epost", "ogiltig"),
        ({"namn": "", "epost": "a@b.example", "typ": "extern"}, "namn", "saknas"),
        ({"namn": "Förbundet", "epost": "a@b.example", "typ": "hemlig"}, "typ", "okänd typ"),
        ({"namn": "Förbundet", "epost": "a@b.example"}, "typ", "saknas"),
        (
            {"namn": "Förbundet", "epost": "a@b.example", "typ": "extern", "kod": "x"},
            "kod",
            "okänt fält",
        ),
    ],
)
def test_a_bad_outside_organisation_is_named_by_its_entry(
    write_case: CaseWriter, entry: dict[str, str], field: str, message: str
) -> None:
    text = _error(write_case(remissinstanser=["bromma", "kulturnamnden", "farsta", entry]))
    assert f"fältet remissinstanser[3].{field}" in text
    assert message in text


def test_the_same_outside_address_twice_is_refused(write_case: CaseWriter) -> None:
    again = dict(TEATER, namn="Teaterförbundet för scen och film")
    text = _error(write_case(remissinstanser=[TEATER, again]))
    assert "fältet remissinstanser[1].epost" in text
    assert "remissinstanser[0]" in text


def test_an_outside_organisation_with_a_register_address_is_refused(
    write_case: CaseWriter, small_register: Register
) -> None:
    entry = {"namn": "Kultur", "epost": "registrator.kultur@stockholm.example", "typ": "namnd"}
    case = parse_case(write_case(remissinstanser=["bromma", entry]))
    with pytest.raises(InputError) as info:
        plan_round(case, small_register, today=TODAY)
    assert info.value.field == "remissinstanser[1].epost"
    assert "Kulturnämnden" in info.value.message


def test_a_diarienummer_longer_than_the_database_keeps_is_refused(write_case: CaseWriter) -> None:
    text = _error(write_case(diarienummer="KS " + "1" * 100))
    assert "fältet diarienummer" in text
    assert "högst 100 tecken" in text


# --- A draft from the workspace is checked by the same validators -----------------------------


def test_field_errors_report_every_bad_field_of_a_draft_at_once() -> None:
    data = {
        "arendetyp": "motion",
        "motionarer": [],
        "att_satser": ["att något görs"],
        "handlaggare": {"namn": "Karin", "epost": "nej"},
        "diarienummer": "",
        "rubrik": "Rubrik",
        "vackt": "2026-02-30",
    }
    fields = [e.field for e in field_errors(data, source="ärendeutkast 1")]
    assert fields == [
        "motionarer",
        "remissinstanser",
        "handlaggare.epost",
        "diarienummer",
        "vackt",
        "svar_senast",
    ]
