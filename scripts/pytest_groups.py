"""Run the test suite as independent groups side by side; exit non-zero if any group fails.

The groups share nothing a test relies on (each test makes its own databases, data
folders, Prefect home and ports), and they wait on different things: one mostly on
Chromium and subprocesses, the other on the CPU. Side by side they take
about as long as the longer one. Each group's output is kept in its own log and printed
whole when it ends, so that the two never interleave.

    python scripts/pytest_groups.py [extra pytest arguments]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GROUPS = {
    # Measured on 2 CPUs: the in-process group (with the flows' Prefect test server) ended
    # well before Chromium and the end-to-end subprocesses.
    "processes": ["tests/browser", "tests/e2e"],
    "in-process": [
        "tests/unit",
        "tests/db",
        "tests/web",
        "tests/servers",
        "tests/flows",
        "tests/archive",
    ],
}


def main(extra: list[str]) -> int:
    listed = {path for paths in GROUPS.values() for path in paths}
    on_disk = {
        f"tests/{folder.name}"
        for folder in (ROOT / "tests").iterdir()
        if folder.is_dir() and any(folder.glob("test_*.py"))
    }
    if on_disk - listed:
        # A new test folder must be given a group, or it would silently not run.
        print(f"Testmappar som ingen grupp kör: {', '.join(sorted(on_disk - listed))}")
        return 2
    # Short: a test's temporary paths appear in CLI messages that the tests read whole, and
    # a path longer than pytest's own (/tmp/pytest-of-root/pytest-N) would wrap at 80 columns.
    logs = Path(tempfile.mkdtemp(prefix="pt-"))
    started = time.monotonic()
    running = {}
    for name, paths in GROUPS.items():
        log = (logs / f"{name}.log").open("w")
        running[name] = (
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    *paths,
                    f"--basetemp={logs / name[0]}",
                    "--durations=15",
                    *extra,
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            ),
            log,
        )
    failed = []
    for name, (process, log) in running.items():
        code = process.wait()
        log.close()
        print(f"\n===== {name} ({' '.join(GROUPS[name])}): exit {code} =====", flush=True)
        sys.stdout.write((logs / f"{name}.log").read_text(errors="replace"))
        if code != 0:
            failed.append(name)
    print(f"\nAll groups done in {time.monotonic() - started:.0f} s; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
