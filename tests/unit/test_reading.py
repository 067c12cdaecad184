"""Reading a remissvar: position, diarienummer, decision, stance and the view in the body's voice.

The snippets are modelled on real public documents (Stockholm's tjänsteutlåtanden and
utlåtanden, protocols from Huddinge, Tyresö, Malmö, Kramfors, Nynäshamn); each test feeds
them with line breaks and as one run without breaks, the way many PDFs extract.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

import pytest

from remiss.report.reading import (
    TITLE_MAX,
    Found,
    position_of,
    read_document,
    view_for_report,
    view_in_voice,
)

T = TypeVar("T")

TU = """Socialförvaltningen
Avdelningen för stöd
Tjänsteutlåtande
Dnr SN 2023/45
Sida 1 (2)

Svar på remiss av motion om fler kvinnojourer

Förslag till beslut
1. Socialnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen.
2. Ärendet justeras omedelbart.

Sammanfattning
Kommunstyrelsen har remitterat en motion från Karin Ek (V) om fler kvinnojourer (dnr KS
2022/123). Förvaltningen ser positivt på motionens syfte.

Förvaltningens synpunkter och förslag
Behovet av skyddat boende har ökat under de senaste åren. Förvaltningen delar
motionärens bild av behovet men anser att frågan redan utreds. Förvaltningen avstyrker
därför motionen.
\fSocialförvaltningen  Tjänsteutlåtande  Dnr SN 2023/45
Sida 2 (2)

Anna Svensson
Förvaltningschef
"""


def value(found: Found[T] | None) -> T | None:
    return found.value if found is not None else None


def flat(text: str) -> str:
    """The text as a PDF without line breaks gives it: one run."""
    return " ".join(text.split())


@pytest.mark.parametrize("form", ["lines", "flat"])
def test_a_tjansteutlatande_that_hands_over_its_text_takes_the_position_from_the_synpunkter(
    form: str,
) -> None:
    text = TU if form == "lines" else flat(TU)
    reading = read_document(text, case_dnr="KS 2022/123")
    assert reading.readable
    assert reading.position is not None
    assert reading.position.value == "avstyrker"
    assert "avstyrker därför motionen" in reading.position.sentence
    assert reading.decision_sentence == (
        "Socialnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen."
    )
    assert value(reading.dnr) == "SN 2023/45"
    assert reading.justeras_omedelbart is True
    assert reading.title == "Svar på remiss av motion om fler kvinnojourer"
    assert "Förvaltningen avstyrker därför motionen." in reading.stance


def test_the_case_dnr_quoted_in_the_text_is_not_the_documents_own() -> None:
    text = (
        "Yttrande\n\nEr beteckning: KS 2022/123\nVår beteckning: MN 2023/9\n\n"
        "Vi har inga synpunkter.\n"
    )
    reading = read_document(text, case_dnr="KS 2022/123")
    assert value(reading.dnr) == "MN 2023/9"
    assert value(reading.position) == "inga_synpunkter"


@pytest.mark.parametrize(
    ("sentence", "position"),
    [
        ("Kommunstyrelsen föreslår kommunfullmäktige besluta att avslå motionen.", "avstyrker"),
        ("Motionen avslås.", "avstyrker"),
        ("Kommunfullmäktige beslutar att motionen anses besvarad.", "besvarad"),
        ("Mot bakgrund av ovanstående ska motionen anses besvarad.", "besvarad"),
        ("Motionen besvaras med hänvisning till vad som anförs i tjänsteutlåtandet.", "besvarad"),
        ("Nämnden avstår från att yttra sig över remissen.", "avstar"),
        ("Kulturnämnden tillstyrker motionen.", "tillstyrker"),
        ("Nämnden tillstyrker delvis motionen.", "tillstyrker_delvis"),
        ("Nämnden bifaller motionen delvis.", "tillstyrker_delvis"),
        ("Förvaltningen kan inte tillstyrka förslaget.", "avstyrker"),
        ("Förvaltningen har inget att invända mot förslaget.", "inga_synpunkter"),
        ("Stadsdelsnämnden har inga synpunkter på remissen.", "inga_synpunkter"),
        ("Vidtagen åtgärd godkänns.", "inga_synpunkter"),
        ("Förvaltningen ställer sig positiv till förslaget.", "tillstyrker"),
        ("Ärendet har beretts i samråd med stadsdelsförvaltningarna.", None),
    ],
)
def test_positions_are_read_from_active_passive_and_ks_kf_formulas(
    sentence: str, position: str | None
) -> None:
    assert position_of(sentence) == position


PROTOCOL = """Kommunstyrelsens arbetsutskott
Sammanträdesdatum
22 november 2023
Justerandes signatur    Utdragsbestyrkande

§ 7 Dnr KS-2023/300.1
Information om budgetläget
Ekonomidirektören informerar om budgetläget för 2024 och prognosen för innevarande år.
Arbetsutskottets beslut
Informationen noteras.

§ 8 Dnr KS-2023/482.119
Svar på remiss av motion om vänort i Ukraina
Arbetsutskottets förslag
Kommunstyrelsen föreslår kommunfullmäktige besluta att motionen anses besvarad.
Sammanfattning
Förvaltningen anser att traditionellt vänortssamarbete har tjänat ut sin roll. Mot
bakgrund av ovanstående ska motionen anses besvarad.
Överläggning
Sara Ek (S) och Bo Ström (L) yttrar sig i ärendet.
Proposition
Ordföranden frågar om arbetsutskottet beslutar enligt förslaget och finner att så är fallet.
Reservation
Bo Ström (L) reserverar sig mot beslutet till förmån för eget yrkande.
Särskilt uttalande
Anna Berg (V) lämnar ett särskilt uttalande.
Justering
Paragrafen justeras omedelbart.

§ 9 Dnr KS-2023/511.1
Revidering av delegationsordning för kommunstyrelsen
Arbetsutskottets förslag
Kommunstyrelsen föreslås besluta att anta den reviderade delegationsordningen.
Justerandes signatur    Utdragsbestyrkande
"""


@pytest.mark.parametrize("form", ["lines", "flat"])
def test_a_multi_item_agenda_is_read_at_the_item_with_the_case_dnr(form: str) -> None:
    text = PROTOCOL if form == "lines" else flat(PROTOCOL)
    reading = read_document(text, case_dnr="KS-2023/482")
    assert value(reading.paragraph) == "§ 8"
    assert value(reading.position) == "besvarad"
    assert reading.decision_sentence == (
        "Kommunstyrelsen föreslår kommunfullmäktige besluta att motionen anses besvarad."
    )
    assert value(reading.dnr) == "KS-2023/482.119"
    assert reading.decision_date is not None
    assert reading.decision_date.value == dt.date(2023, 11, 22)
    assert reading.reservationer is not None
    assert "reserverar sig" in reading.reservationer.sentence
    assert reading.sarskilda_uttalanden is not None
    assert reading.justeras_omedelbart is True
    assert reading.title == "Svar på remiss av motion om vänort i Ukraina"


def test_without_a_case_dnr_the_item_that_reads_like_a_remissvar_is_chosen() -> None:
    reading = read_document(PROTOCOL)
    assert value(reading.paragraph) == "§ 8"


def test_the_item_is_chosen_by_the_case_title_when_the_dnr_differs() -> None:
    reading = read_document(PROTOCOL, case_title="Revidering av delegationsordning")
    assert value(reading.paragraph) == "§ 9"
    assert reading.reservationer is None
    assert reading.justeras_omedelbart is False


def test_a_decision_that_refers_to_the_proposal_takes_the_proposals_position() -> None:
    text = (
        "Stadsdelsnämnden\nProtokollsutdrag\nSammanträdesdatum 2013-05-23\n§ 12\n"
        "Svar på remiss om kvinnojourer\nDnr 1.2.3-456/2013\n\n"
        "Förslag till beslut\nStadsdelsnämnden avstyrker motionen.\n\n"
        "Beslut\nStadsdelsnämnden beslutar enligt förslaget.\n"
    )
    reading = read_document(text)
    assert value(reading.position) == "avstyrker"
    assert value(reading.dnr) == "1.2.3-456/2013"
    assert reading.decision_date is not None
    assert reading.decision_date.value == dt.date(2013, 5, 23)
    assert value(reading.paragraph) == "§ 12"


def test_a_ks_utlatande_that_refers_to_its_promemoria() -> None:
    # Stockholm, PM 2016:122: the decision hands the promemoria over as the answer.
    text = (
        "PM 2016:122 RIX (Dnr 123-1456/2016) Låt fler forma framtiden! (SOU 2016:5) Remiss "
        "från Kulturdepartementet Borgarrådsberedningen föreslår att kommunstyrelsen beslutar "
        "följande. Som svar på remissen Låt fler forma framtiden! (SOU 2016:5) hänvisas till "
        "vad som sägs i promemorian. Föredragande borgarrådet Ann-Margarethe Livh anför "
        "följande. Ärendet Kulturdepartementet har remitterat betänkandet till staden. "
        "Mina synpunkter Jag ställer mig positiv till utredningens förslag om medborgardialog."
    )
    reading = read_document(text)
    assert reading.decision_sentence is not None
    assert "hänvisas till vad som sägs i promemorian" in reading.decision_sentence
    assert value(reading.dnr) == "123-1456/2016"


def test_a_scanned_pdf_without_text_is_unreadable() -> None:
    reading = read_document("\f\f  3 \f")
    assert reading.readable is False
    assert reading.position is None
    assert view_for_report(reading, "Utbildningsnämnden") is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "§",
        "§ 1",
        "Beslut",
        "Förslag till beslut\n1.",
        "\f" * 50,
        "a" * 100_000,
        "A" * 100_000,
        "Ab " * 30_000,
        "§ 1\n" * 500,
    ],
)
def test_odd_input_never_raises(text: str) -> None:
    read_document(text)


def test_the_title_is_never_a_run_of_a_thousand_characters() -> None:
    run = "Remiss av " + "en mycket lång beskrivning utan slut " * 60
    reading = read_document(run)
    assert reading.title is not None
    assert len(reading.title) <= TITLE_MAX
    assert not reading.title.endswith(" ")
    assert run.startswith(reading.title)


# --- The view in the body's voice ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "voiced"),
    [
        (
            "Förvaltningen anser att förslaget är bra.",
            "Utbildningsnämnden anser att förslaget är bra.",
        ),
        (
            "Stadsdelsförvaltningen tillstyrker motionen.",
            "Utbildningsnämnden tillstyrker motionen.",
        ),
        ("Kontoret ser positivt på förslaget.", "Utbildningsnämnden ser positivt på förslaget."),
        (
            "Vi har inga synpunkter på vår del av förslaget.",
            "Utbildningsnämnden har inga synpunkter på utbildningsnämndens del av förslaget.",
        ),
        (
            "Sammanfattningsvis anser förvaltningen att förvaltningens budget räcker.",
            "Sammanfattningsvis anser utbildningsnämnden att utbildningsnämndens budget räcker.",
        ),
        (
            "Kulturnämnden har i ett tidigare yttrande framfört samma sak.",
            "Kulturnämnden har i ett tidigare yttrande framfört samma sak.",
        ),
    ],
)
def test_view_in_voice_puts_the_body_where_the_forvaltning_speaks(text: str, voiced: str) -> None:
    assert view_in_voice(text, "Utbildningsnämnden") == voiced


def test_view_in_voice_keeps_a_proper_name_capitalised_inside_a_sentence() -> None:
    assert view_in_voice("Därför tillstyrker förvaltningen motionen.", "Bromma stadsdelsnämnd") == (
        "Därför tillstyrker Bromma stadsdelsnämnd motionen."
    )


def test_view_for_report_keeps_the_stance_sentence_even_when_it_is_long() -> None:
    reading = read_document(TU)
    view = view_for_report(reading, "Socialnämnden", max_chars=20)
    assert view is not None
    joined = " ".join(view)
    assert "Socialnämnden" in joined
    assert "avstyrker därför motionen" in joined
    assert "Förvaltningen" not in joined


def test_numbered_proposals_are_not_taken_for_an_agenda() -> None:
    text = (
        "Förslag till beslut\n1. Socialnämnden godkänner förvaltningens tjänsteutlåtande som "
        "svar på remissen.\n2. Socialnämnden uppdrar åt förvaltningen att följa frågan.\n"
        "3. Ärendet justeras omedelbart.\n\nSammanfattning\nKommunstyrelsen har remitterat "
        "motionen (dnr KS 2022/123). Förvaltningen tillstyrker motionen.\n"
    )
    reading = read_document(text, case_dnr="KS 2022/123")
    assert reading.decision_sentence == (
        "Socialnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen."
    )
    assert value(reading.position) == "tillstyrker"


def test_an_agenda_numbered_without_paragraph_signs_is_read_at_the_case() -> None:
    # Tyresö's stadsbyggnadsutskott, 2023-12-20: items "1", "2", each with its diarienummer.
    text = (
        "Tyresö kommun\nStadsbyggnadsutskottet\n\nSammanträde 2023-12-20\n\n"
        "1 Planeringsstrategi 2024-2026 för översiktsplan Tyresö 2035\n\n"
        "Diarienummer KSM2023-1180.212\n\n"
        "Stadsbyggnadsutskottets förslag till kommunstyrelsen för förslag till "
        "kommunfullmäktige\n* Planeringsstrategin antas.\n\nBeskrivning av ärendet\n"
        "Kommunfullmäktige ska ta fram och anta en planeringsstrategi senast 24 månader efter "
        "ordinarie val.\n\n"
        "2 Svar på motion Möjliggör för skärgårdskrog vid Strandbadet\n\n"
        "Diarienummer 2020/KS 0222 001\n\n"
        "Stadsbyggnadsutskottets förslag till kommunstyrelsen för förslag till "
        "kommunfullmäktige\n* Motionen anses besvarad.\n\nBeskrivning av ärendet\n"
        "Motion har inkommit om att möjliggöra för en skärgårdsrestaurang vid strandbadet.\n"
    )
    reading = read_document(text, case_dnr="2020/KS 0222 001")
    assert value(reading.dnr) == "2020/KS 0222 001"
    assert value(reading.position) == "besvarad"
    assert reading.decision_sentence == "Motionen anses besvarad."
    assert value(reading.decision_date) == dt.date(2023, 12, 20)
    assert reading.title == "Svar på motion Möjliggör för skärgårdskrog vid Strandbadet"


AGENDA = (
    "Malmö stad, kommunstyrelsen\n\n"
    "1. Val av justerare samt tid för justering av protokollet\n\n"
    "2. Anmälan av inkomna skrivelser\n\n"
    "3. Redovisning av delegationsbeslut fattade under perioden, enligt förteckningen som "
    "ligger i ärendet och som redovisas för kännedom.\n\n"
    "4. Remiss om mer obligatorisk undervisningstid för behörighet till gymnasieskolan\n"
    "Utbildningsdepartementet har gett Malmö stad möjlighet att yttra sig över betänkandet. "
    "Grundskolenämnden och gymnasienämnden har yttrat sig i ärendet. Nämnderna ställer sig "
    "positiva till förslaget men lyfter synpunkter om försöksverksamhetens längd.\n"
)


@pytest.mark.parametrize(
    ("case_dnr", "case_title"),
    [
        (None, None),
        ("KS 2025/348", "Motion om Stockholms stads stöd i återuppbyggnaden av Ukraina"),
    ],
)
def test_an_agenda_that_does_not_name_the_case_is_read_at_the_item_about_a_remiss(
    case_dnr: str | None, case_title: str | None
) -> None:
    # In production the case passed is the sender's; the document need not name it.
    for text in (AGENDA, " ".join(AGENDA.split())):
        reading = read_document(text, case_dnr=case_dnr, case_title=case_title)
        assert value(reading.position) == "tillstyrker"
        assert reading.position is not None
        assert "ställer sig positiva" in reading.position.sentence


def test_a_heading_wrapped_onto_a_second_line_is_still_a_heading() -> None:
    text = (
        "Svar på motion om en skärgårdskrog\n\nDiarienummer 2020/KS 0222 001\n\n"
        "Stadsbyggnadsutskottets förslag till kommunstyrelsen för förslag till\n"
        "kommunfullmäktige\n* Motionen anses besvarad.\n\nBeskrivning av ärendet\n"
        "Motion har inkommit om att möjliggöra för en restaurang vid strandbadet.\n"
    )
    reading = read_document(text, case_dnr="KS 2025/348")
    assert reading.decision_sentence == "Motionen anses besvarad."


def test_what_others_said_in_the_past_tense_is_not_the_bodys_position() -> None:
    text = (
        "Sammanfattning\nProgrammet skickades på remiss till 26 instanser varav 24 tillstyrkte "
        "förslaget och en avstyrkte. Förskolenämnden har avstått från att yttra sig. "
        "Maria Ek (MP) reserverar sig för att förslaget ska avslås.\n"
    )
    assert read_document(text).position is None


def test_tillstyrker_and_a_proposed_aterremiss_of_a_part_is_delvis() -> None:
    text = (
        "Stadsledningskontorets bedömning\nStadsledningskontoret tillstyrker nämndens förslag "
        "till brukningstaxa. För anläggningstaxan föreslår stadsledningskontoret återremiss.\n"
    )
    reading = read_document(text)
    assert value(reading.position) == "tillstyrker_delvis"
    # The förvaltning's opinion is no decision.
    assert reading.decision_sentence is None


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("Nämnden föreslås ställa sig positiva till kommunstyrelsens förslag.", "tillstyrker"),
        ("Förvaltningen föreslår nämnden att ställa sig negativ till förslaget.", "avstyrker"),
        ("Sammantaget förordar förvaltningen en utbyggnad enligt förslaget.", "tillstyrker"),
        (
            "Nämnden instämmer i de flesta av utredningens förslag med några få undantag.",
            "tillstyrker_delvis",
        ),
    ],
)
def test_more_forms_of_position(sentence: str, kind: str) -> None:
    assert position_of(sentence) == kind


def test_a_diarienummer_given_as_the_senders_is_never_the_answers_own() -> None:
    text = (
        "17 Motion om kombolägenheter i Stockholm.\n\n"
        "Remiss från Kommunstyrelsen, dnr 316-259/2012.\nDnr 1.5.1-135-2012\n"
    )
    assert value(read_document(text).dnr) == "1.5.1-135-2012"
    other = "Socialnämnden\nSvar på remiss från kommunstyrelsen, Dnr KS 2025/348\n\nText."
    assert read_document(other, case_dnr="KS 2025/348").dnr is None


def test_an_agenda_run_together_is_cut_before_each_numbered_item_with_a_dnr() -> None:
    text = (
        "Kungsholmens stadsdelsnämnd Sammanträde 2004-05-25 BESLUTSÄRENDEN 2 Tertialrapport 1 "
        "Dnr: 102-274-04 För stadsdelsnämnden prognostiseras ett underskott om 3,5 miljoner "
        "kronor. Handläggare: Christin Bjuggren REMISSER/YTTRANDEN 6 Detaljplan för kv "
        "Fyrskeppet i stadsdelen Kristineberg Remiss från stadsbyggnadskontoret Dnr: "
        "302-260-04 Sammantaget förordar förvaltningen en utbyggnad enligt förslaget. Det "
        "innebär fördelar med en större butik. Handläggare: Christina Lundin"
    )
    reading = read_document(text, case_title="Detaljplan för kv Fyrskeppet")
    assert value(reading.dnr) == "302-260-04"
    assert value(reading.position) == "tillstyrker"


@pytest.mark.parametrize(
    ("text", "voiced"),
    [
        (
            "Nämnden för Gymnasium & arbetsmarknad föreslår att motionen avslås.",
            "Nämnden för Gymnasium & arbetsmarknad föreslår att motionen avslås.",
        ),
        (
            "Fastighets- och fritidsförvaltningen är positiv till förslaget.",
            "Socialnämnden är positiv till förslaget.",
        ),
        (
            "Fastighets- och fritidsnämnden är positiv till förslaget.",
            "Fastighets- och fritidsnämnden är positiv till förslaget.",
        ),
        (
            "Nämnden tillstyrker förvaltningens förslag.",
            "Socialnämnden tillstyrker förvaltningens förslag.",
        ),
        (
            "Nämnden för Vård & Omsorg instämmer med undantag där nämnden anser annat.",
            "Nämnden för Vård & Omsorg instämmer med undantag där nämnden anser annat.",
        ),
    ],
)
def test_view_in_voice_replaces_only_the_speaker_never_a_name_or_another_author(
    text: str, voiced: str
) -> None:
    assert view_in_voice(text, "Socialnämnden") == voiced


def test_the_view_never_starts_with_running_page_header_text() -> None:
    text = (
        "KUNGSBACKA KOMMUN SAMMANTRÄDESPROTOKOLL 31 (33) Kommunstyrelsen Datum 2025-03-18 "
        "§ 68 Dnr KS-2024-00219 Svar på motion om högre utbildning i Kungsbacka "
        "Beslut – Förslag till kommunfullmäktige Kommunfullmäktige avslår motionen med "
        "hänvisning till att samverkan redan finns. Sammanfattning av ärendet Motionären "
        "föreslår att kommunen undersöker möjligheterna."
    )
    reading = read_document(text, case_dnr="KS-2024-00219")
    view = view_for_report(reading, "Kommunstyrelsen")
    assert view is not None
    assert view[0].startswith("Kommunfullmäktige avslår motionen")
    assert "SAMMANTRÄDESPROTOKOLL" not in view[0]


def test_a_lost_full_stop_before_a_body_that_states_its_view_ends_a_sentence() -> None:
    text = (
        "Remissvar ska ha inkommit senast den 29 januari Arboga kommun tillstyrker att "
        "landstingen ska överta det regionala utvecklingsansvaret. Vi föreslår att Arboga "
        "kommun tillstyrker förslaget."
    )
    from remiss.report.reading import sentences

    assert sentences(text) == [
        "Remissvar ska ha inkommit senast den 29 januari",
        "Arboga kommun tillstyrker att landstingen ska överta det regionala utvecklingsansvaret.",
        "Vi föreslår att Arboga kommun tillstyrker förslaget.",
    ]


def test_the_view_is_at_most_three_sentences_cut_at_sentence_ends() -> None:
    stance = tuple(
        f"Förvaltningen anser att punkt {n} i förslaget är bra och väl utredd." for n in range(6)
    )
    reading = read_document("Förvaltningens synpunkter\n" + " ".join(stance))
    view = view_for_report(reading, "Socialnämnden")
    assert view is not None
    assert len(view[0]) <= 600
    assert view[0].count("Socialnämnden anser") <= 3
    assert view[0].endswith(".")


def test_a_decision_that_only_adopts_an_yttrande_is_no_view() -> None:
    text = (
        "§ 6 Dnr VO-2024-00497\nYttrande till kommunstyrelsen över remiss om priser\n\n"
        "Beslut\nNämnden för Vård & Omsorg antar yttrandet, daterat 2025-01-23, och "
        "översänder det som sitt eget till kommunstyrelsen.\n\nBeslutsunderlag\n"
        "Förvaltningens tjänsteskrivelse, 2024-12-17\n"
    )
    reading = read_document(text)
    assert reading.decision_sentence is not None
    assert "antar yttrandet" in reading.decision_sentence
    assert view_for_report(reading, "Nämnden för Vård & Omsorg") is None


PROTOCOL_PAGE = """KUNGSBACKA KOMMUN SAMMANTRÄDESPROTOKOLL 21 (33)
Kommunstyrelsen
Datum
2025-03-18

§ 62 Dnr KS-2025-00102
Svar på remiss av betänkandet Ny kärnkraft i Sverige (SOU 2025:7)

Beslut
Kommunstyrelsen tillstyrker förslagen i betänkandet.

Sammanfattning av ärendet
Den 2 november 2023 beslutade regeringen att ge en särskild utredare i uppdrag att se över
reglerna. Kommunfullmäktige 2024-04-09, § 62.

Beslutet skickas till
Klimat- och näringslivsdepartementet
"""


@pytest.mark.parametrize("form", ["lines", "flat"])
def test_the_meeting_date_is_the_protocols_datum_header_even_on_separate_lines(form: str) -> None:
    text = PROTOCOL_PAGE if form == "lines" else flat(PROTOCOL_PAGE).replace(" § 62", "  § 62")
    reading = read_document(text)
    assert value(reading.decision_date) == dt.date(2025, 3, 18)
    assert value(reading.paragraph) == "§ 62"
    assert reading.justeras_omedelbart is False  # a protocol's item without the mark


def test_a_tjansteutlatandes_datum_is_no_decision_date() -> None:
    text = "Tjänsteutlåtande\nDatum\n2025-02-05\nDnr SN 2025/4\n\n" + TU.split("\n", 3)[3]
    assert read_document(text).decision_date is None
    assert read_document(text).justeras_omedelbart is True  # "Ärendet justeras omedelbart."


def test_the_sammantradesdatum_label_wins_over_an_earlier_decision_told_in_the_text() -> None:
    text = (
        "Kommunfullmäktige beslutade den 9 april 2024 att remittera motionen.\n\n"
        "Sammanträdesdatum\n\n22 november 2023\n\nKommunstyrelsen tillstyrker motionen."
    )
    assert value(read_document(text).decision_date) == dt.date(2023, 11, 22)


def test_an_agenda_item_with_the_meetings_papers_names_the_meeting_date() -> None:
    text = (
        "1. Val av justerare\n\n"
        "2. Anmälan av inkomna skrivelser till kommunstyrelsen den 20 augusti 2025.\n\n"
        "3. Malmö stad har fått en remiss. Kommunstyrelsen tillstyrker förslaget i remissen.\n"
    )
    assert value(read_document(text).decision_date) == dt.date(2025, 8, 20)


def test_justeras_is_none_for_an_agenda_or_a_notice_and_false_for_a_protocol_without_it() -> None:
    agenda = (
        "Tyresö kommun\nStadsbyggnadsutskottet\n\nSammanträde 2023-12-20\n\n"
        "1 Svar på motion om en skärgårdskrog\n\nDiarienummer KSM2023-1180\n\n"
        "Förslag till beslut\nMotionen avslås.\n"
    )
    assert read_document(agenda).justeras_omedelbart is None
    with_justering = agenda.replace("1 Svar", "1 Val av justerare och tid för justering\n\n2 Svar")
    assert read_document(with_justering).justeras_omedelbart is False
    voted = (
        "Mot bakgrund av ovanstående ska motionen anses besvarad.\n"
        "Propositioner\nBo Källström (L) yrkar bifall till motionen.\n"
    )
    assert read_document(voted).justeras_omedelbart is False


def test_a_mark_on_another_item_of_an_agenda_read_as_a_whole_is_not_this_items() -> None:
    agenda = (
        "Spånga-Tensta stadsdelsnämnd\n\nSammanträde 2013-04-18\n\n"
        "1 Val av justerare och dag för justering\n\n"
        "2 Svar på remiss inför trafikförändringar i SL-trafiken 2013-2014\n\n"
        "Dnr 142-2013-1.5.1.\nFörslag till beslut Omedelbar justering\n"
        "1 Stadsdelsnämnden överlämnar tjänsteutlåtandet som svar på remissen.\n"
        "2 Stadsdelsnämnden beslutar om omedelbar justering av ärendet.\n\n"
        "3 Svar på remiss om motion om långsiktiga villkor för kvinnojourerna och bättre\n"
        "möjligheter för kvinnor att komma vidare.\n\nDnr 82-2013-1.5.1.\n"
        "Förslag till beslut\n"
        "Stadsdelsnämnden lämnar svar på remissen i enlighet med tjänsteutlåtandet.\n"
    )
    assert read_document(agenda).justeras_omedelbart is False
    chosen = read_document(agenda, case_dnr="142-2013-1.5.1")
    assert chosen.justeras_omedelbart is True


def test_a_protocols_list_of_paragraphs_names_the_paragraph_and_title_of_the_remiss() -> None:
    text = (
        "Protokoll\nSammanträdesdatum: 2020-08-18\nParagrafer  §§ 63-73\n\n"
        "Beslutspunkter  § 68/20 Överenskommelse mellan kommunerna i Stockholms län om"
        " ärendeansvar för hemlösa  § 69/20 Uppföljning av försöket med måltidsvän"
        "  § 70/20 Remissvar SOF"
        ' - Motion "Prioritera och ge plats åt äldrefrågor"  Informationsärenden  § 71/20'
        " Uppföljning av åtgärdsplan\n"
    )
    reading = read_document(text)
    assert value(reading.paragraph) == "§ 70"
    assert reading.title is not None
    assert reading.title.startswith("Remissvar SOF - Motion")


def test_a_case_number_of_several_levels_with_a_dnr_is_the_items_number() -> None:
    text = (
        "Beslut i kommunstyrelsen 27 oktober 2021\n\n"
        "2.1.10. Göteborgs Stads vatten- och\navloppstaxa för 2022, Dnr 0882/21\n\n"
        "Stadsledningskontoret tillstyrker nämndens förslag.\n"
    )
    assert value(read_document(text).paragraph) == "2.1.10."
    agenda = "3 Svar på remiss om vatten\n\nDnr 12-2021\n\nNämnden tillstyrker förslaget.\n"
    assert read_document(agenda).paragraph is None  # a place on the agenda, not a number


def test_with_an_unrelated_case_the_title_is_the_chosen_items_own_heading() -> None:
    text = PROTOCOL_PAGE.replace("Svar på remiss", "Svar på Klimatdepartementets remiss")
    reading = read_document(text, case_dnr="KS 2025/348", case_title="Motion om Ukraina")
    assert reading.title == (
        "Svar på Klimatdepartementets remiss av betänkandet Ny kärnkraft i Sverige (SOU 2025:7)"
    )


def test_an_agenda_items_heading_ends_at_its_diarienummer() -> None:
    text = (
        "1 Utseende av justerare\n\n"
        "2 Tertialrapport 1  Dnr: 102-274-04  För stadsdelsnämnden prognostiseras ett underskott"
        " om 3,5 miljoner kronor, vilket motsvarar 0,3 procent av budgeten för hela året.\n\n"
        "6 Detaljplan för kv Fyrskeppet m m i stadsdelen Kristineberg Remiss från"
        " stadsbyggnadskontoret  Dnr: 302-260-04  Sammantaget förordar förvaltningen en"
        " utbyggnad enligt förslaget. Nämnden tillstyrker förslaget till detaljplan.\n"
    )
    reading = read_document(text, case_dnr="302-260-04")
    assert reading.title == (
        "Detaljplan för kv Fyrskeppet m m i stadsdelen Kristineberg Remiss från"
        " stadsbyggnadskontoret"
    )


@pytest.mark.parametrize(
    ("text", "title"),
    [
        # A heading that carries its diarienummer, after a notice's own heading.
        (
            "Beslut i kommunstyrelsen 5 februari 2020\n\nHär publicerar vi besluten.\n\n"
            "Göteborgs Stads program för lokalförsörjning 2020–2026, Dnr 1006/18\n\n"
            "Kommunstyrelsen beslutade enligt stadsledningskontorets förslag.\n",
            "Göteborgs Stads program för lokalförsörjning 2020–2026",
        ),
        # The usual "X – svar på motion" form, over its second line alone.
        (
            "Gör Huddinge till vänortskommun med Trostyanets i Ukraina\n"
            "– svar på motion av Bo Källström (L)\n\nMotionen anses besvarad.\n",
            "Gör Huddinge till vänortskommun med Trostyanets i Ukraina – svar på motion av Bo"
            " Källström (L)",
        ),
        # A letterhead run into the title; the title ends with its official reference.
        (
            "Stockholms läns landsting 1 (3) SKRIVELSE LS Landstingsstyrelsen Yttrande över"
            " delbetänkandet Regional indelning - tre nya län (SOU 2016:48) Föredragande"
            " landstingsråd: Torbjörn Rosdahl",
            "Yttrande över delbetänkandet Regional indelning - tre nya län (SOU 2016:48)",
        ),
        # A contents list: the heading ends at the dot leaders.
        (
            "Ärendelista 32 Dnr KS 2018/56 Svar på remiss reboot- omstart för den digitala"
            " förvaltningen (SOU 2017:114)... 18 33 Dnr KS 2016/527 Uppföljning av verksamhetsplan"
            " 2017... 24",
            "Svar på remiss reboot- omstart för den digitala förvaltningen (SOU 2017:114)",
        ),
    ],
)
def test_without_the_case_the_title_is_what_reads_most_like_one(text: str, title: str) -> None:
    assert read_document(text).title == title


def test_a_title_is_never_a_heading_cut_at_a_line_end() -> None:
    text = (
        "KF APRIL 2013 Nr 72. Uppsalahem AB:s förvärv av aktierna i Studentstaden AB\n"
        "Kommunfullmäktige Förslag till\nbeslut Kommunstyrelsen föreslår kommunfullmäktige"
        " besluta att godkänna förvärvet.\n"
    )
    title = read_document(text).title
    assert title is not None
    assert not title.endswith(" till")
    assert "Uppsalahem AB:s förvärv" in title
