"""A mail backend's secret: from the environment, else a Prefect Secret block; never a file."""

from __future__ import annotations

import os
from typing import Any

from remiss.core.errors import InputError


def load_secret(
    *, variable: str, block: str | None, block_field: str, missing: str, missing_field: str
) -> str:
    """The secret in `variable`, else in the Secret block named `block`; else an InputError
    with `missing` at `missing_field`."""
    secret = os.environ.get(variable)
    if secret:
        return secret
    if block:
        from prefect.blocks.system import Secret

        try:
            loaded: Any = Secret.load(block)
        except ValueError as exc:
            raise InputError(
                f"Prefect har inget Secret-block med det namnet ({exc})",
                field=block_field,
                value=block,
            ) from exc
        return str(loaded.get())
    raise InputError(missing, field=missing_field)
