"""`make demo`: a remiss round for KS 2025/348 end to end, on embedded defaults.

SQLite, the outbox and Prefect's home all live under data/demo, which each run
starts afresh. The round goes out through Prefect's temporary local server; then
the answer page is served over real HTTP and several remissinstanser use their
links as officials would: some answer (one jointly with another), one declines,
one asks for anstånd (which is granted), one only confirms receipt, and the rest
stay silent. Then mail arrives in the remiss mailbox (a folder of .eml files on the
embedded defaults): Kulturnämnden answers by replying to the e-mail, one remiss
bounces, and a question matches no remiss; `remiss inbox poll` reads them and
the e-mailed answer is reviewed with `remiss answer review`.
"""

from __future__ import annotations

import datetime as dt
import email
import email.message
import email.utils
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

from remiss.core import dates  # noqa: E402
from remiss.reminders.policy import load_policy, schedule  # noqa: E402

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


def read_sent(code: str, kind: str = "missiv") -> email.message.EmailMessage:
    path = next((DATA / "outbox").glob(f"*_{code}_{kind}_0.eml"))
    msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def mail_arrives() -> None:
    """Write what the remiss mailbox receives into the outbox backend's inbox folder."""
    print("\nE-post kommer till remissbrevlådan (data/demo/inbox):", flush=True)
    inbox = DATA / "inbox"
    inbox.mkdir()
    original = read_sent("kulturnamnden")
    answer = email.message.EmailMessage()
    answer["From"] = "Registrator Kulturförvaltningen <registrator.kultur@stockholm.example>"
    answer["To"] = str(original["From"])
    answer["Subject"] = f"SV: {original['Subject']}"
    answer["Message-ID"] = email.utils.make_msgid(domain="stockholm.example")
    answer["In-Reply-To"] = answer["References"] = str(original["Message-ID"])
    answer.set_content("Hej! Här kommer Kulturnämndens yttrande över remissen.\n")
    answer.add_attachment(
        (ANSWERS / "kulturnamnden-tjansteutlatande.pdf").read_bytes(),
        maintype="application",
        subtype="pdf",
        filename="kulturnamnden-tjansteutlatande.pdf",
    )
    (inbox / "svar-kulturnamnden.eml").write_bytes(answer.as_bytes())
    print("- Kulturnämnden svarade på remissens e-post med sitt tjänsteutlåtande (PDF)")
    bounced = read_sent("hasselby_vallingby")
    boundary = "demo-rapport"
    headers = "".join(f"{k}: {v}\r\n" for k, v in bounced.items() if k.lower() != "content-type")
    (inbox / "studs.eml").write_bytes(
        (
            "From: MAILER-DAEMON@stockholm.example\r\nTo: remiss@stockholm.example\r\n"
            f"Subject: Kan inte levereras: {bounced['Subject']}\r\n"
            f"Message-ID: {email.utils.make_msgid(domain='stockholm.example')}\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
            f'report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nUndeliverable.\r\n"
            f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mail.stockholm.example\r\n\r\n"
            f"Final-Recipient: rfc822; {bounced['To']}\r\nAction: failed\r\n"
            "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 Mottagaren finns inte\r\n\r\n"
            f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}\r\n"
            f"--{boundary}--\r\n"
        ).encode()
    )
    print("- Remissen till Hässelby-Vällingby studsade (adressen finns inte)")
    question = email.message.EmailMessage()
    question["From"] = "medborgare@example.org"
    question["To"] = "remiss@stockholm.example"
    question["Subject"] = "Fråga om vänortsavtal"
    question["Message-ID"] = email.utils.make_msgid(domain="example.org")
    question.set_content("Hej, när beslutar kommunfullmäktige om motionen?\n")
    (inbox / "fraga.eml").write_bytes(question.as_bytes())
    print("- En fråga som inte hör till någon remiss")


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

    mail_arrives()
    run("inbox", "poll", env=env)
    run("inbox", "unmatched", env=env)
    run("answer", "review", env=env)
    run(
        "answer", "review", "1", "kulturnamnden", "--stallningstagande", "tillstyrker_delvis",
        "--att-sats", "1=tillstyrker", "--granskad-av", "Karin Lindqvist",
        env=env,
    )  # fmt: skip

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
