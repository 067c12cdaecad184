"""`make demo`: a remiss round for KS 2025/348 end to end, on embedded defaults.

SQLite, the outbox and Prefect's home all live under data/demo, which each run
starts afresh. One Prefect server (`prefect server start`, on a free loopback port)
serves every flow of the demo, and every command finds it through PREFECT_API_URL: a
command without it would start Prefect's temporary server of its own, some ten
seconds each. `remiss portal` serves the workspace and the answer page over real
HTTP. A handläggare logs in with the password and starts the round in the workspace
as in a browser: the case with its motion, the remissinstanser, the deadline, the
preview, "Skicka"; the portal hands the start to Prefect.
Then several remissinstanser use the links in their e-mails as officials would: some
answer (one jointly with another), one declines, one asks for anstånd (which is
granted), one only confirms receipt, and the rest stay silent. Then mail arrives in
the remiss mailbox (a folder of .eml files on the embedded defaults): Kulturnämnden
answers by replying to the e-mail, one remiss bounces, and a question matches no
remiss; `remiss inbox poll` reads them and the e-mailed answer is reviewed with
`remiss answer review`.

`make demo REMISS_DEMO_MAIL=graph` runs the same round through the real Microsoft Graph
backend (`mail_backend: graph`: msal, drafts sent with their idempotency key, the delta
poll) against the loopback Graph server of the tests, started inside the demo: the
remisser go out through it, the mail arrives in its inbox, and the demo ends with what
went through Graph. REMISS_DEMO_DATA puts the demo's data elsewhere than data/demo.

Ctrl-C, SIGTERM or SIGHUP stop the demo with everything it started (remiss.cli.stopping),
as does a failed step.
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
from collections import Counter
from collections.abc import Callable
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, Protocol

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from remiss.cli import stopping, up  # noqa: E402
from remiss.core import dates  # noqa: E402
from remiss.core.language import count, number  # noqa: E402
from remiss.reminders.policy import load_policy, schedule  # noqa: E402
from remiss.web.security import hash_password  # noqa: E402

DATA = Path(os.environ.get("REMISS_DEMO_DATA") or ROOT / "data" / "demo").resolve()
MAIL = os.environ.get("REMISS_DEMO_MAIL") or "outbox"
# The Graph server's names for the calls it answered, for the demo's summary.
CALL_NAMES = {
    "token": "token (msal)",
    "batch": "$batch",
    "create": "utkast",
    "send": "skicka",
    "find": "sök nyckel",
    "delta": "deltafrågor",
    "get": "läs",
    "value": "läs MIME",
    "move": "flytta",
    "patch": "märk",
    "folders": "mappar",
}
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


def free_port(*taken: int) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port not in taken:
            return port


def shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


class Mail(Protocol):
    """Where the demo's mail goes and comes from: the file outbox, or Graph on loopback."""

    where: str
    inbox: str

    def settings(self) -> dict[str, Any]: ...

    def env(self) -> dict[str, str]: ...

    def sent(self, kind: str) -> list[email.message.EmailMessage]: ...

    def sent_to(self, code: str, kind: str = "missiv") -> email.message.EmailMessage: ...

    def deliver(self, name: str, data: bytes, item_class: str = "IPM.Note") -> None: ...

    def stop(self) -> None: ...


def parse(data: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(data, policy=default_policy)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


class FileOutbox:
    """The embedded defaults: each message a .eml file in data/demo/outbox, the remiss
    mailbox a folder of .eml files."""

    def __init__(self) -> None:
        self.outbox = DATA / "outbox"
        self.where = f"ligger i {self.outbox}"
        self.inbox = str(shown(DATA / "inbox"))

    def settings(self) -> dict[str, Any]:
        return {}

    def env(self) -> dict[str, str]:
        return {}

    def sent(self, kind: str) -> list[email.message.EmailMessage]:
        return [parse(p.read_bytes()) for p in self.outbox.glob(f"*_{kind}*.eml")]

    def sent_to(self, code: str, kind: str = "missiv") -> email.message.EmailMessage:
        path = next(self.outbox.glob(f"*_{code}_{kind}_0.eml"))
        return parse(path.read_bytes())

    def deliver(self, name: str, data: bytes, item_class: str = "IPM.Note") -> None:
        inbox = DATA / "inbox"
        inbox.mkdir(exist_ok=True)
        (inbox / name).write_bytes(data)

    def stop(self) -> None:
        pass


class LoopbackGraph:
    """Microsoft Graph on loopback: the Graph server of the tests (tests/support), started
    in this process. Importing test support from a script is acceptable for a demo; the
    product itself never does. The commands reach it over HTTPS with its own CA file, log
    in with msal as an app limited to the remiss mailbox, and send and read through
    `remiss.mail.graph` exactly as against Exchange Online."""

    CLIENT_ID = "remiss-demo"
    SECRET = "demo-hemlighet"  # noqa: S105 (the loopback server's app, not a real secret)

    def __init__(self, mailbox: str) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.support.graph_server import App, GraphServer

        self.mailbox = mailbox
        self.server = GraphServer(
            {self.CLIENT_ID: App(self.SECRET, mailboxes=(mailbox,))}, mailboxes=[mailbox]
        ).start()
        self.where = f"gick ut genom Graph-testservern ({self.server.url})"
        self.inbox = f"inkorgen i {mailbox} på Graph-testservern"

    def settings(self) -> dict[str, Any]:
        return {
            "mail_backend": "graph",
            "graph_url": self.server.url,
            "graph_authority": self.server.authority,
            "graph_tenant_id": self.server.tenant,
            "graph_client_id": self.CLIENT_ID,
            "graph_ca_file": str(self.server.ca_file),
            "graph_mailbox": self.mailbox,
        }

    def env(self) -> dict[str, str]:
        # As in production, the secret comes from the environment, never the settings file.
        return {"REMISS_GRAPH_SECRET": self.SECRET}

    def _sent(self, code: str, kind: str) -> list[email.message.EmailMessage]:
        # The idempotency key is remiss-<round>/<code>/<kind>/<stage>.
        return [
            parse(m.mime)
            for m in list(self.server.sent_log)
            if re.fullmatch(rf"remiss-[^/]+/{code}/{kind}/\d+", str(m.key))
        ]

    def sent(self, kind: str) -> list[email.message.EmailMessage]:
        return self._sent("[^/]+", f"{kind}[^/]*")

    def sent_to(self, code: str, kind: str = "missiv") -> email.message.EmailMessage:
        return self._sent(re.escape(code), kind)[0]

    def deliver(self, name: str, data: bytes, item_class: str = "IPM.Note") -> None:
        self.server.deliver(self.mailbox, data, item_class)

    def summary(self) -> str:
        sent = list(self.server.sent_log)
        calls = Counter(self.server.calls)
        filed = [
            len(self.server.items(self.mailbox, f))
            for f in ("Remiss behandlade", "Remiss omatchade")
        ]
        # What reaches the recipient's Outlook as a follow-up flag by the deadline.
        flagged = sum(1 for m in sent if "/missiv/" in str(m.key) and "Reply-By" in m.headers)
        requests = ", ".join(f"{CALL_NAMES.get(op, op)} {n}" for op, n in sorted(calls.items()))
        return (
            f"\nGenom Microsoft Graph ({self.server.url}, appen {self.CLIENT_ID} i "
            f"klientorganisationen {self.server.tenant}):\n"
            f"- Skickat från {self.mailbox}: "
            f"{count(len(sent), 'meddelande', 'meddelanden', neuter=True)}, vart och ett först "
            "som ett utkast med sin idempotensnyckel\n"
            f"- Flaggade för uppföljning till svarsdagen (Reply-By) i mottagarens Outlook: "
            f"{count(flagged, 'remiss', 'remisser')}\n"
            f"- Lästa ur inkorgen med deltafrågor: "
            f"{count(filed[0] + filed[1], 'meddelande', 'meddelanden', neuter=True)}, "
            f"{number(filed[0], neuter=True)} flyttade till Remiss behandlade och "
            f"{number(filed[1], neuter=True)} till Remiss omatchade\n"
            f"- Anrop till Graph: {number(sum(calls.values()), neuter=True)} ({requests})"
        )

    def stop(self) -> None:
        self.server.stop()


def write_settings(port: int, mail: Mail) -> Path:
    """config/settings.yaml for data/demo, with the workspace's password; the demo's commands
    and the portal the user may start afterwards read the same file."""
    settings = yaml.safe_load((ROOT / "config" / "settings.yaml").read_text(encoding="utf-8"))
    settings.update(
        data_dir=str(DATA),
        base_url=f"http://127.0.0.1:{port}",
        register=str(ROOT / "config" / "remissinstanser.yaml"),
        reminder_policy=str(ROOT / "config" / "paminnelser.yaml"),
        admin_password_hash=hash_password(PASSWORD),
        **mail.settings(),
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


def start_in_the_workspace(
    base_url: str, deadline: dt.date, mail: Mail, prefect_ready: Callable[[], None]
) -> int:
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
    prefect_ready()  # the first step that hands work to Prefect
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
        raise SystemExit(
            f"Omgången sparades inte inom två minuter; se {shown(DATA / 'portal.log')}."
        )
    round_id = int(found.group(1))
    total = int(count.split()[0])
    for _ in range(600):
        if len(mail.sent("missiv")) >= total:
            break
        time.sleep(0.2)
    print(f"- Omgång {round_id} är sparad och {total} remissmissiv har skickats")
    return round_id


def link_for(code: str, mail: Mail) -> str:
    msg = mail.sent_to(code)
    # Graph sends the HTML body alone; the file outbox has a plain-text part as well.
    body = msg.get_body(preferencelist=("plain", "html"))
    assert body is not None
    match = re.search(r"https?://[^\s\"<>]+/r/[A-Za-z0-9_-]+", body.get_content())
    assert match
    return match.group(0)


class Official:
    """Someone at a remissinstans, with the link from their e-mail and a browser-like client."""

    def __init__(self, code: str, mail: Mail) -> None:
        self.code = code
        self.link = link_for(code, mail)
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


def answer_through_the_page(mail: Mail) -> None:
    print("\nTjänstepersoner svarar via sina länkar (över HTTP):", flush=True)
    social = Official("socialnamnden", mail)
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
    Official("servicenamnden", mail).post(
        "svar",
        {"stallningstagande": "tillstyrker_delvis", "att_sats": ["", "tillstyrker"]},
        [ANSWERS / "servicenamnden-tjansteutlatande.docx"],
    )
    print("- Servicenämnden svarade: tillstyrker delvis (att-sats 2: tillstyrker)")
    Official("exploateringsnamnden", mail).post(
        "svar",
        {"stallningstagande": "tillstyrker", "gemensamt": ["fastighetsnamnden"]},
        [ANSWERS / "exploateringsnamnden-fastighetsnamnden-tjansteutlatande.docx"],
    )
    print("- Exploateringsnämnden svarade gemensamt med fastighetsnämnden: tillstyrker")
    # The partner is asked (by e-mail, with its own link) and counts as answered only once
    # it confirms on its page.
    partner = Official("fastighetsnamnden", mail)
    claim = re.search(r'name="svar" value="(\d+)"', partner.page)
    assert claim, "fastighetsnämndens sida visar inte det gemensamma svaret"
    partner.post("gemensamt", {"svar": claim.group(1), "beslut": "bekrafta"})
    print("- Fastighetsnämnden bekräftade det gemensamma svaret via sin länk")
    Official("ks_rad_funktionshinder", mail).post(
        "avstar", {"skal": "Ärendet berör inte rådets frågor."}
    )
    print("- Kommunstyrelsens råd för funktionshinderfrågor avstår")
    Official("sodermalm", mail).post(
        "anstand",
        {
            "datum": dates.add_working_days(
                demo_deadline(dates.local_today(dates.utcnow())), 10
            ).isoformat(),
            "skal": "Nämnden sammanträder först efter svarsdagen.",
        },
    )
    print("- Södermalms stadsdelsnämnd begärde anstånd")
    Official("bromma", mail).post("kvittens", {"kontaktperson": "Registrator Bromma"})
    print("- Bromma stadsdelsnämnd bekräftade mottagandet; övriga har inte hört av sig än")


def mail_arrives(mail: Mail) -> None:
    """What the remiss mailbox receives: into the outbox backend's inbox folder, or the
    Graph server's inbox."""
    print(f"\nE-post kommer till remissbrevlådan ({mail.inbox}):", flush=True)
    original = mail.sent_to("kulturnamnden")
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
    mail.deliver("svar-kulturnamnden.eml", answer.as_bytes())
    print("- Kulturnämnden svarade på remissens e-post med sitt tjänsteutlåtande (PDF)")
    bounced = mail.sent_to("hasselby_vallingby")
    boundary = "demo-rapport"
    headers = "".join(f"{k}: {v}\r\n" for k, v in bounced.items() if k.lower() != "content-type")
    mail.deliver(
        "studs.eml",
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
        ).encode(),
        "REPORT.IPM.Note.NDR",  # as Exchange files a non-delivery report
    )
    print("- Remissen till Hässelby-Vällingby studsade (adressen finns inte)")
    question = email.message.EmailMessage()
    question["From"] = "medborgare@example.org"
    question["To"] = "remiss@stockholm.example"
    question["Subject"] = "Fråga om vänortsavtal"
    question["Message-ID"] = email.utils.make_msgid(domain="example.org")
    question.set_content("Hej, när beslutar kommunfullmäktige om motionen?\n")
    mail.deliver("fraga.eml", question.as_bytes())
    print("- En fråga som inte hör till någon remiss")


def main() -> None:
    if MAIL not in ("outbox", "graph"):
        raise SystemExit(f"REMISS_DEMO_MAIL={MAIL}: välj outbox (standard) eller graph.")
    if DATA.exists():
        shutil.rmtree(DATA)
    DATA.mkdir(parents=True)
    sender = yaml.safe_load((ROOT / "config" / "settings.yaml").read_text(encoding="utf-8"))[
        "sender_address"
    ]
    # SIGTERM and SIGHUP take the path of Ctrl-C, so that every `finally` below runs.
    stopping.install()
    try:
        mail: Mail = LoopbackGraph(sender) if MAIL == "graph" else FileOutbox()
        try:
            demo(mail)
        finally:
            mail.stop()
    except KeyboardInterrupt:
        print("\nDemon avbröts.", file=sys.stderr)
        raise SystemExit(128 + (stopping.received() or signal.SIGINT)) from None


def demo(mail: Mail) -> None:
    port = free_port()
    prefect_port = free_port(port)
    api_url = f"http://127.0.0.1:{prefect_port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMISS_", "PREFECT_API"))}
    env.update(
        REMISS_CONFIG=str(write_settings(port, mail)),
        PREFECT_HOME=str(DATA / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_API_URL=api_url,
        **mail.env(),
    )
    print(f"\n$ prefect server start --port {prefect_port}   (i bakgrunden)", flush=True)
    print(f"Prefects webbgränssnitt medan demon pågår: http://127.0.0.1:{prefect_port}")
    log = DATA / "prefect-server.log"
    server = up.spawn(up.prefect_server("127.0.0.1", prefect_port), env, log)
    try:
        # Everything up to "Skicka" in the workspace needs no Prefect: it runs while it starts.
        demo_round(mail, env, port, lambda: up.wait_for_prefect(api_url, server, log))
    finally:
        up.stop_group(server)


def demo_round(
    mail: Mail, env: dict[str, str], port: int, prefect_ready: Callable[[], None]
) -> None:
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
        start_in_the_workspace(f"http://127.0.0.1:{port}", deadline, mail, prefect_ready)
        answer_through_the_page(mail)
        # The page hands each answer to the process-answer flow in the background.
        for _ in range(120):
            if len(mail.sent("kvittens")) >= 3:
                print("- Kvittenserna har skickats av flödet behandla-svar", flush=True)
                break
            time.sleep(0.5)
    finally:
        # As systemd with KillMode=mixed and `docker stop` do: SIGTERM to the portal alone;
        # whatever is left then is ended.
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

    mail_arrives(mail)
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

    kinds = {
        kind: len(mail.sent(kind))
        for kind in ("missiv", "kvittens", "gemensamt_svar", "anstand_beslut", "paminnelse")
    }
    print(
        f"\nE-posten {mail.where}: {kinds['missiv']} remisser, "
        f"{kinds['kvittens']} kvittenser, {kinds['gemensamt_svar']} fråga om gemensamt svar, "
        f"{kinds['anstand_beslut']} beslut om anstånd och {kinds['paminnelse']} påminnelser."
    )
    if isinstance(mail, LoopbackGraph):
        print(mail.summary())
    print(f"Läget som JSON:  REMISS_DATA_DIR={shown(DATA)} .venv/bin/remiss status --json")
    settings = shown(DATA / "settings.yaml")
    print(
        f"Prova arbetsytan och svarssidan: REMISS_CONFIG={settings} .venv/bin/remiss portal "
        f"--port {port}  och öppna http://127.0.0.1:{port}/admin (lösenord: {PASSWORD})"
        + (
            ", eller länken i en av remisserna i utkorgen."
            if MAIL == "outbox"
            else ". Graph-testservern stängs när demon slutar: portalen visar allt som hänt "
            "men kan inte skicka e-post."
        )
    )


if __name__ == "__main__":
    main()
