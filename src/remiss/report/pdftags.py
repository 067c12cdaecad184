"""Mends the tag tree WeasyPrint writes for a PDF/UA report, before the PDF is written.

WeasyPrint (measured on 70) builds the structure tree page by page. Three faults follow,
and a screen reader meets each of them:

- An element that runs over a page break becomes one element per page: `<main>` became
  one Part per page and the status table one Table per page, the later ones without their
  Caption, and each with a copy of the header row as real content.
- The running header and footer (the page's margin boxes) are marked content with MCIDs that
  no structure element in the tree owns: neither content nor artifact (PDF/UA-1 7.1 and 7.8
  want pagination marked as an artifact).

This module fixes both in the PDF object tree that WeasyPrint hands to a `finisher`:
split elements are joined again (it records, while WeasyPrint tags, which HTML element each
structure element came from), a header row repeated on a later page is re-marked as an
artifact, and so are the margin boxes, as /Pagination artifacts with /Header or /Footer.
Nothing is drawn differently; only the marking of content and the tag tree change.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# HTML element and margin box (if any) of each structure element, keyed by object number.
_ORIGINS: contextvars.ContextVar[dict[int, _Origin] | None] = contextvars.ContextVar(
    "remiss_pdf_origins", default=None
)
_MARGIN: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "remiss_pdf_margin", default=None
)
REPEATABLE = ("/THead", "/TFoot")


@dataclass(frozen=True)
class _Origin:
    html: Any  # the lxml element the box came from (None for anonymous boxes)
    margin: str | None  # "@top-right" and so on for content of a page margin box


@dataclass
class Report:
    """What was mended, for the tests and the log."""

    joined: int = 0
    repeated_headers: int = 0
    margin_artifacts: int = 0
    missing: list[tuple[int, int]] = field(default_factory=list)  # (page, mcid) not found


def install() -> bool:
    """Wrap WeasyPrint's tag builder so that it records where each element came from."""
    from weasyprint.formatting_structure import boxes
    from weasyprint.pdf import tags

    original = getattr(tags, "_build_box_tree", None)
    if original is None:
        return False
    if getattr(original, "remiss_records", False):
        return True

    def recording(box: Any, parent: Any, pdf: Any, *args: Any) -> Iterator[Any]:
        origins = _ORIGINS.get()
        source = getattr(box, "_box", box)  # an absolutely placed box stands in for its box
        token = None
        if isinstance(source, boxes.MarginBox):
            token = _MARGIN.set(str(getattr(source, "at_keyword", "") or "@margin"))
        try:
            for element in original(box, parent, pdf, *args):
                number = getattr(element, "number", None)
                # The innermost call names an element first; a caller passing it on must not.
                if origins is not None and number is not None and number not in origins:
                    origins[number] = _Origin(getattr(source, "element", None), _MARGIN.get())
                yield element
        finally:
            if token is not None:
                _MARGIN.reset(token)

    recording.remiss_records = True  # type: ignore[attr-defined]
    tags._build_box_tree = recording
    return True


def write_pdf(html: str, *, variant: str = "pdf/ua-1") -> tuple[bytes, Report]:
    """The HTML as a tagged PDF, its tag tree mended; with what was mended."""
    from weasyprint import HTML

    install()
    origins: dict[int, _Origin] = {}
    report = Report()
    token = _ORIGINS.set(origins)
    try:
        pdf: bytes = HTML(string=html).write_pdf(
            pdf_variant=variant, finisher=_finisher(origins, report)
        )
    finally:
        _ORIGINS.reset(token)
    return pdf, report


def _finisher(origins: dict[int, _Origin], report: Report) -> Callable[[Any, Any], None]:
    def finish(_document: Any, pdf: Any) -> None:
        if "StructTreeRoot" in pdf.catalog and origins:
            _Mender(pdf, origins, report).run()

    return finish


def _number(reference: Any) -> int | None:
    """The object number of a pydyf reference (b"12 0 R"), None for anything else."""
    if isinstance(reference, bytes) and reference.endswith(b" R"):
        return int(reference.split()[0])
    return None


def _text(value: Any) -> str:
    """The text of a pydyf String (or of anything else) as a dictionary key."""
    return str(getattr(value, "string", value))


class _Mender:
    def __init__(self, pdf: Any, origins: dict[int, _Origin], report: Report) -> None:
        import pydyf

        self.pydyf = pydyf
        self.pdf = pdf
        self.origins = origins
        self.report = report
        self.page_refs: tuple[bytes, ...] = tuple(pdf.page_references)
        self.page_index = {ref: i for i, ref in enumerate(self.page_refs)}
        root = self.obj(pdf.catalog["StructTreeRoot"])
        self.parent_tree = self.obj(root["ParentTree"])["Nums"]
        self.document = self.obj(root["K"][0])
        self.replaced: dict[bytes, bytes] = {}  # dropped element -> the one that took its kids
        self.to_artifact: dict[int, dict[int, Any]] = {}  # page -> mcid -> artifact properties
        self.header_ids: dict[str, Any] = {}  # a dropped header cell's ID -> the kept one's

    def obj(self, reference: Any) -> Any:
        number = _number(reference)
        return self.pdf.objects[number] if number is not None else reference

    def is_elem(self, kid: Any) -> bool:
        number = _number(kid)
        if number is None:
            return False
        target = self.pdf.objects[number]
        return isinstance(target, dict) and target.get("Type") == "/StructElem"

    def key(self, kid: Any) -> tuple[int, str] | None:
        number = _number(kid)
        origin = self.origins.get(number) if number is not None else None
        if origin is None or origin.html is None:
            return None
        return id(origin.html), str(self.obj(kid)["S"])

    def run(self) -> None:
        self._join(self.document)
        self._fix_header_references(self.document)
        self._margin_boxes()
        self._remap_parent_tree()
        self._mark_artifacts()

    # Joining elements split by page breaks

    def _join(self, element: Any) -> None:
        kids = element.get("K")
        if not isinstance(kids, list):
            return
        kept: list[Any] = []
        seen: dict[tuple[int, str], Any] = {}
        for kid in kids:
            key = self.key(kid) if self.is_elem(kid) else None
            if (
                key is not None
                and kept
                and self.key(kept[-1]) == key
                and self._pages_differ(kept[-1], kid)
            ):
                self._absorb(self.obj(kept[-1]), kept[-1], kid)
                continue
            if key is not None and key in seen and key[1] in REPEATABLE:
                self._drop_repeat(seen[key], kid)
                continue
            if key is not None:
                seen.setdefault(key, kid)
            kept.append(kid)
        element["K"] = self.pydyf.Array(kept)
        for kid in kept:
            if self.is_elem(kid):
                self._scope(kid)
                self._join(self.obj(kid))

    def _scope(self, ref: Any) -> None:
        """A header cell says whether it heads its column or its row, as its HTML does."""
        element = self.obj(ref)
        origin = self.origins.get(element.number)
        if element.get("S") != "/TH" or origin is None or origin.html is None:
            return
        scope = {"col": "/Column", "row": "/Row"}.get(origin.html.get("scope", ""))
        if scope and isinstance(element.get("A"), dict):
            element["A"]["Scope"] = scope

    def _pages_differ(self, first: Any, second: Any) -> bool:
        return bool(self.obj(first).get("Pg") != self.obj(second).get("Pg"))

    def _absorb(self, into: Any, into_ref: Any, ref: Any) -> None:
        """Move the kids of `ref` (the same element on a later page) into `into`."""
        other = self.obj(ref)
        page = other.get("Pg")
        for kid in other.get("K", []):
            if isinstance(kid, int):  # an MCID belongs to the element's page: say which
                kid = self.pydyf.Dictionary({"Type": "/MCR", "Pg": page, "MCID": kid})
            elif self.is_elem(kid):
                self.obj(kid)["P"] = into_ref
            into["K"].append(kid)
        self.replaced[ref] = into_ref
        self.report.joined += 1

    def _drop_repeat(self, first_ref: Any, ref: Any) -> None:
        """A header row WeasyPrint repeated on a later page: an artifact, not content again."""
        kept_cells = [c for c in self._descendants(first_ref) if self.obj(c).get("S") == "/TH"]
        dropped_cells = [c for c in self._descendants(ref) if self.obj(c).get("S") == "/TH"]
        for kept, dropped in zip(kept_cells, dropped_cells, strict=False):
            if "ID" in self.obj(dropped) and "ID" in self.obj(kept):
                self.header_ids[_text(self.obj(dropped)["ID"])] = self.obj(kept)["ID"]
        for page, mcid in self._content_of(ref):
            self.to_artifact.setdefault(page, {})[mcid] = {}
        self.report.repeated_headers += 1

    def _descendants(self, ref: Any) -> Iterator[Any]:
        for kid in self.obj(ref).get("K", []):
            if self.is_elem(kid):
                yield kid
                yield from self._descendants(kid)

    def _content_of(self, ref: Any) -> Iterator[tuple[int, int]]:
        element = self.obj(ref)
        for kid in element.get("K", []):
            if isinstance(kid, int):
                yield self.page_index[element["Pg"]], kid
            elif isinstance(kid, dict) and kid.get("Type") == "/MCR":
                yield self.page_index[kid["Pg"]], kid["MCID"]
            elif self.is_elem(kid):
                yield from self._content_of(kid)

    def _fix_header_references(self, element: Any) -> None:
        """Cells on later pages named the dropped copies of the header cells as headers."""
        attributes = element.get("A")
        if isinstance(attributes, dict) and "Headers" in attributes:
            attributes["Headers"] = self.pydyf.Array(
                [self.header_ids.get(_text(h), h) for h in attributes["Headers"]]
            )
        for kid in element.get("K", []):
            if self.is_elem(kid):
                self._fix_header_references(self.obj(kid))

    # Running header and footer

    def _margin_boxes(self) -> None:
        reachable = {self.pdf.catalog["StructTreeRoot"]}
        reachable.update(self._descendants(self.document.reference))
        reachable.add(self.document.reference)
        for page in range(len(self.page_refs)):
            mapping = self.parent_tree[2 * page + 1]
            for mcid, ref in enumerate(mapping):
                if ref is None or ref in reachable or ref in self.replaced:
                    continue
                if mcid in self.to_artifact.get(page, {}):  # a repeated header row
                    continue
                self.to_artifact.setdefault(page, {})[mcid] = self._pagination(ref)
                self.report.margin_artifacts += 1

    def _pagination(self, ref: Any) -> dict[str, str]:
        element = self.obj(ref)
        parent = _number(element.get("P"))
        origin = self.origins.get(element.number) or (
            self.origins.get(parent) if parent is not None else None
        )
        margin = origin.margin if origin is not None else None
        properties = {"Type": "/Pagination"}
        if margin and margin.startswith("@top"):
            properties["Subtype"] = "/Header"
        elif margin and margin.startswith("@bottom"):
            properties["Subtype"] = "/Footer"
        return properties

    def _remap_parent_tree(self) -> None:
        for index in range(1, len(self.parent_tree), 2):
            value = self.parent_tree[index]
            if isinstance(value, list):
                page = self.parent_tree[index - 1]
                artifacts = self.to_artifact.get(page, {}) if page < len(self.page_refs) else {}
                for mcid, ref in enumerate(value):
                    if mcid in artifacts:
                        value[mcid] = b"null"
                    else:
                        value[mcid] = self._final(ref)
            else:
                self.parent_tree[index] = self._final(value)

    def _final(self, ref: Any) -> Any:
        while ref in self.replaced:
            ref = self.replaced[ref]
        return ref

    def _mark_artifacts(self) -> None:
        for page, artifacts in self.to_artifact.items():
            stream = self.obj(self.obj(self.page_refs[page])["Contents"])
            ops = stream.stream
            found: set[int] = set()
            for i in range(1, len(ops) - 1):
                props = ops[i]
                if isinstance(props, dict) and ops[i + 1] == b"BDC" and "MCID" in props:
                    mcid = props["MCID"]
                    if mcid in artifacts:
                        ops[i - 1] = "/Artifact"
                        if artifacts[mcid]:
                            ops[i] = self.pydyf.Dictionary(artifacts[mcid])
                        else:
                            ops[i], ops[i + 1] = b"", b"BMC"
                        found.add(mcid)
            self.report.missing.extend((page, m) for m in sorted(set(artifacts) - found))
