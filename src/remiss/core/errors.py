"""Errors that carry a message a user can act on."""

from __future__ import annotations


class RemissError(Exception):
    """Base for errors shown to the user as they are (in Swedish)."""


class InputError(RemissError):
    """Bad input in a file, option or form: names where and what.

    The CLI turns it into exit code 2; nothing has been stored or sent when it is raised.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        self.message = message
        self.source = source
        self.field = field
        self.value = value
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(str(self.source))
        if self.field:
            # A command-line option is a flagga; a key in a file or form is a fält.
            kind = "flaggan" if self.field.startswith("-") else "fältet"
            where.append(f"{kind} {self.field}")
        prefix = ", ".join(where)
        text = f"{prefix}: {self.message}" if prefix else self.message
        if self.value is not None:
            text += f" (värde: {self.value!r})"
        return text


class ConflictError(RemissError):
    """The request is valid but clashes with what is already stored (exit code 2)."""


class NotFoundError(RemissError):
    """A round, case or remissinstans that the user named does not exist."""
