"""The one error a rule can raise: at compile time, with a 1-based line and column."""

from __future__ import annotations

import re

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(source: str) -> list[str]:
    # The lexer counts "\r\n", "\r" and "\n" as one line break each; str.splitlines() would also
    # split on form feeds and Unicode separators and so disagree with the reported line numbers.
    return _LINE_BREAK.split(source)


def line_and_column(source: str, offset: int) -> tuple[int, int]:
    lines = split_lines(source[:offset])
    return len(lines), len(lines[-1]) + 1


class RuleSyntaxError(ValueError):
    """A rule that cannot be compiled. Raised only by `compile_rule`, never by `Rule.matches`."""

    def __init__(self, message: str, line: int, column: int, source: str | None = None) -> None:
        super().__init__(message, line, column)
        self.message = message
        self.line = line
        self.column = column
        self.source = source

    def __str__(self) -> str:
        return f"{self.message} (line {self.line}, column {self.column})"

    def __repr__(self) -> str:
        return f"RuleSyntaxError({self.message!r}, line={self.line}, column={self.column})"

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.line, self.column, self.source))

    def pointer(self) -> str:
        """The offending line and a caret under the column, for an admin UI or API response.

        Tabs before the column are kept so the caret lines up in a terminal or <pre> block.
        Returns "" when the source is not known.
        """
        if self.source is None:
            return ""
        lines = split_lines(self.source)
        if not 1 <= self.line <= len(lines):
            return ""
        text = lines[self.line - 1]
        prefix = "".join("\t" if ch == "\t" else " " for ch in text[: self.column - 1])
        prefix += " " * max(0, self.column - 1 - len(text))
        return f"{text}\n{prefix}^"

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready shape for API error bodies."""
        return {
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "pointer": self.pointer(),
        }
