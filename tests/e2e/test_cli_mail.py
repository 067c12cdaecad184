"""`remiss mail check`, `remiss inbox poll/unmatched` and `remiss answer review` as a user
runs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import future_deadline
from tests.e2e.conftest import RunCli, status_json
from tests.support.documents import pdf_bytes
from tests.support.ews_server import EwsServer, Rights
from tests.support.incoming import reply, report
from tests.support.rounds import read_eml

BOX = "remiss@stockholm.example"


@pytest.fixture
def ews() -> Iterator[EwsServer]:
    with EwsServer({"svc": "hemligt"}, {"svc": Rights(delegate=[BOX])}, mailboxes=[BOX]) as server:
        yield server


def exchange_env(cli_env: dict[str, str], ews: EwsServer, secret: str | None) -> dict[str, str]:
    env = dict(
        cli_env,
        REMISS_MAIL_BACKEND="exchange",
        REMISS_EWS_URL=ews.url,
        REMISS_EWS_AUTH="basic",
        REMISS_EWS_USERNAME="svc",
    )
    if secret is not None:
        env["REMISS_EWS_SECRET"] = secret
    return env


def test_mail_check_says_what_it_found_and_what_is_wrong(
    run_cli: RunCli, cli_env: dict[str, str], ews: EwsServer
) -> None:
    good = run_cli("mail", "check", env=exchange_env(cli_env, ews, "hemligt"))
    assert good.returncode == 0, good.stderr
    assert "Inkorgen: 0 meddelanden" in good.stdout
    assert "Inställningarna fungerar." in good.stdout

    wrong = run_cli("mail", "check", env=exchange_env(cli_env, ews, "fel"))
    assert wrong.returncode == 1
    assert "Fel: Exchange godtog inte inloggningen som svc" in wrong.stderr
    assert "Traceback" not in wrong.stderr

    missing = run_cli("mail", "check", env=exchange_env(cli_env, ews, None))
    assert missing.returncode == 2
    assert "REMISS_EWS_SECRET" in missing.stderr


def test_answers_by_e_mail_from_poll_to_review(
    run_cli: RunCli, cli_env: dict[str, str], case_dir: Path
) -> None:
    assert run_cli("init").returncode == 0
    started = run_cli(
        "round", "start", str(case_dir / "arende.yaml"), "--to", "rad",
        "--deadline", future_deadline().isoformat(),
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    data = Path(cli_env["REMISS_DATA_DIR"])
    inbox = data / "inbox"
    inbox.mkdir()
    kpr = read_eml(next((data / "outbox").glob("*_kpr_missiv_0.eml")))
    pdf = (("yttrande.pdf", pdf_bytes("Rådets yttrande"), "application/pdf"),)
    (inbox / "1.eml").write_bytes(reply(kpr, sender="kpr@stockholm.example", files=pdf))
    (inbox / "2.eml").write_bytes(
        report(read_eml(next((data / "outbox").glob("*_konstradet_missiv_0.eml"))), action="failed")
    )
    (inbox / "3.eml").write_bytes(reply(kpr, threaded=False, subject="Fråga om lunchen"))

    polled = run_cli("inbox", "poll")

    assert polled.returncode == 0, polled.stderr
    assert "Svar: 1." in polled.stdout
    assert "Omatchade: 1." in polled.stdout
    assert "Studsade: Stockholms konstråd <konstradet@stockholm.example>" in polled.stderr
    unmatched = run_cli("inbox", "unmatched")
    assert "Fråga om lunchen" in unmatched.stdout
    table = run_cli("status", "1")
    assert "svar inkommet via e-post, ska granskas" in " ".join(table.stdout.split())
    assert "Ett svar som kom med e-post ska granskas (remiss answer review)." in " ".join(
        table.stdout.split()
    )
    listed = run_cli("answer", "review")
    assert "kpr" in listed.stdout
    assert "yttrande.pdf" in listed.stdout

    bad = run_cli("answer", "review", "1", "kpr", "--stallningstagande", "kanske")
    assert bad.returncode == 2
    assert "--stallningstagande" in bad.stderr
    done = run_cli(
        "answer", "review", "1", "kpr", "--stallningstagande", "avstyrker",
        "--att-sats", "1=avstyrker", "--granskad-av", "Eva Registrator",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "version 2" in done.stdout
    doc = status_json(run_cli, "1")
    dispatches = {d["code"]: d for d in doc["rounds"][0]["dispatches"]}
    assert dispatches["kpr"]["answer"]["position"] == "avstyrker"
    assert dispatches["konstradet"]["progress"] == "bounced"
    assert run_cli("answer", "review").stdout.strip() == "Inga svar väntar på granskning."


def test_the_smtp_backend_cannot_read_a_mailbox(run_cli: RunCli, cli_env: dict[str, str]) -> None:
    assert run_cli("init").returncode == 0
    env = dict(cli_env, REMISS_MAIL_BACKEND="smtp", REMISS_SMTP_HOST="smtp.stockholm.example")
    result = run_cli("inbox", "poll", env=env)
    assert result.returncode == 2
    assert "SMTP-tjänsten kan bara skicka" in result.stderr
