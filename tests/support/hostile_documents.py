"""Documents that are small as files and large as what they become (issue 17, point 1)."""

from __future__ import annotations

import io
import os
import random
import zipfile
from collections.abc import Iterator

from tests.support.documents import docx_bytes

MB = 1024 * 1024
PARAGRAPH = (
    '<w:p><w:r><w:t xml:space="preserve">Förvaltningen delar motionärernas uppfattning att '
    "staden ska bistå i återuppbyggnaden och föreslår att nämnden tillstyrker motionen. "
    "</w:t></w:r></w:p>"
).encode()


WORDS = [
    "nämnden",
    "förvaltningen",
    "motionen",
    "stadsdelsnämnden",
    "remissen",
    "återuppbyggnaden",
    "Ukraina",
    "stöd",
    "kommunstyrelsen",
    "tillstyrker",
    "avstyrker",
    "förslaget",
    "ekonomiska",
    "konsekvenser",
    "bedömning",
    "samverkan",
    "föreningar",
    "civilsamhället",
    "flyktingmottagande",
    "bostäder",
    "skola",
    "omsorg",
    "budget",
    "ansvar",
    "uppdrag",
    "beslut",
    "yttrande",
    "synpunkter",
    "att",
    "staden",
    "ska",
    "bör",
    "kan",
    "inom",
    "ramen",
    "för",
]


def _varied(rng: random.Random) -> Iterator[bytes]:
    """Paragraphs of Swedish words in random order: packs about 4 to 1, like real text."""
    while True:
        words = " ".join(rng.choice(WORDS) for _ in range(40))
        yield f'<w:p><w:r><w:t xml:space="preserve">{words}.</w:t></w:r></w:p>'.encode()


def docx_unpacking_to(xml_bytes: int, *, padding: int = 0, varied: bool = False) -> bytes:
    """A real DOCX (python-docx's) whose word/document.xml is replaced by one of about
    `xml_bytes`, written in a stream so the test never holds it: the same paragraph again
    and again (so it packs about 200 to 1), or with `varied` paragraphs of random words (a
    long document). `padding` bytes of random data, stored, lower the packing ratio of the
    whole file below the zip-bomb check's, as an attacker would."""
    source = zipfile.ZipFile(io.BytesIO(docx_bytes("Tjänsteutlåtande")))
    original = source.read("word/document.xml")
    head, tail = original.split(b"<w:body>", 1)
    head += b"<w:body>"
    tail = b"<w:sectPr/></w:body></w:document>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                target.writestr(item.filename, source.read(item))
        with target.open("word/document.xml", "w", force_zip64=True) as stream:
            stream.write(head)
            written = len(head) + len(tail)
            if varied:
                for paragraph in _varied(random.Random(17)):
                    if written + len(paragraph) > xml_bytes:
                        break
                    stream.write(paragraph)
                    written += len(paragraph)
            else:
                block = PARAGRAPH * (MB // len(PARAGRAPH))
                while written + len(block) <= xml_bytes:
                    stream.write(block)
                    written += len(block)
                while written + len(PARAGRAPH) <= xml_bytes:
                    stream.write(PARAGRAPH)
                    written += len(PARAGRAPH)
            stream.write(tail)
        if padding:
            info = zipfile.ZipInfo("word/media/image1.png")
            info.compress_type = zipfile.ZIP_STORED
            target.writestr(info, os.urandom(padding))
    return out.getvalue()
