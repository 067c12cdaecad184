"""Every e-mail the system sends, read as its reader reads it: in Swedish (lang, and the
Content-Language header), with one h1 that comes first, dates in Swedish style in running
text, and long addresses that wrap on a narrow screen. And words the findings of issue 18
removed stay out of every template."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from remiss.core.rendering import environment
from remiss.core.terms import NOT_REVIEWED, POSITION_LABELS
from remiss.mail import OutgoingEmail

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SHA = "3f" * 32


class _Thing:
    """A row as the templates see it: the attributes given, None for any other."""

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)

    def __getattr__(self, name: str) -> None:
        return None


def _context() -> dict[str, Any]:
    at = dt.datetime(2026, 12, 5, 21, 33, tzinfo=dt.UTC)
    doc = _Thing(filename="yttrande.pdf", size=123456, sha256=SHA, text="Text.", text_error=None)
    return {
        "arende": _Thing(
            diarienummer="KS 2025/348",
            rubrik="Motion om stöd till Ukraina",
            arendetyp_label="motion",
            missiv="Stadsledningskontoret önskar särskilt synpunkter.\n\nBifoga handlingarna.",
            handlaggare_namn="Karin Lindqvist",
            handlaggare_epost="karin.lindqvist@stockholm.example",
        ),
        "instans": _Thing(
            name="Socialnämnden",
            email="registrator.soc@stockholm.example",
            sent_at=at,
            received_at=at,
            opened_at=at,
            their_diarienummer="SN 2026/77",
        ),
        "motionarer": ["Anna Ek (L)", "Nike Örbrink (KD)"],
        "att_satser": ["att staden aktiverar vänortsavtalet", "att utrustning doneras."],
        "svar_senast": dt.date(2027, 1, 18),
        "avsandare": "Stadsledningskontoret",
        "stallningstaganden": POSITION_LABELS,
        "tagg": "[Remiss-ID 1.abc]",
        "link": "https://remiss.stockholm.example/r/" + "x" * 43,
        "handlingar": [_Thing(title="Motionen", filename="motion.pdf", size=2048)],
        "svar": _Thing(
            submitted_at=at,
            version=2,
            position=NOT_REVIEWED,
            att_sats_positions={"1": "tillstyrker", "2": NOT_REVIEWED},
            summary="Nämnden tillstyrker.",
            documents=[doc, doc],
            decision_date=dt.date(2026, 11, 19),
            decision_paragraph="§ 12",
            joint_with=["exploatering"],
        ),
        "gemensamt": ["Exploateringsnämnden"],
        "part": _Thing(name="Exploateringsnämnden"),
        "anstand": _Thing(
            requested_at=at,
            requested_date=dt.date(2027, 2, 1),
            state="granted",
            granted_date=dt.date(2027, 2, 1),
            decision_note="Vi beviljar anstånd en gång.",
        ),
        "anstand_beviljat": True,
        "dagar": 10,
        "eskaleringskontakt": _Thing(namn="Förvaltningschefen"),
        "beslut": _Thing(
            beslutsdatum=dt.date(2027, 3, 3),
            paragraf="§ 4",
            text="Motionen anses besvarad.",
            organ="kf",
        ),
        "organ": "kommunfullmäktige",
        "bilagor": [doc],
        "rubrik": "Remissen studsade",
        "text": "Missivet till Socialnämnden kom inte fram.",
        "lank": "https://prefect.stockholm.example/runs/flow-run/" + "0" * 36,
    }


# Every e-mail kind, in each of its forms.
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("missiv", {}),
    ("kvittens", {}),
    ("anstand_beslut", {}),
    (
        "anstand_beslut",
        {
            "anstand": _Thing(
                requested_at=dt.datetime(2026, 12, 5, tzinfo=dt.UTC),
                requested_date=dt.date(2027, 2, 1),
                state="refused",
            )
        },
    ),
    ("gemensamt_svar", {}),
    ("beslut", {}),
    ("ny_svarstid", {}),
    ("paminnelse", {"steg": "fore"}),
    ("paminnelse", {"steg": "sen"}),
    ("paminnelse", {"steg": "eskalering"}),
    ("larm", {}),
]


def test_every_kind_of_email_is_covered() -> None:
    kinds = {p.name.split(".")[0] for p in (TEMPLATES / "email").glob("*.html")}
    assert kinds == {kind for kind, _ in VARIANTS}


class _Reading(HTMLParser):
    """The headings in order, the running text (outside tables, code and the head), and
    each visible text with the inline style of the element it stands in."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.headings: list[str] = []
        self.prose: list[str] = []
        self.styled_text: list[tuple[str, str]] = []
        self._open: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "html":
            self.lang = attr.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(tag)
        if tag not in ("br", "meta", "img"):
            self._open.append((tag, attr.get("style") or ""))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        tags = [t for t, _ in self._open]
        if not data.strip() or "head" in tags:
            return
        styles = " ".join(s for _, s in self._open)
        self.styled_text.append((data, styles))
        if not {"table", "code", "pre"} & set(tags):
            self.prose.append(data)


def _render(kind: str, extra: dict[str, Any]) -> tuple[str, str, str]:
    env = environment(TEMPLATES)
    context = _context() | extra
    return tuple(  # type: ignore[return-value]
        env.get_template(f"email/{kind}.{part}").render(context)
        for part in ("subject.txt", "text.txt", "html")
    )


@pytest.mark.parametrize(("kind", "extra"), VARIANTS, ids=lambda v: str(v)[:30])
def test_an_email_is_swedish_with_one_h1_first_and_no_iso_date_in_its_text(
    kind: str, extra: dict[str, Any]
) -> None:
    subject, text, html = _render(kind, extra)
    page = _Reading()
    page.feed(html)
    assert page.lang == "sv"
    assert page.headings[:1] == ["h1"], f"{kind}: the first heading is {page.headings[:1]}"
    assert page.headings.count("h1") == 1
    for part in (subject, text, " ".join(page.prose)):
        assert not ISO_DATE.search(part), f"{kind}: {ISO_DATE.search(part)} in running text"


@pytest.mark.parametrize(("kind", "extra"), VARIANTS, ids=lambda v: str(v)[:30])
def test_a_long_address_or_checksum_in_an_email_wraps_on_a_narrow_screen(
    kind: str, extra: dict[str, Any]
) -> None:
    """A link or a sha256 shown as text is one long word: at 320 px it pushes the message
    sideways unless the element allows a break anywhere."""
    page = _Reading()
    page.feed(_render(kind, extra)[2])
    for text, styles in page.styled_text:
        for word in text.split():
            if "://" in word or re.fullmatch(r"[0-9a-f]{40,}", word):
                assert "break-all" in styles or "overflow-wrap: anywhere" in styles, (kind, word)


def test_an_email_says_in_its_headers_that_it_is_in_swedish() -> None:
    subject, text, html = _render("missiv", {})
    email = OutgoingEmail(
        idempotency_key="missiv:1",
        to=("registrator.soc@stockholm.example",),
        subject=" ".join(subject.split()),
        text=text,
        html=html,
        sender="remiss@stockholm.example",
        sender_name="Stadsledningskontoret",
    )
    mime = email.to_mime()
    assert mime["Content-Language"] == "sv"
    html_part = mime.get_body(("html",))
    assert html_part is not None
    assert 'lang="sv"' in html_part.get_content()


def test_a_nämnd_named_inside_a_sentence_of_an_email_is_lower_case() -> None:
    _, text, html = _render("missiv", {})
    assert "Till Socialnämnden" in text  # the address keeps its capital
    assert "Kommunstyrelsen ber socialnämnden att yttra sig över ärendet." in text
    assert "Länken gäller bara för socialnämnden;" in html


def test_an_answer_not_yet_reviewed_is_named_in_words_in_every_email_that_shows_it() -> None:
    for kind in ("kvittens", "gemensamt_svar"):
        _, text, html = _render(kind, {})
        assert POSITION_LABELS[NOT_REVIEWED] in text
        assert NOT_REVIEWED not in text + html


# Words the findings of issue 18 replaced: a calque ("bakände" for backend, "driftsättning"
# for deployment), a clumsy negation, a second word for the svarsdag, and "Läge" beside
# "Status" for the same column.
FORBIDDEN = {
    "bakände": re.compile(r"bakände", re.IGNORECASE),
    "driftsättningen": re.compile(r"driftsättningen", re.IGNORECASE),
    "Något svar har inte": re.compile(r"Något svar har inte"),
    "svarsdatum": re.compile(r"svarsdatum", re.IGNORECASE),
    "Läge": re.compile(r"\bLäge\b"),
    "Kvitterad (as a status)": re.compile(r"\bKvitterad\b"),
}


def test_no_template_uses_a_word_that_was_replaced() -> None:
    found = [
        f"{path.relative_to(TEMPLATES)}: {word}"
        for path in sorted(TEMPLATES.rglob("*"))
        if path.is_file() and path.suffix in (".html", ".txt", ".md")
        for word, pattern in FORBIDDEN.items()
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
