"""The answer page fuzzed with Hypothesis: whatever arrives, it never answers with a 5xx.

Every route a link holder or a passer-by can reach is sent arbitrary input: links that work,
links changed by a character and pure garbage; every form field of every form with any
Unicode text (control characters, bidi overrides, very long values), repeated or missing;
valid, forged and absent CSRF tokens; uploads of random bytes and of real PDF, DOCX and ODT
files with bytes flipped, cut or inserted, under any name and content type; raw bodies that
are broken multipart; random paths, ids and query strings. The staff pages take part where
they are open without logging in (the login form, logout), and behind the SSO header for
their ids and for showing what the fuzzed forms stored.

Each response must be below 500. A refusal (4xx) must be a page of the site's own, in
Swedish, and must have stored nothing: the rows that record what an official did and the
files in the documents folder are compared before and after. An accepted form must lead to
a page that shows what was stored, so that stored input that breaks a template is found too.

The examples are derandomized, so CI runs the same inputs every time (see REMISS_FUZZ_SCALE
below for a deeper search). The database, one per test function, is shared by its examples:
earlier ones leave answers and receipts that later ones meet. Both databases are fuzzed,
apart from raw bodies, which the parser refuses before any handler runs: the handlers are the
same, but each database refuses input the other takes. PostgreSQL refuses NUL characters,
text longer than its column and ids beyond 32 bits; SQLite integers beyond 64 bits.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import os
import re
import time
import types
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update

from remiss.core.dates import local_today, utcnow
from remiss.core.terms import STALLNINGSTAGANDEN
from remiss.db.engine import session_scope
from remiss.db.models import Anstand, Answer, Dispatch, Document, Event
from remiss.web import admin
from remiss.web.security import ADMIN_COOKIE, CSRF_COOKIE_SECURE
from tests.conftest import future_deadline
from tests.support.documents import docx_bytes, pdf_bytes
from tests.web.conftest import RECIPIENTS, Portal

# For a deeper search than CI's: REMISS_FUZZ_SCALE=20 runs twenty times the examples, and
# REMISS_FUZZ_RANDOM=1 new ones on every run instead of the same fixed ones.
SCALE = float(os.environ.get("REMISS_FUZZ_SCALE", "1"))
RANDOM = os.environ.get("REMISS_FUZZ_RANDOM") == "1"


def examples(count: int) -> int:
    return max(1, round(count * SCALE))


FUZZ = settings(
    max_examples=examples(120),
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    # The portal (a database with a sent round) is made once per test function, on purpose:
    # the examples share it, so later ones meet the state earlier ones left.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SSO_HEADER = "X-Fuzz-Staff"
# Small limits, so that files over them are cheap to make: a file above 1 MB is refused by
# the upload check, a body above 2 + 1 MB by the body limit.
LIMITS = {
    "REMISS_UPLOAD_MAX_FILE_MB": "1",
    "REMISS_UPLOAD_MAX_TOTAL_MB": "2",
    "REMISS_UPLOAD_MAX_FILES": "3",
    "REMISS_ADMIN_SSO_HEADER": SSO_HEADER,
}
MB = 1024 * 1024


def odt_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED
        )
        archive.writestr("content.xml", "<office:document-content>Svar</office:document-content>")
    return buffer.getvalue()


PDF = pdf_bytes()
DOCX = docx_bytes("Sammanfattning", "Socialnämnden tillstyrker motionen.")
ODT = odt_bytes()

# --- Strategies --------------------------------------------------------------------------

T = TypeVar("T")


def mostly(usual: st.SearchStrategy[T], unusual: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """`usual` four times in five: most requests get past one check to meet the next.

    `usual` is the one Hypothesis starts from and shrinks to, so a failing example keeps
    only what it needs of the unusual.
    """
    return st.integers(0, 4).flatmap(lambda n: unusual if n == 4 else usual)


# Any text a client can send: every code point UTF-8 can encode, so all but lone surrogates.
# The control characters, NUL and bidi overrides among them are what a script sends.
any_text = st.text(st.characters(codec="utf-8"), max_size=40)
# Ordinary text with control, format and separator characters mixed in, which databases,
# templates and headers are the likeliest to choke on.
odd_text = st.lists(
    st.one_of(
        st.sampled_from(["Nämnden", " ", "svar", "å", "\x00", "\u202e", "\ufeff"]),
        st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp", "Co"]),
    ),
    min_size=1,
    max_size=8,
).map("".join)
LONG_EMAIL = "a" * 64 + "@" + ("b" * 60 + ".") * 3 + "se"  # 250 characters, valid
INTERESTING = [
    "",
    " ",
    *STALLNINGSTAGANDEN,
    *RECIPIENTS,
    "ej_granskat",
    "2026-01-15",
    future_deadline(weeks=30).isoformat(),
    "2026-02-30",
    "0001-01-01",
    "9999-12-31",
    "٢٠٢٦-٠١-١٥",  # Arabic-Indic digits match \d
    "2026-1-5",
    "eva.svensson@stockholm.se",
    "namn@kommun",
    "@",
    LONG_EMAIL,
    "§ 12",
    "SN 2026/1234",
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "\x00",
    "a\x00b",
    "\u202egnp.exe",
    "\r\n\r\n--boundary--",
]
# Values around and beyond the texts' limits (50, 100, 200, 2000, 5000, 10000 characters),
# in characters that are one to four bytes in UTF-8.
long_text = st.builds(
    lambda char, count: char * count,
    st.sampled_from(["a", "å", " ", "\x00", "<", "😀"]),
    st.one_of(st.integers(0, 12_000), st.sampled_from([50, 51, 100, 101, 200, 201, 2001, 5001])),
)
field_text = st.one_of(st.sampled_from(INTERESTING), any_text, odd_text, long_text)
# A field sent once, several times, or (as a list) not at all.
field_value = st.one_of(field_text, st.lists(field_text, max_size=4))


def address(length: int) -> str:
    """An address of exactly `length` characters (8 or more), valid in form up to 254."""
    local = "a" * min(64, max(1, length - 8))
    rest = length - len(local) - len("@.se")
    labels = []
    while rest > 61:  # a label of 60 and its dot
        labels.append("b" * 60)
        rest -= 61
    labels.append("b" * max(1, rest))
    return f"{local}@{'.'.join(labels)}.se"


# Addresses of every length, and of the lengths where limits lie: the database's columns
# (200 and 320 characters) and the standard's 254. Hypothesis's own emails() stay short.
addresses = st.one_of(
    st.sampled_from([199, 200, 201, 254, 255, 320, 321]), st.integers(8, 330)
).map(address)
any_date = st.dates().map(dt.date.isoformat)
# Ordinary text with one control or format character in it: NUL (which PostgreSQL cannot
# store), escape, delete, a bidi override, a line separator, a byte order mark.
text_with_control = st.builds(
    lambda text, at, char: text[:at] + char + text[at:],
    st.sampled_from(["Nämnden tillstyrker.", "§ 12", "SN 2026/1234", "Eva"]),
    st.integers(0, 20),
    st.sampled_from(["\x00", "\x1b", "\x7f", "\u202e", "\u2028", "\ufeff"]),
)
free_text = st.one_of(text_with_control, odd_text, long_text)
TEXT_FIELDS = [
    "sammanfattning",
    "paragraf",
    "reservationer",
    "sarskilda_uttalanden",
    "kontaktperson",
    "diarienummer",
    "skal",
]
# What a field is mostly given instead of anything: values of its own kind, so that more of
# them get past the first check and reach the next (the database, the calendar, the page).
FIELD_VALUES: dict[str, st.SearchStrategy[str | list[str]]] = {
    "epost": st.one_of(st.emails(), addresses),
    "datum": any_date,
    "beslutsdatum": any_date,
    "stallningstagande": st.sampled_from(sorted(STALLNINGSTAGANDEN)),
    "att_sats": st.lists(st.sampled_from(["", *STALLNINGSTAGANDEN]), max_size=4),
    "gemensamt": st.lists(st.sampled_from(RECIPIENTS), max_size=5),
    **dict.fromkeys(TEXT_FIELDS, free_text),
}


def value_for(name: str) -> st.SearchStrategy[str | list[str]]:
    own = FIELD_VALUES.get(name)
    return field_value if own is None else mostly(own, field_value)


def form_changes(
    names: st.SearchStrategy[str], *, min_size: int = 0, max_size: int
) -> st.SearchStrategy[dict[str, str | list[str]]]:
    """Fields to set on a form. Not `st.dictionaries`: with names from a short list, its
    unique keys make Hypothesis discard many examples; here a later value simply wins."""
    change = names.flatmap(lambda name: st.tuples(st.just(name), value_for(name)))
    return st.lists(change, min_size=min_size, max_size=max_size).map(dict)


# Around the ends of a 32-bit and a 64-bit integer column.
big_number = st.sampled_from(
    [2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**31) - 1, -(2**63) - 1, 10**40]
).map(str)
path_number = st.one_of(st.integers(-3, 5).map(str), st.integers().map(str), big_number)
path_piece = st.one_of(path_number, any_text, st.sampled_from(["", ".", "..", "%", "1.5", "1e3"]))


def links(tokens: list[str]) -> st.SearchStrategy[str]:
    """Working links, links one edit away from working, and garbage."""
    valid = st.sampled_from(tokens)

    def edit(token: str, at: int, insert: str, delete: int) -> str:
        at %= len(token) + 1
        return token[:at] + insert + token[at + delete :]

    return mostly(
        valid,
        st.one_of(
            st.builds(edit, valid, st.integers(0, 64), any_text, st.integers(0, 2)),
            any_text,
            st.text(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=40
            ),
            st.sampled_from(["A" * 200, "A" * 201, "A" * 5000]),
        ),
    )


def segment(text: str) -> str:
    """`text` as one path segment: any text goes, even "/" and "%"."""
    return quote(text, safe="")


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """`original` with some bytes flipped, inserted, deleted, or the end cut off.

    Half of the edits land in the last 300 bytes: for a zip that is the central directory,
    whose damage is more varied than a bad checksum.
    """
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        near_end = draw(st.booleans())
        low = max(0, len(data) - 300) if near_end else 0
        at = draw(st.integers(low, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        if action == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            del data[at:]
    return bytes(data)


file_content = st.one_of(
    st.sampled_from([PDF, DOCX, ODT, b"", b"%PDF-", b"PK\x03\x04"]),
    st.binary(max_size=2048),
    st.binary(max_size=512).map(lambda b: b"%PDF-" + b),
    mutated(PDF),
    mutated(DOCX),
    mutated(ODT),
    # Around the 1 MB limit for one file.
    st.integers(MB - 2 * len(PDF), MB + 16).map(lambda n: PDF + b"0" * (n - len(PDF))),
)
file_name = st.one_of(
    st.sampled_from(
        [
            "svar.pdf",
            "Tjänsteutlåtande.PDF",
            "",
            ".",
            "..",
            "../../etc/passwd",
            "C:\\Users\\eva\\svar.docx",
            "svar\x00.pdf",
            "\u202efdp.exe",
            "a" * 300 + ".pdf",
            "CON",
            'svar".pdf',
        ]
    ),
    any_text,
)
content_type = st.one_of(
    st.sampled_from(
        [
            "application/pdf",
            "application/octet-stream",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "text/html",
            "",
        ]
    ),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
)
Upload = tuple[str, tuple[str, bytes, str]]
uploads = st.lists(
    st.builds(lambda n, d, t: ("filer", (n, d, t)), file_name, file_content, content_type),
    max_size=5,
)


@dataclass(frozen=True)
class Csrf:
    """What the request carries: the cookie the page set, and the field the form sent."""

    cookie: bool
    field: Literal["valid", "absent", "forged"]
    forged: str = ""


csrfs = mostly(
    st.just(Csrf(cookie=True, field="valid")),
    st.builds(
        Csrf,
        cookie=st.booleans(),
        field=st.sampled_from(["valid", "absent", "forged"]),
        forged=any_text,
    ),
)

# --- The portal and what a response must be ----------------------------------------------


@dataclass(frozen=True)
class Stored:
    """What the database and the documents folder hold, to compare before and after."""

    counts: dict[str, int]  # rows per table
    dispatches: tuple[tuple[object, ...], ...]
    files: tuple[str, ...]


class Fuzzed:
    """The portal under fuzzing. Not a dataclass: Hypothesis prints a failing example's
    arguments, and would print a dataclass field by field, all the settings included."""

    def __init__(self, portal: Portal, csrf: str) -> None:
        self.portal = portal
        self.csrf = csrf  # the form's CSRF token
        self.nonce = portal.client.cookies[CSRF_COOKIE_SECURE]  # the cookie it belongs to

    def __repr__(self) -> str:
        return "fuzzed"

    @property
    def client(self) -> httpx.Client:
        return self.portal.client

    @property
    def tokens(self) -> list[str]:
        return sorted(self.portal.tokens.values())

    def prepare(self, csrf: Csrf, fields: dict[str, str | list[str]]) -> None:
        """Set the client's cookie and the form's field as `csrf` says."""
        self.client.cookies.clear()
        if csrf.cookie:
            self.client.cookies.set(CSRF_COOKIE_SECURE, self.nonce)
        if csrf.field == "valid":
            fields["csrf"] = self.csrf
        elif csrf.field == "forged":
            fields["csrf"] = csrf.forged
        else:
            fields.pop("csrf", None)

    def reopen(self) -> None:
        """Take back every anstånd request and every decline.

        A dispatch with a pending anstånd refuses the next request before it reads the
        e-mail address, and one that declined refuses everything: without this, only the
        first few examples would get to the end of these forms.
        """
        with session_scope(self.portal.settings.database_url) as session:
            session.execute(delete(Anstand))
            session.execute(update(Dispatch).values(declined_at=None, decline_reason=None))

    def stored(self) -> Stored:
        """Everything an official's request could store: rows, dispatch fields and files."""
        with session_scope(self.portal.settings.database_url) as session:
            counts = {
                model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Answer, Anstand, Document, Event)
            }
            dispatches = tuple(
                tuple(row)
                for row in session.execute(
                    select(
                        Dispatch.id,
                        Dispatch.opened_at,
                        Dispatch.received_at,
                        Dispatch.their_diarienummer,
                        Dispatch.contact_name,
                        Dispatch.contact_email,
                        Dispatch.declined_at,
                        Dispatch.decline_reason,
                    ).order_by(Dispatch.id)
                )
            )
        files = tuple(sorted(str(p) for p in self.portal.settings.documents_dir.rglob("*")))
        return Stored(counts, dispatches, files)


@pytest.fixture
def fuzzed(make_portal: Callable[..., Portal], monkeypatch: pytest.MonkeyPatch) -> Fuzzed:
    """A portal with small upload limits, no pauses, and the client holding a CSRF cookie."""
    portal = make_portal(**LIMITS)
    app = portal.client.app
    assert isinstance(app, FastAPI)
    # Garbage links trip the throttle after ten tries; its one-second pause (the point of it
    # in production) would make this module take many minutes. It still answers 429.
    app.state.throttle.delay = 0.0
    # The same for the staff login's pause after a wrong password.
    monkeypatch.setattr(admin, "time", types.SimpleNamespace(time=time.time, sleep=lambda _: None))
    csrf = portal.csrf(portal.tokens["socialnamnden"])
    return Fuzzed(portal, csrf)


SWEDISH_LETTER = re.compile("[åäöÅÄÖ]")
ERROR_PAGE = re.compile(r"<h1>(?P<heading>.*?)</h1>\s*<p>(?P<text>.*?)</p>", re.DOTALL)
OWN_PAGES = (
    "Det gick inte att skicka",  # the answer page with the form's errors
    "Logga in på översikten",  # the staff login with its error
    "Det ni skickade är för stort",  # the body limit
)


def check(response: httpx.Response, before: Stored, fuzzed: Fuzzed) -> None:
    """Never a server error; a refusal is a Swedish page of the site's and stored nothing."""
    request = f"{response.request.method} {response.request.url}"
    # Shown by --hypothesis-show-statistics: how many examples got how far.
    event(f"status {response.status_code}")
    assert response.status_code < 500, f"{request}: {response.status_code}\n{response.text[:2000]}"
    if response.status_code < 400:
        return
    assert fuzzed.stored() == before, f"{request} was refused ({response.status_code}) but stored"
    if response.request.method == "HEAD":
        return
    assert response.headers["content-type"].startswith("text/html"), request
    text = response.text
    assert re.search(r"""<html lang=["']sv["']""", text), request
    if not any(marker in text for marker in OWN_PAGES):
        # The error page: its text is one of ours, never a framework's English detail.
        # Every such text has an å, ä or ö, which no English one has.
        page = ERROR_PAGE.search(text)
        assert page, f"{request}: {response.status_code} is not one of the site's pages\n{text}"
        assert SWEDISH_LETTER.search(html.unescape(page["text"])), f"{request}: {page['text']}"


def check_page(response: httpx.Response) -> None:
    """A page that shows stored data renders in full."""
    request = f"{response.request.method} {response.request.url}"
    assert response.status_code == 200, f"{request}: {response.status_code}\n{response.text[:2000]}"
    assert "</html>" in response.text


# --- Paths, ids and query strings ---------------------------------------------------------


ROUTES = {
    "page": "/r/{link}",
    "receipt": "/r/{link}/kvitto/{number}",
    "case document": "/r/{link}/handlingar/{number}",
    "own file": "/r/{link}/filer/{number}",
    "under a link": "/r/{link}/{piece}",
    "staff round": "/admin/omgang/{number}",
    "staff file": "/admin/filer/{number}",
    "static": "/static/{piece}",
    "anywhere": "/{piece}/{other}",
}
FIXED_PATHS = ["/", "/r", "/r/", "/admin", "/admin/login", "/admin/logout", "/static/style.css"]


@FUZZ
@given(
    data=st.data(),
    route=st.sampled_from([*ROUTES, *FIXED_PATHS]),
    number=st.one_of(big_number, path_number, path_piece.map(segment)),
    pieces=st.lists(path_piece.map(segment), min_size=2, max_size=2),
    method=mostly(st.just("GET"), st.sampled_from(["HEAD", "POST", "PUT", "DELETE", "OPTIONS"])),
    params=st.dictionaries(
        st.one_of(st.just("klart"), any_text),
        st.one_of(st.sampled_from(["kvittens", "anstand", "avstar"]), any_text),
        max_size=3,
    ),
    cookies=st.dictionaries(
        st.sampled_from([CSRF_COOKIE_SECURE, ADMIN_COOKIE, "x"]),
        st.text(
            st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=";"),
            max_size=80,
        ),
        max_size=2,
    ),
    staff=st.booleans(),
)
def test_no_path_is_a_server_error(
    fuzzed: Fuzzed,
    data: st.DataObject,
    route: str,
    number: str,
    pieces: list[str],
    method: str,
    params: dict[str, str],
    cookies: dict[str, str],
    staff: bool,
) -> None:
    link = segment(data.draw(links(fuzzed.tokens), label="link")) if "{link}" in route else ""
    piece, other = pieces
    path = ROUTES.get(route, route).format(link=link, number=number, piece=piece, other=other)
    fuzzed.client.cookies.clear()
    headers = {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    if staff:
        # Behind the SSO proxy's header, the staff pages' ids reach the database too.
        headers[SSO_HEADER] = "fuzz"
    before = fuzzed.stored()
    response = fuzzed.client.request(method, path, params=params, headers=headers)
    check(response, before, fuzzed)


def test_an_id_beyond_an_integer_column_is_not_found(fuzzed: Fuzzed) -> None:
    # PostgreSQL answered "integer out of range" from 2**31, SQLite OverflowError from 2**63.
    token = fuzzed.portal.tokens["kpr"]
    staff = {SSO_HEADER: "fuzz"}
    for path in (
        f"/r/{token}/kvitto/{2**31}",
        f"/r/{token}/kvitto/{2**63}",
        f"/r/{token}/handlingar/{2**64}",
        f"/r/{token}/filer/{-(2**63) - 1}",
        f"/admin/omgang/{2**31}",
        f"/admin/filer/{2**63}",
    ):
        response = fuzzed.client.get(path, headers=staff)
        assert response.status_code == 404, path
        assert "Sidan finns inte" in response.text
    assert fuzzed.client.get("/admin/omgang/1", headers=staff).status_code == 200


# --- The small forms: kvittens, anstånd, avstå, and the staff login -----------------------

# Four weeks after the round's deadline: within the longest anstånd (anstand_max_days).
ANSTAND_DAY = future_deadline(weeks=12).isoformat()
SMALL_FORMS: dict[str, dict[str, str | list[str]]] = {
    "kvittens": {
        "diarienummer": "SN 2026/1234",
        "kontaktperson": "Eva Svensson",
        "epost": "eva.svensson@stockholm.se",
    },
    "anstand": {"datum": ANSTAND_DAY, "skal": "Nämnden sammanträder", "epost": ""},
    "avstar": {"skal": "Berör inte nämnden"},
    "/admin/login": {"losenord": "fel"},
    "/admin/logout": {},
}


SMALL_FORM_FIELDS = sorted({name for fields in SMALL_FORMS.values() for name in fields})


def removals(names: list[str]) -> st.SearchStrategy[set[str]]:
    """Mostly none: a form without its fields is refused before anything else is tried."""
    return mostly(st.just(set()), st.sets(st.sampled_from(names), min_size=1))


@settings(FUZZ, max_examples=examples(200))
@given(
    data=st.data(),
    form=st.sampled_from(sorted(SMALL_FORMS)),
    csrf=csrfs,
    multipart=st.booleans(),
)
def test_no_small_form_is_a_server_error(
    fuzzed: Fuzzed, data: st.DataObject, form: str, csrf: Csrf, multipart: bool
) -> None:
    own = sorted(SMALL_FORMS[form]) or ["csrf"]
    changes = data.draw(
        form_changes(
            mostly(
                st.sampled_from(own),
                st.one_of(st.sampled_from(["csrf", "filer", *SMALL_FORM_FIELDS]), any_text),
            ),
            max_size=3,
        ),
        label="changes",
    )
    removed = data.draw(removals(own), label="removed")
    if form.startswith("/"):
        path = form
    else:
        path = f"/r/{segment(data.draw(links(fuzzed.tokens), label='link'))}/{form}"
    fields = {k: v for k, v in SMALL_FORMS[form].items() if k not in removed}
    fuzzed.reopen()
    fuzzed.prepare(csrf, fields)
    fields.update(changes)
    # A browser sends these forms url-encoded; a script may send multipart.
    extra = [("bilaga", ("a.txt", b"x", "text/plain"))] if multipart else None
    before = fuzzed.stored()
    response = fuzzed.client.post(path, data=fields, files=extra)
    check(response, before, fuzzed)
    if response.status_code == 303 and path.startswith("/r/"):
        check_page(fuzzed.client.get(response.headers["location"]))


# --- The answer form, with its files ------------------------------------------------------

ANSWER: dict[str, str | list[str]] = {
    "stallningstagande": "tillstyrker_delvis",
    "att_sats": ["tillstyrker", ""],
    "sammanfattning": "Nämnden ser positivt på förslaget.",
    "beslutsdatum": (local_today(utcnow()) - dt.timedelta(days=30)).isoformat(),
    "paragraf": "§ 12",
    "kontaktperson": "Eva Svensson",
    "epost": "eva.svensson@stockholm.se",
}
# The fields an official fills in; the text fields, which take almost anything, twice, so
# that more of the answers that get through carry odd text into the database and the pages.
ANSWER_FIELDS = [
    "stallningstagande",
    "att_sats",
    "beslutsdatum",
    "epost",
    *["sammanfattning", "paragraf", "reservationer", "sarskilda_uttalanden", "kontaktperson"] * 2,
]


def show_stored_answer(fuzzed: Fuzzed, location: str) -> None:
    """The receipt, the files and the staff's view of what was just stored."""
    check_page(fuzzed.client.get(location))
    token = location.split("/")[2]
    with session_scope(fuzzed.portal.settings.database_url) as session:
        answer = session.scalars(select(Answer).order_by(Answer.id.desc()).limit(1)).one()
        assert location.endswith(f"/kvitto/{answer.version}")
        documents = [d.id for d in answer.documents]
        round_id = answer.dispatch.round_id
    for document_id in documents:
        response = fuzzed.client.get(f"/r/{token}/filer/{document_id}")
        assert response.status_code == 200
        assert response.headers["content-disposition"].isascii()
    check_page(fuzzed.client.get(f"/admin/omgang/{round_id}", headers={SSO_HEADER: "fuzz"}))


VALID_FILE: list[Upload] = [("filer", ("svar.pdf", PDF, "application/pdf"))]


def post_answer(
    fuzzed: Fuzzed,
    link: str,
    csrf: Csrf,
    fields: dict[str, str | list[str]],
    changes: dict[str, str | list[str]],
    files: list[Upload],
) -> None:
    fuzzed.prepare(csrf, fields)
    fields.update(changes)
    before = fuzzed.stored()
    response = fuzzed.client.post(f"/r/{segment(link)}/svar", data=fields, files=files or None)
    check(response, before, fuzzed)
    if response.status_code == 303:
        assert fuzzed.stored().counts["Answer"] == before.counts["Answer"] + 1
        show_stored_answer(fuzzed, response.headers["location"])


@settings(FUZZ, max_examples=examples(160))
@given(
    data=st.data(),
    changes=form_changes(
        mostly(
            st.sampled_from(ANSWER_FIELDS),
            st.one_of(st.sampled_from(["csrf", "filer", "gemensamt"]), any_text),
        ),
        min_size=1,
        max_size=3,
    ),
    removed=removals(sorted(ANSWER)),
    files=mostly(st.just(VALID_FILE), uploads),
    csrf=csrfs,
)
def test_no_answer_form_is_a_server_error(
    fuzzed: Fuzzed,
    data: st.DataObject,
    changes: dict[str, str | list[str]],
    removed: set[str],
    files: list[Upload],
    csrf: Csrf,
) -> None:
    link = data.draw(links(fuzzed.tokens), label="link")
    fields = {k: v for k, v in ANSWER.items() if k not in removed}
    post_answer(fuzzed, link, csrf, fields, changes, files)


@FUZZ
@given(data=st.data(), files=uploads)
def test_no_upload_is_a_server_error(
    fuzzed: Fuzzed, data: st.DataObject, files: list[Upload]
) -> None:
    link = data.draw(st.sampled_from(fuzzed.tokens), label="link")
    valid = Csrf(cookie=True, field="valid")
    post_answer(fuzzed, link, valid, dict(ANSWER), {}, files)


# SQLite only: the parser refuses almost all of these bodies before a handler runs, and what
# it lets through is a form the tests above send to both databases.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@FUZZ
@given(
    data=st.data(),
    form=st.sampled_from(["svar", "kvittens", "anstand", "avstar"]),
    kind=st.sampled_from(
        [
            "multipart/form-data; boundary={boundary}",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=annan",
            "application/x-www-form-urlencoded",
            "application/json",
            "text/plain",
        ]
    ),
    garbage=st.binary(max_size=1024),
)
def test_no_broken_body_is_a_server_error(
    fuzzed: Fuzzed, data: st.DataObject, form: str, kind: str, garbage: bytes
) -> None:
    """Bodies no browser makes: a real answer's multipart with its bytes damaged, or noise."""
    token = fuzzed.portal.tokens["bromma"]
    fuzzed.client.cookies.clear()
    fuzzed.client.cookies.set(CSRF_COOKIE_SECURE, fuzzed.nonce)
    sample = fuzzed.client.build_request(
        "POST",
        f"/r/{token}/{form}",
        data={**ANSWER, "csrf": fuzzed.csrf, "skal": "Skäl", "datum": ANSTAND_DAY},
        files=[("filer", ("svar.pdf", PDF, "application/pdf"))],
    )
    body = sample.read()
    boundary = body.split(b"\r\n", 1)[0][2:].decode()
    content = data.draw(st.one_of(mutated(body), st.just(garbage)), label="body")
    before = fuzzed.stored()
    response = fuzzed.client.post(
        f"/r/{token}/{form}",
        content=content,
        headers={"content-type": kind.format(boundary=boundary)},
    )
    check(response, before, fuzzed)


# --- What the fuzzer found, as plain tests ------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_broken_multipart_body_gets_a_swedish_page(fuzzed: Fuzzed) -> None:
    # Starlette refused it with the English "Invalid multipart data." on the error page.
    token = fuzzed.portal.tokens["bromma"]
    fuzzed.client.cookies.set(CSRF_COOKIE_SECURE, fuzzed.nonce)
    response = fuzzed.client.post(
        f"/r/{token}/svar",
        content=b"\x00",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 400
    assert "Formuläret kunde inte läsas" in response.text
    assert "Invalid" not in response.text


def test_a_nul_character_in_a_text_is_refused_on_both_databases(fuzzed: Fuzzed) -> None:
    # PostgreSQL cannot store NUL in text: the answer page answered 500 there.
    token = fuzzed.portal.tokens["socialnamnden"]
    cases: list[tuple[str, dict[str, str | list[str]]]] = [
        ("svar", {**ANSWER, "sammanfattning": "Nämnden\x00"}),
        ("svar", {**ANSWER, "kontaktperson": "\x00"}),
        ("kvittens", {"diarienummer": "SN\x002026/1"}),
        ("anstand", {"datum": ANSTAND_DAY, "skal": "\x00Sammanträde"}),
        ("avstar", {"skal": "\x00"}),
    ]
    for form, fields in cases:
        before = fuzzed.stored()
        response = fuzzed.client.post(
            f"/r/{token}/{form}",
            data={**fields, "csrf": fuzzed.csrf},
            files=VALID_FILE if form == "svar" else None,
        )
        assert response.status_code == 400, form
        assert "Texten innehåller ett tecken som inte kan sparas" in response.text
        assert fuzzed.stored() == before


def test_an_anstand_email_longer_than_its_column_is_refused(fuzzed: Fuzzed) -> None:
    # A valid address of 250 characters overflowed the 200-character column on PostgreSQL.
    token = fuzzed.portal.tokens["servicenamnden"]
    before = fuzzed.stored()
    response = fuzzed.client.post(
        f"/r/{token}/anstand",
        data={"csrf": fuzzed.csrf, "datum": ANSTAND_DAY, "skal": "Möte", "epost": LONG_EMAIL},
    )
    assert response.status_code == 400
    assert "E-postadressen får vara högst 200 tecken." in response.text
    assert fuzzed.stored() == before
