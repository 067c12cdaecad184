"""Writing a round's messages as MIME when they carry real handlingar: Python's email
package (`to_mime().as_bytes()`) against `OutgoingEmail.mime_bytes()`, which encodes each
attachment once and splices it into every message.

N messages to different recipients, each with its own copy of the same attachment (as
compose reads it per message), of a given size. Both ways are timed in the same run, and
the run fails unless every message comes out byte for byte the same both ways (the MIME
boundaries seeded alike; the Date header aside).

    .venv/bin/python bench/mime.py                     # 50 messages, a 3 MB PDF
    .venv/bin/python bench/mime.py --messages 300 --mb 1 --json out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from remiss.mail import Attachment, OutgoingEmail  # noqa: E402

DATE = re.compile(rb"^Date: .*$", re.MULTILINE)


def messages(n: int, size: int) -> list[OutgoingEmail]:
    data = os.urandom(size)
    base = OutgoingEmail(
        idempotency_key="remiss-bench/0/missiv/0",
        to=("registrator@stockholm.example",),
        subject="Remiss: Mätärende, KS 2026/999",
        text="Kommunstyrelsen remitterar ärendet till er för yttrande. " * 20,
        html="<p>Kommunstyrelsen remitterar ärendet till er för yttrande.</p>" * 20,
        sender="remiss@stockholm.example",
        sender_name="Stadsledningskontoret",
    )
    return [
        dataclasses.replace(
            base,
            idempotency_key=f"remiss-bench/{i}/missiv/0",
            to=(f"registrator.{i}@stockholm.example",),
            attachments=(Attachment("handling.pdf", "application/pdf", bytes(data)),),
        )
        for i in range(n)
    ]


def timed(emails: list[OutgoingEmail], write: str) -> tuple[float, list[bytes]]:
    out = []
    start = time.perf_counter()
    for i, email in enumerate(emails):
        random.seed(i)  # the boundaries, alike for both ways
        out.append(email.to_mime().as_bytes() if write == "email" else email.mime_bytes())
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--mb", type=float, default=3.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    emails = messages(args.messages, int(args.mb * 1024 * 1024))
    slow_s, slow = timed(emails, "email")
    fast_s, fast = timed(emails, "fast")
    # The Date header says when each was written.
    if [DATE.sub(b"", m) for m in slow] != [DATE.sub(b"", m) for m in fast]:
        print("mime_bytes wrote other bytes than the email package", file=sys.stderr)
        return 1
    n = args.messages
    print(f"\n{n} messages, each with a {args.mb:g} MB attachment\n")
    print(f"  email package   {slow_s:6.2f} s  {1000 * slow_s / n:6.1f} ms a message")
    print(f"  mime_bytes      {fast_s:6.2f} s  {1000 * fast_s / n:6.1f} ms a message")
    print(f"  ratio           {slow_s / fast_s:6.1f}")
    if args.json:
        result = {"messages": n, "mb": args.mb, "email_s": slow_s, "mime_bytes_s": fast_s}
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
