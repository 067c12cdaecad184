"""Registration receipts and automatic acknowledgements from a remissinstans's diarium are
a kvittens, not an answer. The texts follow how registrators and diarium systems in
Swedish municipalities word them (no stored public copy of a real auto-reply was found;
the diarienummer shapes are the published ones: Stockholm's "SDN 2026/123", Huddinge's
"KS-2023/482.119", Nynäshamn's "KS/2019/0001/0009", länsstyrelsen's "403-123456-2012")."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from remiss.inbox.parse import diarienummer, is_receipt, parse

QUOTED_MISSIV = (
    "\n\n-----Ursprungligt meddelande-----\n"
    "Från: Stadsledningskontoret <remiss@stockholm.example>\n"
    "Ämne: Remiss KS 2026/348 [Remiss-ID 12-a3f9c1]\n"
    "Svar senast 2026-12-18. Ange diarienummer KS 2026/348 i ert svar.\n"
)

RECEIPTS = {
    "diarieford": (
        "Automatiskt svar: Remiss KS 2026/348",
        "Tack för ert e-postmeddelande. Handlingen har diarieförts hos "
        "Skärholmens stadsdelsförvaltning med diarienummer SDN 2026/1187.\n"
        "Registrator, Skärholmens stadsdelsförvaltning",
        True,
        ("SDN 2026/1187",),
    ),
    "registrerats": (
        "SV: Remiss KS 2026/348 [Remiss-ID 12-a3f9c1]",
        "Hej!\nRemissen har registrerats i vårt diarium, dnr KS-2023/482.119.\n"
        "Med vänlig hälsning\nRegistraturen",
        False,
        ("KS-2023/482.119",),
    ),
    "mottagningsbekraftelse": (
        "Mottagningsbekräftelse",
        "Detta är en automatisk mottagningsbekräftelse. Ditt meddelande har kommit in till "
        "kommunen och kommer att registreras. Svara inte på detta meddelande.",
        True,
        (),
    ),
    "arendenummer": (
        "SV: Remiss KS 2026/348",
        "Vi har tagit emot remissen. Ärendenummer: KS/2019/0001/0009.",
        False,
        ("KS/2019/0001/0009",),
    ),
    "lansstyrelsen": (
        "Ärendet är registrerat",
        "Ert ärende är registrerat och har fått diarienummer 403-123456-2026.",
        False,
        ("403-123456-2026",),
    ),
}


def mail(subject: str, body: str, *, automatic: bool, attachment: bool = False) -> bytes:
    msg = EmailMessage()
    msg["From"] = "registrator.skarholmen@stockholm.example"
    msg["To"] = "remiss@stockholm.example"
    msg["Subject"] = subject
    msg["Message-ID"] = "<kvitto-1@stockholm.example>"
    if automatic:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(body + QUOTED_MISSIV)
    if attachment:
        msg.add_attachment(
            b"%PDF-1.4 yttrande", maintype="application", subtype="pdf", filename="yttrande.pdf"
        )
    return msg.as_bytes()


@pytest.mark.parametrize("name", sorted(RECEIPTS))
def test_a_registration_receipt_is_a_receipt_with_the_remissinstans_own_dnr(name: str) -> None:
    subject, body, automatic, dnr = RECEIPTS[name]
    parsed = parse(mail(subject, body, automatic=automatic))
    assert parsed.kind == "receipt"
    assert parsed.files == ()
    # The remiss's own diarienummer, quoted from the missiv below, is not theirs.
    assert parsed.dnr == dnr


def test_an_automatic_receipt_with_an_attachment_is_still_a_receipt() -> None:
    subject, body, _, dnr = RECEIPTS["diarieford"]
    parsed = parse(mail(subject, body, automatic=True, attachment=True))
    assert (parsed.kind, parsed.files, parsed.dnr) == ("receipt", (), dnr)


def test_an_answer_with_its_document_is_an_answer_even_if_it_names_its_dnr() -> None:
    body = (
        "Hej! Här kommer stadsdelsnämndens yttrande, som har diarieförts under "
        "dnr SDN 2026/1187. Protokollsutdraget och tjänsteutlåtandet är bifogade."
    )
    parsed = parse(mail("SV: Remiss KS 2026/348", body, automatic=False, attachment=True))
    assert parsed.kind == "reply"
    assert [f.filename for f in parsed.files] == ["yttrande.pdf"]


@pytest.mark.parametrize(
    "body",
    [
        "Vilket diarienummer ska vi ange i vårt svar?",
        "Hej, kan vi få anstånd till i januari? Nämnden sammanträder först den 21.",
        "Jag är på semester till och med 4 januari. Brådskande ärenden: växeln.",
    ],
)
def test_a_question_or_an_out_of_office_is_not_a_receipt(body: str) -> None:
    assert parse(mail("SV: Remiss KS 2026/348", body, automatic=False)).kind == "reply"
    assert parse(mail("Automatiskt svar: Remiss", body, automatic=True)).kind == "auto_reply"


def test_a_long_reply_in_the_body_is_not_a_receipt() -> None:
    body = "Nämnden har registrerats som remissinstans och yttrar sig så här: " + "text " * 400
    assert not is_receipt("SV: Remiss", body, has_files=False, automatic=False)


def test_each_diarienummer_shape_is_read_whole() -> None:
    text = (
        "Dnr: SDN 2026/123. Diarienummer KS-2023/482.119, ärendenr KS/2019/0001/0009 "
        "och dnr 403-123456-2012."
    )
    assert diarienummer(text) == (
        "SDN 2026/123",
        "KS-2023/482.119",
        "KS/2019/0001/0009",
        "403-123456-2012",
    )
