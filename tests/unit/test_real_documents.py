"""The corpus of real documents in `tests/fixtures/real/` is sound: enough documents from enough
municipalities, every expected sentence really in its text, and every form renders into a file
the product can read (or, for the scan, cannot). These test the corpus, not a reader."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.support.real_documents import (
    FIXTURES,
    FORMS,
    KINDS,
    POSITIONS,
    RealDocument,
    extracted_text,
    load_manifest,
    render,
    squash,
)

ENTRIES = load_manifest()
SEED_MUNICIPALITIES = {"Huddinge"}  # only known from the project's seeds


def by_id(entry: RealDocument) -> str:
    return entry.id


def test_the_corpus_has_at_least_twenty_five_documents() -> None:
    assert len(ENTRIES) >= 25


def test_the_documents_come_from_at_least_six_municipalities_or_regions_besides_the_seeds() -> None:
    places = {entry.municipality for entry in ENTRIES} - SEED_MUNICIPALITIES
    assert len(places) >= 6, places


def test_ids_are_unique_and_every_id_has_its_text_file() -> None:
    ids = [entry.id for entry in ENTRIES]
    assert len(ids) == len(set(ids))
    for entry in ENTRIES:
        assert entry.path.is_file(), entry.id
        assert entry.text.strip(), entry.id
    stored = {path.stem for path in FIXTURES.glob("*.txt")}
    assert stored == set(ids)


def test_every_form_is_used_at_least_as_often_as_the_tests_need() -> None:
    forms = Counter(entry.form for entry in ENTRIES)
    assert set(forms) <= set(FORMS)
    assert forms["docx"] >= 4
    assert forms["pdf-two-column"] >= 3
    assert forms["text-no-breaks"] >= 3
    assert forms["pdf-scanned"] >= 1


@pytest.mark.parametrize("entry", ENTRIES, ids=by_id)
def test_expected_values_are_of_the_allowed_kinds(entry: RealDocument) -> None:
    assert entry.kind in KINDS
    assert entry.expected.position is None or entry.expected.position in POSITIONS
    assert entry.source.strip()
    assert entry.case.title.strip()
    assert entry.expected.summary.strip()
    assert entry.expected.justeras_omedelbart in (True, False, None)


@pytest.mark.parametrize("entry", ENTRIES, ids=by_id)
def test_titles_are_at_most_two_hundred_characters(entry: RealDocument) -> None:
    assert entry.expected.title is None or len(entry.expected.title) <= 200
    assert len(entry.case.title) <= 200


@pytest.mark.parametrize("entry", ENTRIES, ids=by_id)
def test_the_decision_sentence_and_the_stance_occur_in_the_text(entry: RealDocument) -> None:
    text = squash(entry.text)
    for sentence in (entry.expected.decision_sentence, entry.expected.stance):
        if sentence is not None:
            assert squash(sentence) in text


@pytest.mark.parametrize("entry", ENTRIES, ids=by_id)
def test_the_own_diarienummer_and_paragraph_occur_in_the_text(entry: RealDocument) -> None:
    text = squash(entry.text)
    if entry.expected.dnr is not None:
        assert entry.expected.dnr in text
    # "§ 32" is written "32" in Kramfors' list of items; the number itself must be there.
    if entry.expected.paragraph is not None:
        assert entry.expected.paragraph.lstrip("KS§ ") in text


def test_the_scanned_document_expects_nothing_to_be_found() -> None:
    for entry in ENTRIES:
        if entry.form != "pdf-scanned":
            continue
        expected = entry.expected
        assert expected.position is None
        assert expected.dnr is None
        assert expected.decision_sentence is None
        assert expected.decision_date is None
        assert expected.paragraph is None
        assert expected.title is None
        assert expected.stance is None


READABLE = [entry for entry in ENTRIES if entry.form not in ("pdf-scanned", "pdf-two-column")]


@pytest.mark.parametrize("entry", READABLE, ids=by_id)
def test_the_rendered_document_reads_back_with_its_decision_and_stance(
    entry: RealDocument,
) -> None:
    data, kind = render(entry)
    assert data
    if kind == "pdf":
        assert data.startswith(b"%PDF")
    elif kind == "docx":
        assert data.startswith(b"PK")
    text = squash(extracted_text(entry))
    for sentence in (entry.expected.decision_sentence, entry.expected.stance):
        if sentence is not None:
            assert squash(sentence) in text
    if entry.form == "text-no-breaks":
        assert "\n" not in extracted_text(entry)


TWO_COLUMNS = [entry for entry in ENTRIES if entry.form == "pdf-two-column"]


@pytest.mark.parametrize("entry", TWO_COLUMNS, ids=by_id)
def test_a_two_column_pdf_reads_back_with_every_word_of_its_decision_and_stance(
    entry: RealDocument,
) -> None:
    data, _ = render(entry)
    assert data.startswith(b"%PDF")
    words = set(squash(extracted_text(entry)).split())
    for sentence in (entry.expected.decision_sentence, entry.expected.stance):
        if sentence is not None:
            missing = [word for word in squash(sentence).split() if word not in words]
            assert not missing, missing


@pytest.mark.parametrize(
    "entry",
    [e for e in TWO_COLUMNS if e.expected.decision_sentence or e.expected.stance],
    ids=by_id,
)
def test_a_two_column_pdf_reads_back_with_its_sentences_whole(entry: RealDocument) -> None:
    text = squash(extracted_text(entry))
    for sentence in (entry.expected.decision_sentence, entry.expected.stance):
        if sentence is not None:
            assert squash(sentence) in text


def test_the_scanned_pdf_has_no_text_to_extract() -> None:
    scanned = [entry for entry in ENTRIES if entry.form == "pdf-scanned"]
    assert scanned
    for entry in scanned:
        data, kind = render(entry)
        assert kind == "pdf"
        assert data.startswith(b"%PDF")
        assert not extracted_text(entry).strip()
