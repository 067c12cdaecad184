"""`make demo`: a remiss round for KS 2025/348 end to end, on embedded defaults.

SQLite, the outbox and Prefect's home all live under data/demo, which each run
starts afresh. `remiss portal` serves the workspace and the answer page over real
HTTP. A handläggare logs in with the password and starts the round in the workspace
as in a browser: the case with its motion, the remissinstanser, the deadline, the
preview, "Skicka"; the portal hands the start to Prefect (its temporary local server).
Then several remissinstanser use the links in their e-mails as officials would: some
answer (one jointly with another), one declines, one asks for anstånd (which is
granted), one only confirms receipt, and the rest stay silent. Then mail arrives in
the remiss mailbox (a folder of .eml files on the embedded defaults): Kulturnämnden
answers by replying to the e-mail, one remiss bounces, and a question matches no
remiss; `remiss inbox poll` reads them and the e-mailed answer is reviewed with
`remiss answer review`.
"""

from __future__ import annotations

import contextlib
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
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from remiss.core import dates  # noqa: E402
from remiss.reminders.policy import load_policy, schedule  # noqa: E402
from remiss.web.security import hash_password  # noqa: E402

DATA = ROOT / "data" / "demo"
CASE = ROOT / "examples" / "KS-2025-348" / "arende.yaml"
ANSWERS = CASE.parent / "svar"
REMISS = Path(sys.executable).parent / "remiss"
PASSWORD = "demo"  # noqa: S105 (the demo workspace's password, printed for the user)


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


def write_settings(port: int) -> Path:
    """config/settings.yaml for data/demo, with the workspace's password; the demo's commands
    and the portal the user may start afterwards read the same file."""
    settings = yaml.safe_load((ROOT / "config" / "settings.yaml").read_text(encoding="utf-8"))
    settings.update(
        data_dir=str(DATA),
        base_url=f"http://127.0.0.1:{port}",
        register=str(ROOT / "config" / "remissinstanser.yaml"),
        reminder_policy=str(ROOT / "config" / "paminnelser.yaml"),
        admin_password_hash=hash_password(PASSWORD),
    )
    path = DATA / "settings.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


def run(*args: str, env: dict[str, str]) -> None:
    print(f"\n$ remiss {' '.join(args)}", flush=True)
    subprocess.run([str(REMISS), *args], check=True, env=env, cwd=ROOT)


def csrf_in(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has a form"
    return found.group(1)


class Handlaggare:
    """Karin Lindqvist at stadsledningskontoret, in the workspace with a browser-like client:
    each step is the form a browser would send, and the page it is sent on to."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, follow_redirects=True, timeout=60)
        login = self.client.get("/admin/login")
        login.raise_for_status()
        self.csrf = csrf_in(login.text)
        page = self.client.post("/admin/login", data={"csrf": self.csrf, "losenord": PASSWORD})
        page.raise_for_status()
        assert page.url.path == "/admin", page.url

    def send(self, path: str, data: dict[str, Any], files: Any = None) -> httpx.Response:
        page = self.client.post(path, data={"csrf": self.csrf, **data}, files=files)
        page.raise_for_status()
        return page


def texts(pattern: str, html: str) -> list[str]:
    """The text of each match, without tags, as a reader sees it."""
    return [
        " ".join(re.sub(r"<[^>]+>", "", m).replace("&lt;", "<").replace("&gt;", ">").split())
        for m in re.findall(pattern, html, re.S)
    ]


def start_in_the_workspace(base_url: str, deadline: dt.date) -> int:
    """The round of the example case, started from the workspace over HTTP; its id."""
    case = yaml.safe_load(CASE.read_text(encoding="utf-8"))
    print(f"\nHandläggaren startar remissen i arbetsytan, {base_url}/admin (över HTTP):")
    karin = Handlaggare(base_url)
    draft = karin.send("/admin/ny", {})
    draft_path = draft.url.path
    motion = CASE.parent / case["handlingar"][0]["fil"]
    recipients = karin.send(
        draft_path,
        {
            "atgard": "spara_vidare",
            "diarienummer": case["diarienummer"],
            "rubrik": case["rubrik"],
            "arendetyp": case["arendetyp"],
            "vackt": case["vackt"].isoformat(),
            "motionar_namn": [m["namn"] for m in case["motionarer"]],
            "motionar_parti": [m["parti"] for m in case["motionarer"]],
            "att_sats": case["att_satser"],
            "handlaggare_namn": case["handlaggare"]["namn"],
            "handlaggare_epost": case["handlaggare"]["epost"],
            "missiv": case["missiv"],
            "fil_titel": case["handlingar"][0]["titel"],
        },
        files={"fil": (motion.name, motion.read_bytes(), "application/pdf")},
    )
    assert recipients.url.path == f"{draft_path}/mottagare", recipients.url
    print(
        f"- Nytt ärende {case['diarienummer']}: rubrik, motionärer, att-satser och "
        f"meddelandet ifyllda, motionen uppladdad ({motion.name})"
    )
    groups = [g for g in case["remissinstanser"] if g == "stadsdelsnamnder"]
    codes = [c for c in case["remissinstanser"] if c not in groups]
    deadline_page = karin.send(
        f"{draft_path}/mottagare",
        {"atgard": "vidare", "grupp": groups, "grupp_visad": groups, "instans": codes,
         "visad": codes},
    )  # fmt: skip
    assert deadline_page.url.path == f"{draft_path}/svarstid", deadline_page.url
    print(f"- Mottagare: alla stadsdelsnämnder och {len(codes)} till")
    (earliest,) = texts(
        r"Tidigaste svarsdag som fungerar: <strong>(.*?)</strong>", deadline_page.text
    )
    print(f"- Svarstiden: sidan föreslår tidigast {earliest}; vald {dates.swedish_date(deadline)}")
    preview = karin.send(
        f"{draft_path}/svarstid", {"svar_senast": deadline.isoformat(), "gora": "fortsatt"}
    )
    assert preview.url.path == f"{draft_path}/forhandsgranska", preview.url
    (subject,) = texts(r"<dt>Ämne</dt><dd>(.*?)</dd>", preview.text)
    (count,) = texts(r"Remissen skickas till <strong>(.*?)</strong>", preview.text)
    print(f'- Förhandsgranskning: {count}, ämnesraden "{subject}"')
    for warning in texts(r"<li>([^<]*har inget[^<]*)</li>", preview.text):
        print(f"  Varning: {warning}")
    sending = karin.send(f"{draft_path}/skicka", {})
    assert "Remissen skickas" in sending.text
    print("- Skicka: remissen skickas i bakgrunden (flödet starta-remissomgång-från-utkast)")
    for _ in range(600):
        found = re.search(r'href="/admin/omgang/(\d+)"', sending.text)
        if found:
            break
        time.sleep(0.2)
        sending = karin.client.get(f"{draft_path}/skickas")
    else:
        raise SystemExit("Omgången sparades inte inom två minuter; se data/demo/portal.log.")
    round_id = int(found.group(1))
    total = int(count.split()[0])
    outbox = DATA / "outbox"
    for _ in range(600):
        if len(list(outbox.glob("*_missiv_0.eml"))) >= total:
            break
        time.sleep(0.2)
    print(f"- Omgång {round_id} är sparad och {total} remissmissiv har skickats")
    return round_id


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
        # As a browser sends it when a person clicks the link in the e-mail (a link
        # scanner's fetch would not count as an opening).
        clicked = {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-User": "?1"}
        page = self.client.get(self.link, headers=clicked)
        page.raise_for_status()
        self.page = page.text
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
    print("- Exploateringsnämnden svarade gemensamt med fastighetsnämnden: tillstyrker")
    # The partner is asked (by e-mail, with its own link) and counts as answered only once
    # it confirms on its page.
    partner = Official("fastighetsnamnden")
    claim = re.search(r'name="svar" value="(\d+)"', partner.page)
    assert claim, "fastighetsnämndens sida visar inte det gemensamma svaret"
    partner.post("gemensamt", {"svar": claim.group(1), "beslut": "bekrafta"})
    print("- Fastighetsnämnden bekräftade det gemensamma svaret via sin länk")
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
        REMISS_CONFIG=str(write_settings(port)),
        PREFECT_HOME=str(DATA / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    deadline = demo_deadline(dates.local_today(dates.utcnow()))
    run("init", env=env)

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
        start_in_the_workspace(f"http://127.0.0.1:{port}", deadline)
        answer_through_the_page()
        # The page hands each answer to the process-answer flow in the background.
        kvittenser = DATA / "outbox"
        for _ in range(120):
            if len(list(kvittenser.glob("*_kvittens_*.eml"))) >= 3:
                print("- Kvittenserna har skickats av flödet behandla-svar", flush=True)
                break
            time.sleep(0.5)
    finally:
        # As systemd with KillMode=mixed and `docker stop` do: SIGTERM to the portal alone,
        # which stops its temporary Prefect server itself; whatever is left then is ended.
        portal.send_signal(signal.SIGTERM)
        try:
            portal.wait(timeout=60)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(portal.pid, signal.SIGKILL)

    run("anstand", "list", env=env)
    run(
        "anstand",
        "grant",
        "1",
        "--meddelande",
        "Anstånd beviljas till nämndens sammanträde.",
        env=env,
    )
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
        run("remind", "--tidpunkt", local, env=env)
    run("status", env=env)
    run("compile", "1", "--mapp", str(DATA / "remissammanstallning"), env=env)

    outbox = DATA / "outbox"
    kinds = {
        kind: len(list(outbox.glob(f"*_{kind}*.eml")))
        for kind in ("missiv", "kvittens", "gemensamt_svar", "anstand_beslut", "paminnelse")
    }
    print(
        f"\nE-posten ligger i {outbox}: {kinds['missiv']} remisser, "
        f"{kinds['kvittens']} kvittenser, {kinds['gemensamt_svar']} fråga om gemensamt svar, "
        f"{kinds['anstand_beslut']} beslut om anstånd och {kinds['paminnelse']} påminnelser."
    )
    print(
        f"Läget som JSON:  REMISS_DATA_DIR={DATA.relative_to(ROOT)} .venv/bin/remiss status --json"
    )
    settings = (DATA / "settings.yaml").relative_to(ROOT)
    print(
        f"Prova arbetsytan och svarssidan: REMISS_CONFIG={settings} .venv/bin/remiss portal "
        f"--port {port}  och öppna http://127.0.0.1:{port}/admin (lösenord: {PASSWORD}), "
        "eller länken i en av remisserna i utkorgen."
    )


if __name__ == "__main__":
    main()
