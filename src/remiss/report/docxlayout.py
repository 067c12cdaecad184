"""What every DOCX of the report must carry whatever the template says: Swedish, properties
from the settings, a table header row Word repeats and rows it never splits.

The page (A4, margins, header with dnr, footer with page numbers) is the template's: the
secretariat may restyle it in Word. scripts/make_docx_template.py makes the first version.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from docx.oxml import OxmlElement
from docx.oxml.ns import qn

LANGUAGE = "sv-SE"


def set_swedish(doc: Any) -> None:
    """Swedish as the language of every run, in the defaults and in each style.

    Word proofs and reads text in the language of its runs; core_properties.language alone
    does not change it (the python-docx default template says en-US).
    """
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = OxmlElement("w:docDefaults")
        styles.insert(0, defaults)
    run_defaults = _child(defaults, "w:rPrDefault")
    _set_lang(_child(run_defaults, "w:rPr"))
    for style in styles.findall(qn("w:style")):
        properties = style.find(qn("w:rPr"))
        is_default = style.get(qn("w:default")) == "1" and style.get(qn("w:type")) == "paragraph"
        if is_default or (properties is not None and properties.find(qn("w:lang")) is not None):
            _set_lang(_child(style, "w:rPr"))
    doc.core_properties.language = LANGUAGE


def _child(parent: Any, tag: str) -> Any:
    found = parent.find(qn(tag))
    if found is None:
        found = OxmlElement(tag)
        parent.append(found)
    return found


def _set_lang(run_properties: Any) -> None:
    lang = _child(run_properties, "w:lang")
    for attribute in ("w:val", "w:eastAsia"):
        lang.set(qn(attribute), LANGUAGE)


def keep_table_rows(doc: Any) -> None:
    """The first row of each table repeats on every page; no row breaks across pages."""
    for table in doc.tables:
        for i, row in enumerate(table.rows):
            properties = row._tr.get_or_add_trPr()
            if properties.find(qn("w:cantSplit")) is None:
                properties.append(OxmlElement("w:cantSplit"))
            if i == 0 and properties.find(qn("w:tblHeader")) is None:
                properties.append(OxmlElement("w:tblHeader"))


def set_properties(doc: Any, *, title: str, author: str, subject: str, when: dt.datetime) -> None:
    """Core properties from the case and the settings, not the library's defaults."""
    properties = doc.core_properties
    properties.title = title
    properties.subject = subject
    properties.author = author
    properties.last_modified_by = author
    properties.comments = ""
    properties.keywords = "remissammanställning"
    properties.created = properties.modified = when.astimezone(dt.UTC).replace(tzinfo=None)
    properties.revision = 1
