"""Settings: config/settings.yaml, overridden by REMISS_* environment variables."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from remiss.core.errors import InputError
from remiss.core.settings import PROJECT_ROOT, Settings, load_settings

ConfigWriter = Callable[[str], Path]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder holding config/, like the project root."""
    (tmp_path / "projekt" / "config").mkdir(parents=True)
    return tmp_path / "projekt"


@pytest.fixture
def write_config(project: Path) -> ConfigWriter:
    def write(text: str) -> Path:
        path = project / "config" / "settings.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def _load(config: Path, **env: str) -> Settings:
    return load_settings({"REMISS_CONFIG": str(config), **env})


def _error(config: Path, **env: str) -> str:
    with pytest.raises(InputError) as info:
        _load(config, **env)
    return str(info.value)


def test_defaults_put_sqlite_and_the_outbox_under_data_dir(
    write_config: ConfigWriter, project: Path
) -> None:
    settings = _load(write_config(""))
    data_dir = (project / "data").resolve()
    assert settings.data_dir == data_dir
    assert settings.database_url == f"sqlite:///{data_dir / 'remiss.db'}"
    assert settings.outbox_dir == data_dir / "outbox"
    assert settings.documents_dir == data_dir / "documents"
    assert settings.mail_backend == "outbox"
    assert settings.timezone == "Europe/Stockholm"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.send_lease_seconds == 300
    assert settings.register == PROJECT_ROOT / "config" / "remissinstanser.yaml"


def test_an_empty_database_url_in_the_file_means_sqlite_under_data_dir(
    write_config: ConfigWriter,
) -> None:
    settings = _load(write_config('data_dir: /srv/remiss\ndatabase_url: ""\n'))
    assert settings.database_url == "sqlite:////srv/remiss/remiss.db"
    assert settings.outbox_dir == Path("/srv/remiss/outbox")


def test_values_in_the_file_are_used(write_config: ConfigWriter) -> None:
    path = write_config(
        "data_dir: /srv/remiss\n"
        "database_url: postgresql+psycopg://remiss@db/remiss\n"
        "base_url: https://remiss.stockholm.example/\n"
        "timezone: Europe/Helsinki\n"
        "sender_address: slk@stockholm.example\n"
        "sender_name: Stadsledningskontoret, kansliet\n"
        "send_lease_seconds: 600\n"
    )
    settings = _load(path)
    assert settings.data_dir == Path("/srv/remiss")
    assert settings.database_url == "postgresql+psycopg://remiss@db/remiss"
    assert settings.base_url == "https://remiss.stockholm.example"
    assert settings.timezone == "Europe/Helsinki"
    assert settings.sender_address == "slk@stockholm.example"
    assert settings.sender_name == "Stadsledningskontoret, kansliet"
    assert settings.send_lease_seconds == 600
    assert settings.source == str(path)


def test_environment_variables_override_the_file(write_config: ConfigWriter) -> None:
    path = write_config(
        "data_dir: /srv/remiss\n"
        "base_url: https://fil.stockholm.example\n"
        "timezone: Europe/Helsinki\n"
        "send_lease_seconds: 600\n"
        "sender_name: Från filen\n"
    )
    settings = _load(
        path,
        REMISS_DATA_DIR="/var/lib/remiss",
        REMISS_BASE_URL="https://env.stockholm.example/",
        REMISS_TIMEZONE="Europe/Stockholm",
        REMISS_SEND_LEASE_SECONDS="120",
        REMISS_DATABASE_URL="postgresql+psycopg://remiss@env/remiss",
        REMISS_MAIL_BACKEND="test",
        REMISS_SENDER_ADDRESS="env@stockholm.example",
    )
    assert settings.data_dir == Path("/var/lib/remiss")
    assert settings.base_url == "https://env.stockholm.example"
    assert settings.timezone == "Europe/Stockholm"
    assert settings.send_lease_seconds == 120
    assert settings.database_url == "postgresql+psycopg://remiss@env/remiss"
    assert settings.mail_backend == "test"
    assert settings.sender_address == "env@stockholm.example"
    assert settings.sender_name == "Från filen"


def test_an_empty_environment_variable_does_not_override(write_config: ConfigWriter) -> None:
    settings = _load(write_config("base_url: https://fil.stockholm.example\n"), REMISS_BASE_URL="")
    assert settings.base_url == "https://fil.stockholm.example"


def test_relative_paths_in_the_file_are_taken_from_the_folder_holding_config(
    write_config: ConfigWriter,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elsewhere = tmp_path / "annanstans"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write_config(
        "data_dir: var/data\noutbox_dir: var/utkorg\nregister: config/instanser.yaml\n"
    )
    settings = _load(path)
    root = project.resolve()
    assert settings.data_dir == root / "var" / "data"
    assert settings.outbox_dir == root / "var" / "utkorg"
    assert settings.register == root / "config" / "instanser.yaml"
    assert settings.database_url == f"sqlite:///{root / 'var' / 'data' / 'remiss.db'}"


def test_relative_paths_in_environment_variables_are_taken_from_the_working_directory(
    write_config: ConfigWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "annanstans"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = _load(
        write_config("data_dir: var/data\n"),
        REMISS_DATA_DIR="mina_data",
        REMISS_REGISTER="instanser.yaml",
    )
    assert settings.data_dir == elsewhere.resolve() / "mina_data"
    assert settings.register == elsewhere.resolve() / "instanser.yaml"


def test_an_unknown_key_in_the_file_is_named(write_config: ConfigWriter) -> None:
    path = write_config("data_dir: data\nsmtp_password: hemligt\n")
    message = _error(path)
    assert str(path) in message
    assert "fältet smtp_password" in message
    assert "okänd inställning" in message
    assert "send_lease_seconds" in message


def test_unknown_keys_of_mixed_types_are_an_input_error_not_a_crash(
    write_config: ConfigWriter,
) -> None:
    path = write_config("1: ett\nsmtp_host: mail\n")
    message = _error(path)
    assert str(path) in message
    assert "okänd inställning" in message


@pytest.mark.parametrize("timezone", ["Europe/Stokholm", "CET+1", "../etc/passwd"])
def test_an_unknown_timezone_is_refused(write_config: ConfigWriter, timezone: str) -> None:
    path = write_config(f"timezone: {timezone}\n")
    message = _error(path)
    assert str(path) in message
    assert "fältet timezone" in message
    assert repr(timezone) in message


def test_an_unknown_timezone_from_the_environment_is_refused(write_config: ConfigWriter) -> None:
    message = _error(write_config(""), REMISS_TIMEZONE="Mars/Olympus")
    assert "fältet timezone" in message
    assert "'Mars/Olympus'" in message


@pytest.mark.parametrize(
    "base_url", ["remiss.stockholm.example", "ftp://remiss.stockholm.example", "//remiss"]
)
def test_a_base_url_without_http_or_https_is_refused(
    write_config: ConfigWriter, base_url: str
) -> None:
    path = write_config(f'base_url: "{base_url}"\n')
    message = _error(path)
    assert str(path) in message
    assert "fältet base_url" in message
    assert repr(base_url) in message


@pytest.mark.parametrize("lease", ["fem minuter", "[300]"])
def test_send_lease_seconds_must_be_a_whole_number(write_config: ConfigWriter, lease: str) -> None:
    message = _error(write_config(f"send_lease_seconds: {lease}\n"))
    assert "fältet send_lease_seconds" in message


@pytest.mark.parametrize("lease", ["0", "-300"])
def test_send_lease_seconds_must_be_positive_or_every_claim_would_be_stale(
    write_config: ConfigWriter, lease: str
) -> None:
    message = _error(write_config(f"send_lease_seconds: {lease}\n"))
    assert "fältet send_lease_seconds" in message
    assert f"(värde: {int(lease)!r})" in message


def test_a_zero_lease_from_the_environment_is_refused_too(write_config: ConfigWriter) -> None:
    message = _error(write_config(""), REMISS_SEND_LEASE_SECONDS="0")
    assert "fältet send_lease_seconds" in message


def test_exchange_retries_must_end_inside_the_send_lease(write_config: ConfigWriter) -> None:
    """A sender still retrying when its claim runs out could be overtaken by another process,
    and the remiss would go out twice (issue 23): such settings are refused at start."""
    message = _error(
        write_config("mail_backend: exchange\nsend_lease_seconds: 200\n"),
        REMISS_EWS_MAX_WAIT_SECONDS="150",
    )
    assert "fältet ews_max_wait_seconds" in message
    assert "(210 s) ska vara kortare än send_lease_seconds (200 s)" in message
    assert "två gånger" in message


def test_the_shipped_exchange_settings_end_their_retries_inside_the_lease(
    write_config: ConfigWriter,
) -> None:
    settings = _load(write_config("mail_backend: exchange\n"))
    assert settings.ews_max_wait_seconds + settings.ews_timeout_seconds < (
        settings.send_lease_seconds
    )
    shipped = _load(PROJECT_ROOT / "config" / "settings.yaml", REMISS_MAIL_BACKEND="exchange")
    assert shipped.ews_max_wait_seconds + shipped.ews_timeout_seconds < (shipped.send_lease_seconds)


def test_a_missing_settings_file_named_by_remiss_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config" / "saknas.yaml"
    message = _error(path)
    assert str(path) in message
    assert "finns inte" in message


def test_malformed_settings_yaml_is_refused_naming_the_file(write_config: ConfigWriter) -> None:
    path = write_config("data_dir: [data\n")
    message = _error(path)
    assert str(path) in message
    assert "YAML" in message


def test_a_settings_file_that_is_a_list_is_refused(write_config: ConfigWriter) -> None:
    path = write_config("- data_dir\n- timezone\n")
    message = _error(path)
    assert str(path) in message
    assert "nycklar" in message


def test_the_shipped_settings_file_loads() -> None:
    settings = load_settings({"REMISS_CONFIG": str(PROJECT_ROOT / "config" / "settings.yaml")})
    assert settings.base_url.startswith(("http://", "https://"))
    assert settings.register.is_file()


def test_processes_starting_at_once_on_a_fresh_data_folder_share_one_whole_secret_key(
    write_config: ConfigWriter, tmp_path: Path
) -> None:
    """Found with two workers on a fresh data folder (issue 23): the key file was created
    with O_EXCL and written afterwards, so a second process failed with FileExistsError
    or read an empty key, and its links could not be made again for reminders."""
    for attempt in range(20):
        settings = dataclasses.replace(
            _load(write_config("")), data_dir=tmp_path / f"data-{attempt}"
        )
        barrier = threading.Barrier(8)

        def read_key(s: Settings = settings, b: threading.Barrier = barrier) -> bytes:
            b.wait()
            return s.secret_key()

        with ThreadPoolExecutor(8) as pool:
            keys = [f.result() for f in [pool.submit(read_key) for _ in range(8)]]
        assert len(set(keys)) == 1
        assert len(keys[0]) == 64
        assert [p.name for p in settings.data_dir.iterdir()] == ["secret.key"]
