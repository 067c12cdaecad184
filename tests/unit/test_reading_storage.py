"""A file's reading is stored as JSON on arrival and read back unchanged (report/reading.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from remiss.report.answer_reading import for_storage, is_current
from remiss.report.reading import read_document, reading_as_json, reading_from_json

REAL = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "real").glob("*.txt"))


@pytest.mark.parametrize("path", REAL, ids=[p.stem for p in REAL])
def test_every_real_documents_reading_comes_back_from_json_as_it_was_read(path: Path) -> None:
    reading = read_document(path.read_text(encoding="utf-8"), case_dnr="KS 2025/1")
    stored = json.loads(json.dumps(reading_as_json(reading)))
    assert reading_from_json(stored) == reading


def test_the_real_corpus_is_there_to_test_on() -> None:
    assert len(REAL) >= 20


def test_a_stored_reading_counts_only_for_the_case_and_reader_version_it_was_read_for() -> None:
    stored = json.loads(
        json.dumps(for_storage(REAL[0].read_text(), case_dnr="KS 1", case_title="A"))
    )
    assert is_current(stored, case_dnr="KS 1", case_title="A")
    assert not is_current(stored, case_dnr="KS 2", case_title="A")
    assert not is_current(stored, case_dnr="KS 1", case_title="B")
    assert not is_current(
        stored | {"version": stored["version"] - 1}, case_dnr="KS 1", case_title="A"
    )
    assert not is_current(None, case_dnr="KS 1", case_title="A")
