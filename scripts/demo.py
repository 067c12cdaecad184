"""`make demo`: a remiss round for KS 2025/348 end to end, on embedded defaults.

SQLite, the outbox and Prefect's home all live under data/demo, which each run
starts afresh. The round goes out through Prefect's temporary local server; then
the answer page is served over real HTTP and several remissinstanser use their
links as officials would: some answer (one jointly with another), one declines,
one asks for anstånd (which is granted), one only confirms receipt, and the rest
stay silent.
"""

from __future__ import annotations

import datetime as dt
import email
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from email.policy import default as default_policy
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from remiss import dates  # noqa: E402
from remiss.reminders import load_policy, schedule  # noqa: E402

DATA = ROOT / "data" / "demo"
CASE = ROOT / "examples" / "KS-2025-348" / "arende.yaml"
ANSWERS = CASE.parent / "svar"
REMISS = Path(sys.executable).parent / "remiss"


def demo_deadline(today: dt.date) -> dt.date:
    """The case's real deadline lies in the past: use the first working day six weeks ahead."""
    day = today + dt.timedelta(weeks=6)
    while not dates.is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run(*args: str, env: dict[str, str]) -> None:
    print(f"\n$ remiss {' '.join(args)}", flush=True)
    subprocess.run([str(REMISS), *args], check=True, env=env, cwd=ROOT)


def link_for(code: str) -> str:
    (path,) = (DATA / "outbox").glob(f"*_{code}_missiv_0.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    match = re.search(r"https?://\S+/r/[A-Za-z0-9_-]+", body.get_content())
    assert match
    return match.group(0)


class Official:
    """Someone at a remissinstans, with the link from their e-mail and a browser-like client."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.link = link_for(code)
        self.client = httpx.Client(follow_redirects=True, timeout=60)
        page = self.client.get(self.link)
        page.raise_for_status()
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found
        self.csrf = found.group(1)

    def post(self, action: str, data: dict[str, object], files: list[Path] | None = None) -> str:
        upload = [("filer", (p.name, p.read_bytes())) for p in files or []]
        response = self.client.post(
            f"{self.link}/{action}", data={"csrf": self.csrf, **data}, files=upload or None
        )
        response.raise_for_status()
        return response.text


def answer_through_the_page() -> None:
    print("\nTjänstepersoner svarar via sina länkar (över HTTP):", flush=True)
    social = Official("socialnamnden")
    social.post("kvittens", {"diarienummer": "SN 2025/4711", "kontaktperson": "Lisa Cadenius"})
    receipt = social.post(
        "svar",
        {
            "stallningstagande": "inga_synpunkter",
            "sammanfattning": "Mandatet för att fatta beslut i frågorna ligger på "
            "stadsövergripande nivå. Förvaltningen bidrar i det fortsatta arbetet och "
            "betonar säkerheten för dem som levererar utrustning.",
            "beslutsdatum": "2026-11-19",
            "paragraf": "§ 12",
            "kontaktperson": "Lisa Cadenius",
            "epost": "lisa.cadenius@stockholm.example",
        },
        [
            ANSWERS / "socialnamnden-tjansteutlatande.pdf",
            ANSWERS / "socialnamnden-protokollsutdrag.docx",
        ],
    )
    assert "Ert svar har tagits emot" in receipt
    print("- Socialnämnden bekräftade mottagandet och svarade: inga synpunkter (PDF + DOCX)")
    Official("servicenamnden").post(
        "svar",
        {"stallningstagande": "tillstyrker_delvis", "att_sats": ["", "tillstyrker"]},
        [ANSWERS / "servicenamnden-tjansteutlatande.docx"],
    )
    print("- Servicenämnden svarade: tillstyrker delvis (att-sats 2: tillstyrker)")
    Official("exploateringsnamnden").post(
        "svar",
        {"stallningstagande": "tillstyrker", "gemensamt": ["fastighetsnamnden"]},
        [ANSWERS / "exploateringsnamnden-fastighetsnamnden-tjansteutlatande.docx"],
    )
    print("- Exploateringsnämnden och fastighetsnämnden svarade gemensamt: tillstyrker")
    Official("ks_rad_funktionshinder").post("avstar", {"skal": "Ärendet berör inte rådets frågor."})
    print("- Kommunstyrelsens råd för funktionshinderfrågor avstår")
    Official("sodermalm").post(
        "anstand",
        {
            "datum": dates.add_working_days(
                demo_deadline(dates.local_today(dates.utcnow())), 10
            ).isoformat(),
            "skal": "Nämnden sammanträder först efter svarsdagen.",
        },
    )
    print("- Södermalms stadsdelsnämnd begärde anstånd")
    Official("bromma").post("kvittens", {"kontaktperson": "Registrator Bromma"})
    print("- Bromma stadsdelsnämnd bekräftade mottagandet; övriga har inte hört av sig än")


def main() -> None:
    if DATA.exists():
        shutil.rmtree(DATA)
    DATA.mkdir(parents=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMISS_", "PREFECT_API"))}
    env.update(
        REMISS_DATA_DIR=str(DATA),
        REMISS_BASE_URL=f"http://127.0.0.1:{port}",
        PREFECT_HOME=str(DATA / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    deadline = demo_deadline(dates.local_today(dates.utcnow()))
    run("init", env=env)
    run("round", "start", str(CASE.relative_to(ROOT)), "--deadline", deadline.isoformat(), env=env)

    print(f"\n$ remiss portal --port {port}   (i bakgrunden)", flush=True)
    portal = subprocess.Popen(
        [str(REMISS), "portal", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(DATA / "portal.log").open("w"),
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        answer_through_the_page()
        # The page hands each answer to the process-answer flow in the background.
        kvittenser = DATA / "outbox"
        for _ in range(120):
            if len(list(kvittenser.glob("*_kvittens_*.eml"))) >= 3:
                print("- Kvittenserna har skickats av flödet behandla-svar", flush=True)
                break
            time.sleep(0.5)
    finally:
        os.killpg(portal.pid, signal.SIGTERM)
        portal.wait(timeout=30)

    run("anstand", "list", env=env)
    run("anstand", "grant", "1", "--note", "Anstånd beviljas till nämndens sammanträde.", env=env)
    # Kvittenser the portal could not hand to Prefect before it stopped are sent here.
    run("answers", "process", env=env)

    print("\nPåminnelsesvepet vid simulerade tidpunkter (arbetsdagar kl. 08.00):", flush=True)
    policy = load_policy(ROOT / "config" / "paminnelser.yaml")
    for stage in schedule(deadline, policy, "Europe/Stockholm"):
        local = dates.iso_local(stage.due_at)
        run("remind", "--as-of", local, env=env)
    run("status", env=env)
    run("compile", "1", "--out", str(DATA / "remissammanstallning"), env=env)

    outbox = DATA / "outbox"
    kinds = {
        kind: len(list(outbox.glob(f"*_{kind}*.eml")))
        for kind in ("missiv", "kvittens", "anstand_beslut", "paminnelse")
    }
    print(
        f"\nE-posten ligger i {outbox}: {kinds['missiv']} remisser, "
        f"{kinds['kvittens']} kvittenser, {kinds['anstand_beslut']} beslut om anstånd "
        f"och {kinds['paminnelse']} påminnelser."
    )
    print(
        f"Läget som JSON:  REMISS_DATA_DIR={DATA.relative_to(ROOT)} .venv/bin/remiss status --json"
    )
    print(
        f"Prova svarssidan: REMISS_DATA_DIR={DATA.relative_to(ROOT)} .venv/bin/remiss portal "
        f"--port {port}  och öppna länken i en av remisserna i utkorgen."
    )


if __name__ == "__main__":
    main()
