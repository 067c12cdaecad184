"""Every setting is documented where an operator looks: config/settings.yaml and the README."""

from __future__ import annotations

import pytest

from remiss.settings import _ENV, PROJECT_ROOT

SETTINGS_FILE = (PROJECT_ROOT / "config" / "settings.yaml").read_text(encoding="utf-8")
README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("key", "variable"), sorted(_ENV.items()))
def test_every_setting_is_documented(key: str, variable: str) -> None:
    assert f"{key}:" in SETTINGS_FILE, f"{key} is missing from config/settings.yaml"
    assert variable in README, f"{variable} is missing from README.md"


def test_the_secret_key_variable_is_documented() -> None:
    assert "REMISS_SECRET_KEY" in README
    assert "REMISS_SECRET_KEY" in SETTINGS_FILE
