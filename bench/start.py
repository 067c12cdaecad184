"""`make demo` end to end in a warm environment (the venv installed, caches warm): one run of
scripts/demo.py, timed from start to exit. Prints the seconds; --json writes them."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    print(f"\nmake demo (warm): {seconds:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"demo_s": round(seconds, 1)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
