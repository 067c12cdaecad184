"""Uploaded remissvar: type from content, size limits, zip bombs, corrupt archives, safe names.

Every file is built here from scratch (a real PDF, a DOCX and an ODT made with zipfile), and
every rule has a test with the attack it stops.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
from collections.abc import Sequence
from types import TracebackType

import pytest

from remiss.core.errors import RemissError
from remiss.storage.uploads import (
    CheckedFile,
    UploadError,
    UploadLimits,
    check_file,
    check_files,
    content_disposition,
    detect_kind,
    sanitise_filename,
)
from tests.support.documents import pdf_bytes as make_pdf

MB = 1024 * 1024
DEFAULT = UploadLimits()
PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT_TYPE = "application/vnd.oasis.opendocument.text"
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"

Entries = Sequence[tuple[str | zipfile.ZipInfo, bytes]]


def not_accepted(name: str) -> str:
    return f"Filen {name} är inte en PDF-, Word- (DOCX) eller ODT-fil."


# --- Building real files -------------------------------------------------------------------


CONTENT_TYPES_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)


def document_xml(text: str = "Nämnden tillstyrker förslaget.") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
    ).encode()


def make_zip(
    entries: Entries,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def docx_entries(text: str = "Nämnden tillstyrker förslaget.") -> list[tuple[str, bytes]]:
    return [
        ("[Content_Types].xml", CONTENT_TYPES_XML),
        ("_rels/.rels", RELS_XML),
        ("word/document.xml", document_xml(text)),
    ]


def make_docx(
    extra: Entries | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
    text: str = "Nämnden tillstyrker förslaget.",
) -> bytes:
    entries: list[tuple[str | zipfile.ZipInfo, bytes]] = [*docx_entries(text), *(extra or [])]
    return make_zip(entries, compression)


def stored(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_STORED
    return info


def odt_entries(mimetype: bytes = ODT_MIMETYPE) -> list[tuple[str | zipfile.ZipInfo, bytes]]:
    return [
        (stored("mimetype"), mimetype),
        ("content.xml", b'<?xml version="1.0" encoding="UTF-8"?><office:document-content/>'),
        (
            "META-INF/manifest.xml",
            b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            b'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
        ),
    ]


def make_odt(extra: Entries | None = None) -> bytes:
    return make_zip([*odt_entries(), *(extra or [])])


def make_xlsx() -> bytes:
    return make_zip(
        [
            ("[Content_Types].xml", CONTENT_TYPES_XML),
            ("_rels/.rels", RELS_XML),
            ("xl/workbook.xml", b"<workbook/>"),
            ("xl/worksheets/sheet1.xml", b"<worksheet/>"),
        ]
    )


def zip_of_zeros(
    prefix: Entries,
    name: str,
    size: int,
    *,
    force_zip64: bool = True,
) -> bytes:
    """A zip holding `prefix` and then `size` zero bytes in `name`, streamed 1 MB at a time."""
    buffer = io.BytesIO()
    chunk = bytes(min(size, MB))
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, content in prefix:
            archive.writestr(entry, content)
        with archive.open(name, "w", force_zip64=force_zip64) as stream:
            left = size
            while left > 0:
                stream.write(chunk[:left])
                left -= len(chunk)
    return buffer.getvalue()


def docx_bomb(size: int) -> bytes:
    """A DOCX whose word/document.xml is `size` zero bytes (a zip bomb)."""
    return zip_of_zeros(docx_entries()[:2], "word/document.xml", size)


def patch_central_directory(data: bytes, name: str, offset: int, value: int, fmt: str) -> bytes:
    """`data` with `value` packed at `offset` into the central-directory header of `name`."""
    encoded = name.encode()
    position = data.find(b"PK\x01\x02")
    while position != -1:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46 : position + 46 + name_length] == encoded:
            patched = bytearray(data)
            struct.pack_into(fmt, patched, position + offset, value)
            return bytes(patched)
        position = data.find(b"PK\x01\x02", position + 4)
    raise AssertionError(f"{name} is not in the central directory")


def declare_size(data: bytes, name: str, size: int) -> bytes:
    """`data` with the central directory claiming that entry `name` unpacks to `size` bytes."""
    return patch_central_directory(data, name, 24, size, "<I")


def refused(filename: str, data: bytes, limits: UploadLimits = DEFAULT) -> UploadError:
    with pytest.raises(UploadError) as caught:
        check_file(filename, data, limits)
    return caught.value


# --- The files built here are what they claim to be ----------------------------------------


def test_the_test_files_are_real_documents() -> None:
    pdf = make_pdf()
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.rstrip().endswith(b"%%EOF")
    startxref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[startxref:].startswith(b"xref")
    with zipfile.ZipFile(io.BytesIO(make_docx())) as docx:
        assert docx.testzip() is None
        assert {"[Content_Types].xml", "word/document.xml"} <= set(docx.namelist())
    with zipfile.ZipFile(io.BytesIO(make_odt())) as odt:
        first = odt.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert odt.read(first) == ODT_MIMETYPE


# --- Accepted files --------------------------------------------------------------------------


def test_a_pdf_is_accepted_with_its_content_type() -> None:
    pdf = make_pdf()
    assert check_file("Remissvar KS-2025-348.pdf", pdf, DEFAULT) == CheckedFile(
        filename="Remissvar KS-2025-348.pdf", content_type=PDF_TYPE, kind="pdf", data=pdf
    )


def test_a_docx_is_accepted_with_its_content_type() -> None:
    docx = make_docx()
    checked = check_file("Yttrande från Äldrenämnden.docx", docx, DEFAULT)
    assert checked == CheckedFile(
        filename="Yttrande från Äldrenämnden.docx", content_type=DOCX_TYPE, kind="docx", data=docx
    )


def test_an_odt_is_accepted_with_its_content_type() -> None:
    odt = make_odt()
    assert check_file("svar.odt", odt, DEFAULT) == CheckedFile(
        filename="svar.odt", content_type=ODT_TYPE, kind="odt", data=odt
    )


def test_a_pdf_may_have_bytes_before_its_header_within_the_first_kilobyte() -> None:
    assert detect_kind(b"\xef\xbb\xbf" + make_pdf()) == "pdf"
    assert detect_kind(bytes(1019) + b"%PDF-1.7\n") == "pdf"


def test_a_pdf_header_after_the_first_kilobyte_is_not_enough() -> None:
    data = bytes(1020) + b"%PDF-1.7\n"
    assert detect_kind(data) is None
    assert refused("svar.pdf", data).message == not_accepted("svar.pdf")


@pytest.mark.parametrize(
    ("filename", "kind", "expected"),
    [
        ("svar.pdf", "docx", "svar.docx"),
        ("svar.docx", "pdf", "svar.pdf"),
        ("svar.doc", "docx", "svar.docx"),
        ("svar.pdf", "odt", "svar.odt"),
        ("Svar.PDF", "pdf", "Svar.pdf"),
        ("svar.exe", "pdf", "svar.pdf"),
        ("svar", "pdf", "svar.pdf"),
        ("Remissvar 2024.03.01", "docx", "Remissvar 2024.03.01.docx"),
        ("svar.final.version", "odt", "svar.final.version.odt"),
        ("svar.tar.gz", "pdf", "svar.tar.pdf"),
        ("", "pdf", "dokument.pdf"),
        ("../../etc/passwd", "pdf", "passwd.pdf"),
    ],
)
def test_the_extension_follows_the_content_and_the_stem_is_kept(
    filename: str, kind: str, expected: str
) -> None:
    data = {"pdf": make_pdf(), "docx": make_docx(), "odt": make_odt()}[kind]
    checked = check_file(filename, data, DEFAULT)
    assert (checked.filename, checked.kind) == (expected, kind)


def test_a_corrected_extension_still_fits_in_120_characters() -> None:
    checked = check_file("å" * 116 + ".doc", make_docx(), DEFAULT)
    assert checked.filename == "å" * 115 + ".docx"
    assert len(checked.filename) == 120
    checked = check_file("ö" * 120, make_pdf(), DEFAULT)
    assert checked.filename == "ö" * 116 + ".pdf"


# --- Refused types ---------------------------------------------------------------------------


def test_a_renamed_executable_is_refused() -> None:
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64) + b"PE\x00\x00"
    assert detect_kind(exe) is None
    error = refused("svar.pdf", exe)
    assert error.message == "Filen svar.pdf är inte en PDF-, Word- (DOCX) eller ODT-fil."
    assert error.filename == "svar.pdf"


def test_an_html_file_named_docx_is_refused() -> None:
    html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
    assert detect_kind(html) is None
    assert refused("svar.docx", html).message == not_accepted("svar.docx")


def test_an_empty_file_is_refused() -> None:
    assert detect_kind(b"") is None
    assert refused("svar.pdf", b"").message == not_accepted("svar.pdf")


def test_an_xlsx_is_refused_although_it_is_an_office_zip() -> None:
    assert detect_kind(make_xlsx()) is None
    assert refused("budget.docx", make_xlsx()).message == not_accepted("budget.docx")


def test_a_zip_that_is_not_a_document_is_refused() -> None:
    archive = make_zip([("svar.pdf", make_pdf()), ("virus.exe", b"MZ")])
    assert detect_kind(archive) is None
    assert refused("svar.zip", archive).message == not_accepted("svar.zip")


def test_a_docx_needs_both_content_types_and_the_document() -> None:
    only_types = make_zip([("[Content_Types].xml", CONTENT_TYPES_XML)])
    only_document = make_zip([("word/document.xml", document_xml())])
    assert detect_kind(only_types) is None
    assert detect_kind(only_document) is None


def test_a_pdf_inside_a_zip_is_not_taken_for_a_pdf() -> None:
    archive = make_zip([("svar.pdf", make_pdf())], compression=zipfile.ZIP_STORED)
    assert b"%PDF-" in archive[:1024]
    assert detect_kind(archive) is None


@pytest.mark.parametrize(
    ("case", "data"),
    [
        (
            "mimetype compressed",
            make_zip(
                [("mimetype", ODT_MIMETYPE), *odt_entries()[1:]], compression=zipfile.ZIP_DEFLATED
            ),
        ),
        ("mimetype not first", make_zip([*odt_entries()[1:], (stored("mimetype"), ODT_MIMETYPE)])),
        (
            "a spreadsheet",
            make_zip(odt_entries(b"application/vnd.oasis.opendocument.spreadsheet")),
        ),
        ("a newline after the type", make_zip(odt_entries(ODT_MIMETYPE + b"\n"))),
        ("a text template", make_zip(odt_entries(ODT_MIMETYPE + b"-template"))),
        ("no mimetype at all", make_zip(odt_entries()[1:])),
    ],
)
def test_an_odt_needs_the_exact_stored_mimetype_as_its_first_entry(case: str, data: bytes) -> None:
    assert detect_kind(data) is None, case
    assert refused("svar.odt", data).message == not_accepted("svar.odt")


# --- Zip bombs -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_bomb() -> bytes:
    """300 MB of zeros in word/document.xml, a few hundred kB packed."""
    return docx_bomb(300 * MB)


def test_a_zip_bomb_is_refused_with_the_default_limits(big_bomb: bytes) -> None:
    assert len(big_bomb) < MB
    assert detect_kind(big_bomb) == "docx"
    error = refused("svar.docx", big_bomb)
    assert error.message == (
        "Filen svar.docx blir för stor när den packas upp (högst 200 MB) och kan inte tas emot."
    )
    assert error.filename == "svar.docx"


def test_a_zip_bomb_is_refused_by_the_declared_sizes_before_anything_is_unpacked(
    big_bomb: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("an entry was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", must_not_open)
    assert "packas upp" in refused("svar.docx", big_bomb).message


def test_the_unpacked_limit_counts_all_entries_together() -> None:
    limits = UploadLimits(max_unzipped_bytes=100_000, max_zip_ratio=1e9)
    half = [(f"word/media/part{i}.bin", bytes(60_000)) for i in range(2)]
    error = refused("svar.docx", make_docx(extra=[*half]), limits)
    assert error.message == (
        "Filen svar.docx blir för stor när den packas upp (högst 97,7 kB) och kan inte tas emot."
    )
    assert check_file("svar.docx", make_docx(extra=half[:1]), limits).kind == "docx"


def test_a_highly_compressed_archive_is_refused_by_its_ratio() -> None:
    bomb = docx_bomb(2 * MB)
    limits = UploadLimits(max_unzipped_bytes=1024 * MB)
    error = refused("svar.docx", bomb, limits)
    assert error.message == (
        "Filen svar.docx är packad på ett misstänkt sätt (en så kallad zipbomb) och kan inte "
        "tas emot."
    )
    assert check_file("svar.docx", bomb, UploadLimits(max_zip_ratio=10_000)).kind == "docx"


def test_an_odt_bomb_is_refused_too() -> None:
    bomb = zip_of_zeros([odt_entries()[0]], "content.xml", 3 * MB)
    assert detect_kind(bomb) == "odt"
    error = refused("svar.odt", bomb, UploadLimits(max_unzipped_bytes=2 * MB))
    assert "blir för stor när den packas upp (högst 2 MB)" in error.message


def test_declared_sizes_that_lie_are_caught_by_the_crc() -> None:
    # 50 MB of zeros whose directory claims 1000 bytes: zipfile stops at the claim and the
    # CRC of what came out does not match.
    bomb = declare_size(
        zip_of_zeros(docx_entries()[:2], "word/document.xml", 50 * MB, force_zip64=False),
        "word/document.xml",
        1000,
    )
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        assert archive.getinfo("word/document.xml").file_size == 1000
    error = refused("svar.docx", bomb)
    assert error.message == (
        "Filen svar.docx är skadad och kan inte läsas. Spara den på nytt och försök igen."
    )


class EndlessZeros:
    """An entry stream that never ends, as if its declared size were a lie."""

    def __init__(self) -> None:
        self.produced = 0

    def read(self, size: int = -1) -> bytes:
        chunk = bytes(size if size > 0 else MB)
        self.produced += len(chunk)
        return chunk

    def __enter__(self) -> EndlessZeros:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (UploadLimits(max_unzipped_bytes=MB, max_zip_ratio=1e12), "packas upp (högst 1 MB)"),
        (UploadLimits(max_unzipped_bytes=1024 * MB, max_zip_ratio=1000.0), "zipbomb"),
    ],
)
def test_unpacking_stops_once_more_than_the_limit_has_come_out(
    limits: UploadLimits, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docx = make_docx()
    streams: list[EndlessZeros] = []

    def endless_open(*args: object, **kwargs: object) -> EndlessZeros:
        streams.append(EndlessZeros())
        return streams[-1]

    monkeypatch.setattr(zipfile.ZipFile, "open", endless_open)
    assert message in refused("svar.docx", docx, limits).message
    budget = min(limits.max_unzipped_bytes, limits.max_zip_ratio * len(docx))
    assert len(streams) == 1
    assert budget < streams[0].produced <= budget + 64 * 1024


def test_too_many_entries_are_refused() -> None:
    limits = UploadLimits(max_zip_entries=5)
    five = make_docx(extra=[("word/styles.xml", b"<w:styles/>"), ("docProps/app.xml", b"<a/>")])
    six = make_docx(
        extra=[
            ("word/styles.xml", b"<w:styles/>"),
            ("docProps/app.xml", b"<a/>"),
            ("docProps/core.xml", b"<c/>"),
        ]
    )
    assert check_file("svar.docx", five, limits).kind == "docx"
    error = refused("svar.docx", six, limits)
    assert error.message == (
        "Filen svar.docx består av för många delar (högst 5) och kan inte tas emot."
    )


def test_a_huge_directory_is_refused_before_zipfile_parses_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    many = make_docx(extra=[(f"x/{i}", b"") for i in range(12_001)], compression=zipfile.ZIP_STORED)

    def must_not_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("zipfile parsed the directory")

    monkeypatch.setattr(zipfile, "ZipFile", must_not_parse)
    assert detect_kind(many) is None
    assert refused("svar.docx", many).message == (
        "Filen svar.docx består av för många delar (högst 2 000) och kan inte tas emot."
    )


def test_the_directory_signature_inside_a_stored_part_does_not_refuse_a_real_document() -> None:
    embedded = stored("word/embeddings/Kalkyl.xlsx")
    docx = make_docx(extra=[(embedded, b"PK\x01\x02" * 5000)])
    assert check_file("svar.docx", docx, DEFAULT).kind == "docx"


# --- Unsafe entries and corrupt archives ---------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        "../../evil.sh",
        "word/../../../evil.xml",
        "..",
        "..\\..\\Windows\\evil.dll",
        "word\\..\\..\\evil.xml",
        "/etc/cron.d/evil",
        "\\Windows\\evil.dll",
        "C:/Windows/evil.dll",
        "c:evil.dll",
    ],
)
def test_an_entry_that_escapes_the_archive_is_refused(entry: str) -> None:
    docx = make_docx(extra=[(zipfile.ZipInfo(entry), b"x")])
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        assert entry in archive.namelist()
    error = refused("svar.docx", docx)
    assert error.message == "Filen svar.docx innehåller otillåtna sökvägar och kan inte tas emot."


def test_two_dots_inside_a_name_are_not_a_path_escape() -> None:
    docx = make_docx(extra=[("word/media/bild..png", b"png"), ("word/...", b"x")])
    assert check_file("svar.docx", docx, DEFAULT).kind == "docx"


CORRUPT = "Filen svar.docx är skadad och kan inte läsas. Spara den på nytt och försök igen."


def test_a_truncated_zip_is_refused_as_corrupt() -> None:
    docx = make_docx()
    truncated = docx[: len(docx) // 2]
    assert detect_kind(truncated) is None
    assert refused("svar.docx", truncated).message == CORRUPT


def test_garbage_behind_a_zip_header_is_refused_as_corrupt() -> None:
    assert refused("svar.docx", b"PK\x03\x04" + bytes(range(256)) * 4).message == CORRUPT


def test_a_bad_crc_is_refused_as_corrupt() -> None:
    docx = make_docx(compression=zipfile.ZIP_STORED, text="Nämnden tillstyrker förslaget.")
    position = docx.find(b"tillstyrker")
    damaged = docx[:position] + b"avstyrker  " + docx[position + len(b"tillstyrker") :]
    assert len(damaged) == len(docx)
    assert detect_kind(damaged) == "docx"  # the directory is intact; only reading finds it
    assert refused("svar.docx", damaged).message == CORRUPT


def test_a_damaged_deflate_stream_is_refused_as_corrupt() -> None:
    docx = make_docx(text="Nämnden tillstyrker förslaget. " * 200)
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        info = archive.getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename.encode())
    damaged = bytearray(docx)
    damaged[start : start + 40] = b"\xff" * 40
    assert refused("svar.docx", bytes(damaged)).message == CORRUPT


def test_duplicate_entry_names_are_refused_as_corrupt() -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        docx = make_docx(extra=[("word/document.xml", document_xml("Något annat."))])
    assert refused("svar.docx", docx).message == CORRUPT


def test_an_encrypted_entry_is_refused() -> None:
    docx = make_docx(extra=[("word/settings.xml", b"\x00" * 40)])
    docx = patch_central_directory(docx, "word/settings.xml", 8, 0x1, "<H")
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        assert archive.getinfo("word/settings.xml").flag_bits & 0x1
    assert refused("svar.docx", docx).message == (
        "Filen svar.docx är lösenordsskyddad. Ta bort lösenordet och försök igen."
    )


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_compression_that_office_does_not_use_is_refused(method: int) -> None:
    docx = make_docx(compression=method)
    assert refused("svar.docx", docx).message == (
        "Filen svar.docx är packad på ett sätt som inte stöds och kan inte läsas."
    )


# --- Size and count limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "text"),
    [
        (25 * MB, "högst 25 MB"),
        (5 * MB // 2, "högst 2,5 MB"),
        (512 * 1024, "högst 512 kB"),
        (1000, "högst 1000 byte"),
    ],
)
def test_a_file_over_the_limit_is_refused_with_the_limit_in_swedish(limit: int, text: str) -> None:
    pdf = make_pdf()
    data = pdf + bytes(limit + 1 - len(pdf))
    error = refused("stort svar.pdf", data, UploadLimits(max_file_bytes=limit))
    assert error.message == f"Filen stort svar.pdf är för stor. En fil får vara {text}."
    assert error.filename == "stort svar.pdf"
    assert check_file("svar.pdf", data[:limit], UploadLimits(max_file_bytes=limit)).kind == "pdf"


def test_the_size_limit_is_checked_before_the_content() -> None:
    error = refused("svar.docx", docx_bomb(2 * MB), UploadLimits(max_file_bytes=1024))
    assert "är för stor. En fil får vara högst 1 kB." in error.message


def test_an_empty_upload_is_refused() -> None:
    with pytest.raises(UploadError) as caught:
        check_files([], DEFAULT)
    assert caught.value.message == "Bifoga minst en fil."
    assert caught.value.filename is None


def test_too_many_files_are_refused() -> None:
    pdf = make_pdf()
    with pytest.raises(UploadError) as caught:
        check_files([(f"svar{i}.pdf", pdf) for i in range(11)], DEFAULT)
    assert caught.value.message == "Ni kan bifoga högst tio filer."
    with pytest.raises(UploadError) as caught:
        check_files([("a.pdf", pdf), ("b.pdf", pdf)], UploadLimits(max_files=1))
    assert caught.value.message == "Ni kan bifoga högst en fil."
    assert len(check_files([(f"svar{i}.pdf", pdf) for i in range(10)], DEFAULT)) == 10


def test_a_total_over_the_limit_is_refused() -> None:
    pdf = make_pdf()
    part = pdf + bytes(MB - len(pdf))
    limits = UploadLimits(max_file_bytes=MB, max_total_bytes=5 * MB // 2)
    with pytest.raises(UploadError) as caught:
        check_files([("a.pdf", part), ("b.pdf", part), ("c.pdf", part)], limits)
    assert caught.value.message == (
        "Filerna är för stora tillsammans. De får vara högst 2,5 MB sammanlagt."
    )
    assert len(check_files([("a.pdf", part), ("b.pdf", part)], limits)) == 2


def test_one_file_over_its_limit_is_named_in_a_list() -> None:
    pdf = make_pdf()
    with pytest.raises(UploadError) as caught:
        check_files(
            [("liten.pdf", pdf), ("../stor.pdf", pdf + bytes(2048))],
            UploadLimits(max_file_bytes=2048),
        )
    assert caught.value.message == "Filen stor.pdf är för stor. En fil får vara högst 2 kB."
    assert caught.value.filename == "stor.pdf"


def test_a_list_is_checked_file_by_file_in_order() -> None:
    pdf, docx, odt = make_pdf(), make_docx(), make_odt()
    checked = check_files([("svar.pdf", pdf), ("bilaga.pdf", docx), ("protokoll", odt)], DEFAULT)
    assert [(c.filename, c.kind, c.content_type) for c in checked] == [
        ("svar.pdf", "pdf", PDF_TYPE),
        ("bilaga.docx", "docx", DOCX_TYPE),
        ("protokoll.odt", "odt", ODT_TYPE),
    ]
    assert [c.data for c in checked] == [pdf, docx, odt]


def test_one_bad_file_refuses_the_list_and_is_named() -> None:
    with pytest.raises(UploadError) as caught:
        check_files([("svar.pdf", make_pdf()), ("C:\\temp\\bilaga.pdf", b"MZ\x90\x00")], DEFAULT)
    assert caught.value.message == not_accepted("bilaga.pdf")
    assert caught.value.filename == "bilaga.pdf"


def test_upload_error_is_a_remiss_error_that_prints_its_message() -> None:
    error = UploadError("Bifoga minst en fil.")
    assert isinstance(error, RemissError)
    assert str(error) == "Bifoga minst en fil."


# --- File names ------------------------------------------------------------------------------


SWEDISH_NAME = "Svar från Äldrenämnden (slutlig), v-2_ö.pdf"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Windows\\x.pdf", "x.pdf"),
        ("..\\..\\a.pdf", "a.pdf"),
        ("/var/www/../svar.pdf", "svar.pdf"),
        ("uppladdat/svar\\..\\..\\svar.pdf", "svar.pdf"),
        ("svar\x00.exe.pdf", "svar.exe.pdf"),
        ("svar\r\nSet-Cookie: x=1.pdf", "svarSet-Cookie x=1.pdf"),
        ("svar\n.pdf", "svar.pdf"),
        ("svar\u202efdp.exe", "svarfdp.exe"),
        ("sv\u200bar.pdf", "svar.pdf"),
        ('a<b>c:d"e|f?g*h.pdf', "abcdefgh.pdf"),
        ("..svar.pdf", "svar.pdf"),
        (".htaccess", "htaccess"),
        ("  . svar.pdf", "svar.pdf"),
        ("svar. ", "svar"),
        ("Yttrande   från\tnämnden\u00a0.pdf", "Yttrande frånnämnden .pdf"),
        ("Yttrande\u00a0\u2003från nämnden.pdf", "Yttrande från nämnden.pdf"),
        (
            "Svar från Äldrenämnden (slutlig), v-2_ö.pdf",
            "Svar från Äldrenämnden (slutlig), v-2_ö.pdf",
        ),
        ("a\u030angström ka\u0308rna.odt", "ångström kärna.odt"),
        ("", "dokument"),
        ("...", "dokument"),
        ("../", "dokument"),
        ('<>:"|?*', "dokument"),
        ("\x00\x01\x1f\x7f", "dokument"),
    ],
)
def test_sanitise_filename(raw: str, clean: str) -> None:
    assert sanitise_filename(raw) == clean


def test_a_long_name_is_capped_at_120_characters_keeping_the_extension() -> None:
    name = sanitise_filename("Remissvar " + "ä" * 300 + ".docx")
    assert len(name) == 120
    assert name.endswith("ä.docx")
    assert name.startswith("Remissvar ä")
    assert sanitise_filename("x" * 200) == "x" * 120
    assert sanitise_filename("x" * 115 + " " + "y" * 10 + ".pdf") == "x" * 115 + ".pdf"


def test_a_sanitised_name_is_stable() -> None:
    for raw in ["../../etc/passwd.pdf", "  .. svar  (1) .pdf", "ä" * 300 + ".pdf", ""]:
        once = sanitise_filename(raw)
        assert sanitise_filename(once) == once


def test_content_disposition_gives_an_ascii_fallback_and_the_utf8_name() -> None:
    header = content_disposition("Svar från Äldrenämnden (slutlig).pdf")
    assert header == (
        'attachment; filename="Svar fran Aldrenamnden (slutlig).pdf"; '
        "filename*=UTF-8''Svar%20fr%C3%A5n%20%C3%84ldren%C3%A4mnden%20%28slutlig%29.pdf"
    )
    assert content_disposition("svar.pdf", inline=True) == (
        "inline; filename=\"svar.pdf\"; filename*=UTF-8''svar.pdf"
    )


def test_content_disposition_cannot_be_broken_out_of() -> None:
    header = content_disposition('a"; filename=evil.exe\r\nSet-Cookie: x=1;%.pdf €')
    assert "\r" not in header
    assert "\n" not in header
    quoted = header.split('filename="', 1)[1].split('"', 1)[0]
    assert quoted == "a_ filename_evil.exeSet-Cookie x_1__.pdf _"
    assert header.count('"') == 2


def test_damaged_archives_only_ever_raise_upload_error() -> None:
    rng = random.Random(20251124)
    originals = [make_docx(), make_odt(), make_docx(compression=zipfile.ZIP_STORED)]
    for _ in range(2000):
        data = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(data))
            action = rng.random()
            if action < 0.6:
                data[position] = rng.randrange(256)
            elif action < 0.8:
                del data[position : position + rng.randint(1, 50)]
            else:
                data[position:position] = rng.randbytes(rng.randint(1, 20))
        assert detect_kind(bytes(data)) in {None, "docx", "odt"}
        outcome: CheckedFile | UploadError
        try:
            outcome = check_file("svar.docx", bytes(data), DEFAULT)
        except UploadError as error:
            outcome = error
        if isinstance(outcome, UploadError):
            assert outcome.filename == "svar.docx"
        else:
            assert outcome.kind in {"docx", "odt"}
