"""The `remiss` command line end to end: bad input, a whole round, and status."""

from __future__ import annotations

import datetime as dt
import email
import re
from email.policy import default as default_policy
from pathlib import Path

import pytest

from remiss.core.dates import holiday_name, local_today, utcnow
from tests.conftest import future_deadline
from tests.e2e.conftest import RunCli, status_json
from tests.support.mailers import send_calls


def next_weekday(weekday: int) -> dt.date:
    """A plain Saturday or Sunday ahead: one that is also a holiday (annandag jul) is
    refused in the holiday's name instead."""
    day = local_today(utcnow()) + dt.timedelta(days=14)
    while day.weekday() != weekday or holiday_name(day) is not None:
        day += dt.timedelta(days=1)
    return day


def next_christmas_eve() -> dt.date:
    today = local_today(utcnow())
    eve = dt.date(today.year, 12, 24)
    return eve if eve > today else dt.date(today.year + 1, 12, 24)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


# (what is wrong, change to the case file, extra options, words the message must hold)
BAD_INPUT: list[tuple[str, tuple[str, str] | None, list[str], list[str]]] = [
    ("malformed yaml", ("rubrik: Motion", "rubrik: [Motion"), [], ["arende.yaml", "YAML", "rad"]),
    (
        "missing field",
        ("svar_senast: 2027-01-29\n", ""),
        [],
        ["arende.yaml", "svar_senast", "saknas"],
    ),
    (
        "unknown field",
        ("arendetyp: motion", "arendetyp: motion\nmottagare: alla"),
        [],
        ["mottagare"],
    ),
    (
        "unknown remissinstans",
        ("- socialnamnden", "- socialnamden"),
        [],
        ["remissinstanser", "socialnamden"],
    ),
    ("unknown --till group", None, ["--till", "stadsdelar"], ["flaggan --till", "stadsdelar"]),
    # The English names are hidden aliases; the message names the Swedish flag.
    ("deadline not a date", None, ["--deadline", "2027-02-30"], ["--svarsdag", "2027-02-30"]),
    (
        "deadline in the past",
        None,
        ["--deadline", "2020-01-07"],
        ["Fel i kommandoraden, flaggan --svarsdag", "2020-01-07", "efter i dag"],
    ),
    (
        "missing handling",
        ("fil: motion.pdf", "fil: saknas.pdf"),
        [],
        ["handlingar[0].fil", "saknas.pdf"],
    ),
    (
        "invalid e-mail",
        ("karin.lindqvist@stockholm.example", "karin.lindqvist@"),
        [],
        ["handlaggare.epost"],
    ),
]


@pytest.mark.parametrize(
    ("change", "options", "expected"),
    [pytest.param(c, o, e, id=name) for name, c, o, e in BAD_INPUT],
)
def test_bad_input_exits_2_names_the_problem_and_stores_nothing(
    run_cli: RunCli,
    case_dir: Path,
    cli_env: dict[str, str],
    change: tuple[str, str] | None,
    options: list[str],
    expected: list[str],
) -> None:
    assert run_cli("init").returncode == 0
    case = case_dir / "arende.yaml"
    if change:
        edit(case, *change)
    if "--deadline" not in options:
        options = [*options, "--deadline", future_deadline().isoformat()]
    result = run_cli("round", "start", str(case), *options)
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert message.startswith(("Fel:", "Fel i kommandoraden,"))
    for word in expected:
        assert word in message
    assert status_json(run_cli)["rounds"] == []
    assert not (Path(cli_env["REMISS_DATA_DIR"]) / "outbox").exists()


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        pytest.param(next_weekday(5), "lördag", id="saturday"),
        pytest.param(next_weekday(6), "söndag", id="sunday"),
        pytest.param(next_christmas_eve(), "julafton", id="julafton"),
    ],
)
def test_deadline_on_a_day_off_is_refused_unless_forced(
    run_cli: RunCli, case_dir: Path, day: dt.date, reason: str
) -> None:
    assert run_cli("init").returncode == 0
    case = str(case_dir / "arende.yaml")
    refused = run_cli("round", "start", case, "--deadline", day.isoformat(), "--to", "kpr")
    assert refused.returncode == 2
    assert reason in refused.stderr
    assert "--tvinga" in refused.stderr
    forced = run_cli(
        "round", "start", case, "--deadline", day.isoformat(), "--to", "kpr", "--tvinga"
    )
    assert forced.returncode == 0, forced.stderr
    assert status_json(run_cli)["rounds"][0]["svar_senast"] == day.isoformat()


def test_duplicate_code_in_register_is_refused(
    run_cli: RunCli, cli_env: dict[str, str], tmp_path: Path
) -> None:
    from tests.conftest import ROOT

    register = tmp_path / "register.yaml"
    text = (ROOT / "config" / "remissinstanser.yaml").read_text(encoding="utf-8")
    register.write_text(text.replace("- kod: farsta", "- kod: bromma"), encoding="utf-8")
    result = run_cli("init", env={**cli_env, "REMISS_REGISTER": str(register)})
    assert result.returncode == 2
    assert "register.yaml" in result.stderr
    assert "bromma" in result.stderr
    assert "mer än en gång" in result.stderr


def test_commands_before_init_say_what_to_do(run_cli: RunCli) -> None:
    result = run_cli("status")
    assert result.returncode == 1
    assert "remiss init" in result.stderr


def test_an_unreachable_database_is_named_without_its_password(
    run_cli: RunCli, cli_env: dict[str, str]
) -> None:
    env = dict(
        cli_env,
        REMISS_DATABASE_URL="postgresql+psycopg://remiss:hemligt-lösen@127.0.0.1:9/remiss",
    )
    for command in (["status"], ["remind"]):
        result = run_cli(*command, env=env)
        assert result.returncode == 1, result.stderr
        assert "Kan inte ansluta till databasen" in result.stderr
        assert "127.0.0.1:9" in result.stderr
        assert "hemligt" not in result.stderr + result.stdout


def test_every_command_has_help(run_cli: RunCli) -> None:
    for command in (
        [],
        ["init"],
        ["instanser"],
        ["round"],
        ["round", "start"],
        ["round", "send"],
        ["status"],
    ):
        result = run_cli(*command, "--help")
        assert result.returncode == 0, command
        assert "Användning" in result.stdout


def test_instanser_lists_the_register_and_groups(run_cli: RunCli) -> None:
    result = run_cli("instanser", "--group", "stadsdelsnamnder")
    assert result.returncode == 0, result.stderr
    for name in ("Järva", "Hässelby-Vällingby", "Enskede-Årsta-Vantörs", "Skärholmens"):
        assert name in result.stdout
    assert result.stdout.count("stadsdelsnamnd ") + result.stdout.count("stadsdelsnämnd ") >= 11
    unknown = run_cli("instanser", "--group", "alla")
    assert unknown.returncode == 2
    assert "alla" in unknown.stderr


def test_a_round_from_case_file_to_outbox(
    run_cli: RunCli, case_dir: Path, cli_env: dict[str, str]
) -> None:
    outbox = Path(cli_env["REMISS_DATA_DIR"]) / "outbox"
    assert run_cli("init").returncode == 0
    deadline = future_deadline()
    started = run_cli(
        "round", "start", str(case_dir / "arende.yaml"), "--deadline", deadline.isoformat()
    )
    assert started.returncode == 0, started.stderr
    assert "skickad" in started.stdout

    files = sorted(outbox.glob("*.eml"))
    doc = status_json(run_cli)
    (rnd,) = doc["rounds"]
    assert rnd["counts"]["sent"] == rnd["counts"]["total"] == len(files) == 18
    messages = [email.message_from_bytes(p.read_bytes(), policy=default_policy) for p in files]
    assert sorted(str(m["To"]) for m in messages) == sorted(d["email"] for d in rnd["dispatches"])
    links = set()
    for msg in messages:
        body = msg.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        links.update(re.findall(r"https://remiss\.stockholm\.example/r/[A-Za-z0-9_-]{32,}", text))
        assert "KS 2025/348" in str(msg["Subject"])
    assert len(links) == 18, "each remissinstans has its own link"

    again = run_cli(
        "round", "start", str(case_dir / "arende.yaml"), "--deadline", deadline.isoformat()
    )
    assert again.returncode == 2
    assert "pågående remissomgång" in again.stderr
    assert len(list(outbox.glob("*.eml"))) == 18
    assert set(send_calls(outbox).values()) == {1}

    by_dnr = status_json(run_cli, "KS 2025/348")
    assert by_dnr["rounds"][0]["id"] == rnd["id"]
    table = run_cli("status", str(rnd["id"]))
    assert "Järva stadsdelsnämnd" in table.stdout
    assert "18 av 18 skickade" in table.stdout


def test_init_shows_the_database_without_its_password(
    run_cli: RunCli, cli_env: dict[str, str], postgres_url: str
) -> None:
    assert ":remiss@" in postgres_url, "the test database's address carries a password"
    env = {**cli_env, "REMISS_DATABASE_URL": postgres_url}
    result = run_cli("init", env=env)
    assert result.returncode == 0, result.stderr
    assert "Databas: postgresql+psycopg://remiss:***@" in result.stdout
    assert ":remiss@" not in result.stdout + result.stderr
