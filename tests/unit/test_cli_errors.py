"""How the CLI reports a flow that failed, without the traceback a user cannot act on."""

from __future__ import annotations

import pytest
import typer
from sqlalchemy.exc import OperationalError

from remiss.cli import temporary_server
from remiss.cli.app import run_flow


@pytest.fixture(autouse=True)
def no_prefect_server(monkeypatch: pytest.MonkeyPatch) -> None:
    # These "flows" never talk to Prefect: its temporary server and its log line are not
    # what is tested here.
    monkeypatch.setattr(temporary_server, "start", lambda: None)


def test_a_database_lost_inside_a_flow_is_one_clear_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def flow() -> None:
        raise OperationalError(
            "UPDATE utgaende_meddelande SET state=%(state)s",
            {"state": "sent"},
            Exception("server closed the connection unexpectedly\n\tThis probably means …"),
        )

    with pytest.raises(typer.Exit) as exited:
        run_flow(flow)
    assert exited.value.exit_code == 1
    message = " ".join(capsys.readouterr().err.split())
    assert message.startswith("Fel: databasen gick inte att nå eller avbröt arbetet")
    assert "(server closed the connection unexpectedly)" in message
    assert "inget skickas två gånger" in message
    assert "UPDATE" not in message
    assert "This probably means" not in message
