"""User-facing errors.

Every mistake a user can make (config, asset, argument, output folder) raises :class:`InputError`.
The CLI turns it into exit code 2 and one line ``error: <where>: <what>`` on stderr, never a traceback.
"""
from __future__ import annotations


class InputError(Exception):
    """Bad user input. ``where`` names the file[:line] and/or key path, ``what`` the problem."""

    def __init__(self, where: str, what: str):
        super().__init__(f"{where}: {what}" if where else what)
        self.where = where
        self.what = what

    def line(self) -> str:
        """The single line the CLI prints (control characters escaped, length capped)."""
        return one_line(f"error: {self}")


class ConfigError(InputError):
    """A problem in a config file: ``file[:line]: key.path: what``."""

    def __init__(self, file: str | None, key: str, what: str, line: int | None = None):
        parts = []
        if file:
            parts.append(f"{file}:{line}" if line else str(file))
        if key:
            parts.append(key)
        super().__init__(": ".join(parts), what)
        self.file = file
        self.key = key
        self.lineno = line


class ConfigErrors(InputError):
    """Several config problems at once (``synthblend check`` reports them all)."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.where, first.what)

    def lines(self) -> list[str]:
        return [e.line() for e in self.errors]


MAX_LINE = 400


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """``text`` as one printable line: newlines and other control characters escaped (a file name
    or value may hold them), cut to ``limit`` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
    return text if len(text) <= limit else text[: limit - 3] + "..."
