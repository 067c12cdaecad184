"""Checks of uploaded remissvar before they are stored: type, size, zip bombs and file names.

Pure functions over bytes: nothing is written, nothing is read from disk. The type of a
file is decided from its content only (PDF, DOCX or ODT); the name the browser sent is only
cleaned for display and given the extension that matches the content. DOCX and ODT are zip
archives, so they are checked for zip bombs (declared and actual uncompressed size, packing
ratio, number of entries), for unsafe entry names and for corruption (every entry is read in
chunks and its CRC checked, stopping as soon as too much has come out). What matters is what a
file becomes, not its size: the XML parts of a DOCX or ODT (the text and its formatting, which
text extraction parses) are bounded on their own, well below the limit for the whole archive
(pictures may be large; a 3 MB file whose document.xml unpacks to 190 MB may not), and a PDF
may have at most so many pages.

Every refusal is an `UploadError` whose message is a plain Swedish sentence for the official.
"""

from __future__ import annotations

import io
import re
import struct
import threading
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from urllib.parse import quote

from remiss.core.errors import RemissError
from remiss.core.language import count
from remiss.core.settings import Settings

PDF = "pdf"
DOCX = "docx"
ODT = "odt"

CONTENT_TYPES: dict[str, str] = {
    PDF: "application/pdf",
    DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ODT: "application/vnd.oasis.opendocument.text",
}

MAX_FILENAME_CHARS = 120
DEFAULT_FILENAME = "dokument"

_MB = 1024 * 1024
_PDF_MAGIC = b"%PDF-"
_PDF_WINDOW = 1024
_ZIP_MAGIC = b"PK\x03\x04"
_CENTRAL_DIR_SIGNATURE = b"PK\x01\x02"
_ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
_DOCX_REQUIRED = frozenset({"[Content_Types].xml", "word/document.xml"})
_READ_CHUNK = 64 * 1024
_ENCRYPTED_FLAG = 0x1
# Compression methods that DOCX and ODT writers use. Others (bzip2, LZMA) are refused: zipfile
# decompresses them without an output bound per read, so a small chunk could expand hugely.
_ALLOWED_COMPRESSION = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# zipfile parses the whole central directory into ZipInfo objects (about 500 bytes each) before
# we can count them. Every parsed entry starts with the central-directory signature, so counting
# the signature bounds that work; the slack allows for the signature inside stored nested
# archives (an embedded spreadsheet) without refusing a real document.
_CENTRAL_DIR_SLACK = 10_000
# What zipfile (and zlib under it) raise for a damaged or unreadable archive.
_ZIP_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,  # also zipfile's error for a compression method it cannot read
    zlib.error,
    struct.error,
)

_FORBIDDEN_CHARS = frozenset('<>:"/\\|?*')
_PATH_SEPARATORS = re.compile(r"[/\\]")
# An extension is a dot and 1-4 ASCII letters or digits, starting with a letter (".pdf",
# ".docx", ".exe"); "Svar 2024.03.01" has none, so nothing of the name is lost.
_EXTENSION = re.compile(r"(?P<stem>.+)(?P<ext>\.[A-Za-z][A-Za-z0-9]{0,3})")
_DRIVE = re.compile(r"[A-Za-z]:")

NOT_ACCEPTED = "Filen {name} är inte en PDF-, Word- (DOCX) eller ODT-fil."


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int = 25 * _MB
    max_total_bytes: int = 100 * _MB
    max_files: int = 10
    max_unzipped_bytes: int = 200 * _MB  # sum of uncompressed sizes inside a DOCX/ODT
    max_zip_ratio: float = 100.0  # uncompressed/compressed, whole archive
    max_zip_entries: int = 2000
    # The XML parts of a DOCX or ODT together, as actually unpacked. A long tjänsteutlåtande
    # has 1-3 MB of XML; 200 pages of dense tables stay under 20 MB.
    max_xml_bytes: int = 32 * _MB
    max_pdf_pages: int = 2000


@dataclass(frozen=True)
class CheckedFile:
    filename: str  # sanitised, safe to show and to use in Content-Disposition
    content_type: str  # decided from the content, never from the name
    kind: str  # "pdf" | "docx" | "odt"
    data: bytes
    # False for a file that starts like a PDF but that pdfium cannot open (damaged, not a
    # PDF at all, or locked with a password): kept as sent, but its text cannot be read.
    readable: bool = True


UNREADABLE_PDF = (
    "Filen ser ut som en PDF men kunde inte öppnas, så texten i den kan inte läsas. "
    "Skicka en läsbar version av filen (spara den på nytt som PDF, utan lösenord)."
)


class UploadError(RemissError):
    """An upload that is refused.

    `message` is a plain Swedish sentence for the official and names the file when there is
    one; `filename` is that (sanitised) name, or None for errors about the whole upload.
    """

    def __init__(self, message: str, *, filename: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.filename = filename

    def __str__(self) -> str:
        return self.message


# --- File names ---------------------------------------------------------------------------


def upload_limits(settings: Settings) -> UploadLimits:
    """The limits an operator set (upload_max_*), for the answer page and e-mailed answers."""
    return UploadLimits(
        max_file_bytes=settings.upload_max_file_mb * _MB,
        max_total_bytes=settings.upload_max_total_mb * _MB,
        max_files=settings.upload_max_files,
    )


def limits_sentence(limits: UploadLimits) -> str:
    """The limits as the answer page states them before anyone chooses a file."""
    return (
        f"Högst {count(limits.max_files, 'fil', 'filer')}, högst "
        f"{_format_size(limits.max_file_bytes)} per fil och {_format_size(limits.max_total_bytes)} "
        "sammanlagt."
    )


def sanitise_filename(name: str) -> str:
    """A file name that is safe to show, to store and to send in Content-Disposition.

    Keeps only the last path component (both `/` and `\\` count as separators), removes
    control and format characters (also NUL, newlines and bidi overrides) and `<>:"/\\|?*`,
    turns other whitespace into single spaces, strips leading and trailing dots and spaces,
    normalises to NFC and caps the name at 120 characters keeping the extension. Swedish
    letters and ordinary punctuation stay. A name with nothing left becomes "dokument".
    """
    last = _PATH_SEPARATORS.split(name)[-1]
    kept: list[str] = []
    for char in last:
        if unicodedata.category(char).startswith("C") or char in _FORBIDDEN_CHARS:
            continue
        kept.append(" " if char.isspace() else char)
    cleaned = " ".join(unicodedata.normalize("NFC", "".join(kept)).split())
    cleaned = cleaned.strip(". ")
    if not cleaned:
        return DEFAULT_FILENAME
    return _cap_length(cleaned)


def _split_extension(name: str) -> tuple[str, str]:
    match = _EXTENSION.fullmatch(name)
    if match is None:
        return name, ""
    return match["stem"], match["ext"]


def _cap_length(name: str) -> str:
    if len(name) <= MAX_FILENAME_CHARS:
        return name
    stem, ext = _split_extension(name)
    stem = stem[: MAX_FILENAME_CHARS - len(ext)].rstrip(". ")
    return (stem or DEFAULT_FILENAME) + ext


def with_extension(name: str, kind: str) -> str:
    """`name` (already sanitised) with its extension replaced by, or added as, `.kind`."""
    stem, _ = _split_extension(name)
    return _cap_length(f"{stem}.{kind}")


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A Content-Disposition header value for `filename` (RFC 6266 with an RFC 5987 name).

    The quoted `filename` is an ASCII fallback (åäö become aao); `filename*` carries the full
    UTF-8 name percent-encoded. The name is sanitised first, so any string may be passed.
    """
    name = sanitise_filename(filename)
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    fallback = re.sub(r"[^A-Za-z0-9 ._,()\-]", "_", ascii_only)
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# --- Type detection -----------------------------------------------------------------------


def detect_kind(data: bytes) -> str | None:
    """ "pdf", "docx" or "odt" decided from the bytes alone, or None for anything else.

    A zip (starting with a local file header) is DOCX when it holds `[Content_Types].xml` and
    `word/document.xml`, ODT when its first entry, at offset 0, is `mimetype`, stored, holding
    exactly `application/vnd.oasis.opendocument.text`; any other zip, or one zipfile cannot
    open, is None. Otherwise `%PDF-` within the first 1024 bytes makes a PDF. Only the
    directory and the 39-byte mimetype are read: the integrity and zip-bomb checks are done by
    `check_file`, not here.
    """
    if data.startswith(_ZIP_MAGIC):
        if _central_dir_signatures(data) > UploadLimits().max_zip_entries + _CENTRAL_DIR_SLACK:
            return None
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return _zip_kind(archive)
        except _ZIP_ERRORS:
            return None
    if _PDF_MAGIC in data[:_PDF_WINDOW]:
        return PDF
    return None


def _central_dir_signatures(data: bytes) -> int:
    return data.count(_CENTRAL_DIR_SIGNATURE)


def _zip_kind(archive: zipfile.ZipFile) -> str | None:
    entries = archive.infolist()
    if entries and _is_odt_mimetype(entries[0]) and archive.read(entries[0]) == _ODT_MIMETYPE:
        return ODT
    if {entry.filename for entry in entries} >= _DOCX_REQUIRED:
        return DOCX
    return None


def _is_odt_mimetype(entry: zipfile.ZipInfo) -> bool:
    return (
        entry.filename == "mimetype"
        and entry.header_offset == 0
        and entry.compress_type == zipfile.ZIP_STORED
        and not entry.flag_bits & _ENCRYPTED_FLAG
        and entry.file_size == entry.compress_size == len(_ODT_MIMETYPE)
    )


# --- Checks -------------------------------------------------------------------------------


def check_file(filename: str, data: bytes, limits: UploadLimits) -> CheckedFile:
    """Accept one uploaded file or raise UploadError.

    The returned name is sanitised and carries the extension of the detected kind (the stem
    is kept: "svar.PDF" → "svar.pdf", a DOCX sent as "svar.pdf" → "svar.docx").
    """
    name = sanitise_filename(filename)
    if len(data) > limits.max_file_bytes:
        raise _too_big(name, limits)
    readable = True
    if data.startswith(_ZIP_MAGIC):
        kind = _check_zip(name, data, limits)
    elif _PDF_MAGIC in data[:_PDF_WINDOW]:
        kind = PDF
        readable = _check_pdf(name, data, limits)
    else:
        raise UploadError(NOT_ACCEPTED.format(name=name), filename=name)
    return CheckedFile(
        filename=with_extension(name, kind),
        content_type=CONTENT_TYPES[kind],
        kind=kind,
        data=data,
        readable=readable,
    )


def check_files(files: list[tuple[str, bytes]], limits: UploadLimits) -> list[CheckedFile]:
    """Accept a whole upload (name and bytes per file, in order) or raise UploadError.

    The cheap checks (number of files, size of each, total size) run before any content is
    inspected; then each file goes through `check_file`. The first problem found is raised.
    """
    if not files:
        raise UploadError("Bifoga minst en fil.")
    if len(files) > limits.max_files:
        raise UploadError(f"Ni kan bifoga högst {count(limits.max_files, 'fil', 'filer')}.")
    for filename, data in files:
        if len(data) > limits.max_file_bytes:
            raise _too_big(sanitise_filename(filename), limits)
    if sum(len(data) for _, data in files) > limits.max_total_bytes:
        raise UploadError(
            "Filerna är för stora tillsammans. De får vara högst "
            f"{_format_size(limits.max_total_bytes)} sammanlagt."
        )
    return [check_file(filename, data, limits) for filename, data in files]


def _too_big(name: str, limits: UploadLimits) -> UploadError:
    return UploadError(
        f"Filen {name} är för stor. En fil får vara högst {_format_size(limits.max_file_bytes)}.",
        filename=name,
    )


def _check_zip(name: str, data: bytes, limits: UploadLimits) -> str:
    if _central_dir_signatures(data) > limits.max_zip_entries + _CENTRAL_DIR_SLACK:
        raise _too_many_entries(name, limits)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            kind = _zip_kind(archive)
            if kind is None:
                raise UploadError(NOT_ACCEPTED.format(name=name), filename=name)
            _check_archive(name, archive, len(data), limits)
            return kind
    except _ZIP_ERRORS as exc:
        raise UploadError(
            f"Filen {name} är skadad och kan inte läsas. Spara den på nytt och försök igen.",
            filename=name,
        ) from exc


def _check_archive(
    name: str, archive: zipfile.ZipFile, archive_bytes: int, limits: UploadLimits
) -> None:
    entries = archive.infolist()
    if len(entries) > limits.max_zip_entries:
        raise _too_many_entries(name, limits)
    seen: set[str] = set()
    for entry in entries:
        if _unsafe_entry_name(entry.filename):
            raise UploadError(
                f"Filen {name} innehåller otillåtna sökvägar och kan inte tas emot.",
                filename=name,
            )
        if entry.filename in seen:
            raise zipfile.BadZipFile(f"duplicate entry {entry.filename!r}")
        seen.add(entry.filename)
        if entry.flag_bits & _ENCRYPTED_FLAG:
            raise UploadError(
                f"Filen {name} är lösenordsskyddad. Ta bort lösenordet och försök igen.",
                filename=name,
            )
        if entry.compress_type not in _ALLOWED_COMPRESSION:
            raise UploadError(
                f"Filen {name} är packad på ett sätt som inte stöds och kan inte läsas.",
                filename=name,
            )

    ratio_cap = limits.max_zip_ratio * archive_bytes
    declared = sum(entry.file_size for entry in entries)
    if declared > limits.max_unzipped_bytes:
        raise _unzips_too_big(name, limits)
    if declared > ratio_cap:
        raise _packed_suspiciously(name)
    if sum(e.file_size for e in entries if _is_xml(e.filename)) > limits.max_xml_bytes:
        raise _too_much_text(name, limits)

    # Declared sizes can lie: read everything (zipfile checks each CRC at the end of an entry)
    # in chunks, and stop as soon as more than the limits has actually come out.
    produced = 0
    produced_xml = 0
    for entry in entries:
        xml = _is_xml(entry.filename)
        with archive.open(entry) as stream:
            while chunk := stream.read(_READ_CHUNK):
                produced += len(chunk)
                if produced > limits.max_unzipped_bytes:
                    raise _unzips_too_big(name, limits)
                if produced > ratio_cap:
                    raise _packed_suspiciously(name)
                if xml:
                    produced_xml += len(chunk)
                    if produced_xml > limits.max_xml_bytes:
                        raise _too_much_text(name, limits)


def _is_xml(entry_name: str) -> bool:
    """A part that text extraction parses as XML (DOCX: word/*.xml and the .rels; ODT:
    content.xml, styles.xml, the manifest)."""
    return entry_name.lower().endswith((".xml", ".rels"))


def _check_pdf(name: str, data: bytes, limits: UploadLimits) -> bool:
    """Refuse a PDF with more pages than anyone reads; whether pdfium can open it. pdfium
    only reads the page tree here, not the pages. A PDF it cannot open is let through (the
    answer is kept as it was sent), and the official is told its text cannot be read."""
    pages = pdf_page_count(data)
    if pages is not None and pages > limits.max_pdf_pages:
        raise UploadError(
            f"Filen {name} har för många sidor (högst {_format_count(limits.max_pdf_pages)}) "
            "och kan inte tas emot.",
            filename=name,
        )
    return bool(pages)


# pdfium is not thread-safe: one call at a time in this process (text extraction, when run
# in-process, takes the same lock).
PDFIUM_LOCK = threading.Lock()


def pdf_page_count(data: bytes) -> int | None:
    """The number of pages pdfium finds, or None when it cannot open the file."""
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError:
            return None
        try:
            return len(pdf)
        finally:
            pdf.close()


def _unsafe_entry_name(entry_name: str) -> bool:
    if entry_name.startswith(("/", "\\")) or _DRIVE.match(entry_name):
        return True
    return ".." in _PATH_SEPARATORS.split(entry_name)


def _too_many_entries(name: str, limits: UploadLimits) -> UploadError:
    return UploadError(
        f"Filen {name} består av för många delar (högst {_format_count(limits.max_zip_entries)}) "
        "och kan inte tas emot.",
        filename=name,
    )


def _unzips_too_big(name: str, limits: UploadLimits) -> UploadError:
    return UploadError(
        f"Filen {name} blir för stor när den packas upp (högst "
        f"{_format_size(limits.max_unzipped_bytes)}) och kan inte tas emot.",
        filename=name,
    )


def _too_much_text(name: str, limits: UploadLimits) -> UploadError:
    return UploadError(
        f"Filen {name} innehåller för mycket text och formatering när den packas upp (högst "
        f"{_format_size(limits.max_xml_bytes)}) och kan inte tas emot. Dela upp dokumentet "
        "eller spara det som PDF och försök igen.",
        filename=name,
    )


def _packed_suspiciously(name: str) -> UploadError:
    return UploadError(
        f"Filen {name} är packad på ett misstänkt sätt (en så kallad zipbomb) och kan inte "
        "tas emot.",
        filename=name,
    )


# --- Swedish numbers ----------------------------------------------------------------------


def _format_size(size: int) -> str:
    """25 MB, 2,5 MB, 512 kB, 100 byte (1 MB = 1024 × 1024 byte)."""
    for unit, factor in (("MB", _MB), ("kB", 1024)):
        if size >= factor:
            return f"{_format_number(size / factor)} {unit}"
    return f"{size} byte"


def _format_number(value: float) -> str:
    rounded = round(value, 1)
    if rounded == int(rounded):
        return _format_count(int(rounded))
    whole, decimals = f"{rounded:.1f}".split(".")
    return f"{_format_count(int(whole))},{decimals}"


def _format_count(count: int) -> str:
    return f"{count:,}".replace(",", " ")


def format_size(size: int) -> str:
    """A size as people read it: 25 MB, 2,5 MB, 512 kB, 100 byte."""
    return _format_size(size)
