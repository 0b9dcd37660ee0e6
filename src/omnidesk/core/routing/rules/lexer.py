"""Tokenizer: source text to tokens with 1-based line and column.

Hand-written over the characters (regular expressions only for the shape of names and
numbers). Line breaks are "\\n", "\\r\\n" or "\\r"; a column counts characters (code points).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from omnidesk.core.routing.rules.errors import RuleSyntaxError, line_and_column

MAX_RULE_LENGTH = 10_000

KEYWORDS = frozenset(
    {"and", "or", "not", "in", "has", "contains", "between", "true", "false", "null"}
)


class T(enum.Enum):
    NAME = "name"  # the first segment of a path or a function name: contact, agent, skill, lower
    SEGMENT = "segment"  # ".attributes", ".lang", ".3cx" (value is the text after the dot)
    NUMBER = "number"
    STRING = "string"
    OP = "operator"  # == != < <= > >=
    KEYWORD = "keyword"  # value is the upper-case keyword
    LPAREN = "("
    RPAREN = ")"
    LBRACKET = "["
    RBRACKET = "]"
    COMMA = ","
    EOF = "end of rule"


@dataclass(frozen=True, slots=True)
class Token:
    kind: T
    text: str  # the raw source text of the token
    value: object  # str for names/segments/strings/keywords/operators, int|float for numbers
    offset: int
    end: int
    line: int
    column: int

    def describe(self) -> str:
        if self.kind is T.EOF:
            return "the end of the rule"
        text = self.text if len(self.text) <= 30 else self.text[:27] + "..."
        return f"'{text}'"


# A name segment may contain hyphens between word characters (skill names like
# "follow-the-sun"); there is no subtraction in the language, so "a-b" is never ambiguous.
_NAME = re.compile(r"[^\W\d]\w*(?:-\w+)*")
_SEGMENT = re.compile(r"\w+(?:-\w+)*")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")  # ASCII digits only
_DIGITS = frozenset("0123456789")
_WORD_CHAR = re.compile(r"[\w.]")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")

_HINTS = {
    "=": "use '==' to test equality",
    "!": "use NOT, or '!=' to test inequality",
    "&": "use AND",
    "|": "use OR",
}


class Lexer:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.line = 1
        self.line_start = 0

    def error(self, message: str, offset: int | None = None) -> RuleSyntaxError:
        offset = self.pos if offset is None else offset
        return RuleSyntaxError(message, self.line, offset - self.line_start + 1, self.source)

    def token(self, kind: T, start: int, value: object) -> Token:
        return Token(
            kind,
            self.source[start : self.pos],
            value,
            start,
            self.pos,
            self.line,
            start - self.line_start + 1,
        )

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        src = self.source
        n = len(src)
        while True:
            self.skip_space_and_comments()
            if self.pos >= n:
                out.append(self.token(T.EOF, self.pos, None))
                return out
            out.append(self.next_token(src[self.pos]))

    def skip_space_and_comments(self) -> None:
        src = self.source
        n = len(src)
        while self.pos < n:
            ch = src[self.pos]
            if ch == "\n" or ch == "\r":
                self.pos += 2 if src.startswith("\r\n", self.pos) else 1
                self.line += 1
                self.line_start = self.pos
            elif ch.isspace():
                self.pos += 1
            elif ch == "#":
                while self.pos < n and src[self.pos] not in "\r\n":
                    self.pos += 1
            else:
                return

    def next_token(self, ch: str) -> Token:
        src = self.source
        start = self.pos
        if ch in _DIGITS or (ch == "-" and src[start + 1 : start + 2] in _DIGITS):
            return self.number()
        if ch == "'" or ch == '"':
            return self.string(ch)
        m = _NAME.match(src, start)
        if m:
            self.pos = m.end()
            word = m.group()
            if word.lower() in KEYWORDS:
                return self.token(T.KEYWORD, start, word.upper())
            return self.token(T.NAME, start, word)
        if ch == ".":
            m = _SEGMENT.match(src, start + 1)
            if m is None:
                raise self.error("a '.' must be followed by a name, as in contact.language")
            self.pos = m.end()
            return self.token(T.SEGMENT, start, m.group())
        two = src[start : start + 2]
        if two in ("==", "!=", "<=", ">="):
            self.pos += 2
            return self.token(T.OP, start, two)
        if two == "<>":
            raise self.error("use '!=' to test inequality")
        if ch in "<>":
            self.pos += 1
            return self.token(T.OP, start, ch)
        single = {"(": T.LPAREN, ")": T.RPAREN, "[": T.LBRACKET, "]": T.RBRACKET, ",": T.COMMA}
        if ch in single:
            self.pos += 1
            return self.token(single[ch], start, ch)
        if ch in _HINTS:
            raise self.error(f"unexpected '{ch}': {_HINTS[ch]}")
        shown = f"'{ch}'" if ch.isprintable() else repr(ch)
        raise self.error(f"unexpected character {shown}")

    def number(self) -> Token:
        start = self.pos
        m = _NUMBER.match(self.source, start)
        assert m is not None  # the caller checked for a digit
        self.pos = m.end()
        if _WORD_CHAR.match(self.source, self.pos):
            raise self.error("malformed number", start)
        text = m.group()
        value: int | float
        try:
            value = int(text) if m.group(1) is None and m.group(2) is None else float(text)
        except ValueError:  # more digits than int() accepts
            raise self.error("number too long", start) from None
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            raise self.error("number out of range", start)
        return self.token(T.NUMBER, start, value)

    def string(self, quote: str) -> Token:
        src = self.source
        n = len(src)
        start = self.pos
        self.pos += 1
        parts: list[str] = []
        while True:
            if self.pos >= n or src[self.pos] in "\r\n":
                raise self.error("unterminated string", start)
            ch = src[self.pos]
            if ch == quote:
                self.pos += 1
                return self.token(T.STRING, start, "".join(parts))
            if ch != "\\":
                parts.append(ch)
                self.pos += 1
                continue
            esc = src[self.pos + 1 : self.pos + 2]
            if esc in _ESCAPES:
                parts.append(_ESCAPES[esc])
                self.pos += 2
            elif esc == "u" and _HEX4.fullmatch(src, self.pos + 2, self.pos + 6):
                code = int(src[self.pos + 2 : self.pos + 6], 16)
                if 0xD800 <= code <= 0xDFFF:
                    raise self.error("a \\u escape cannot be a surrogate code point")
                parts.append(chr(code))
                self.pos += 6
            elif esc == "u":
                raise self.error("a \\u escape needs four hex digits, as in \\u00e9")
            elif esc in ("", "\r", "\n"):
                raise self.error("unterminated string", start)
            else:
                raise self.error(
                    f"unknown escape '\\{esc}' (use \\\\ \\' \\\" \\n \\t \\r \\0 or \\uXXXX)"
                )


def tokenize(source: str) -> list[Token]:
    if len(source) > MAX_RULE_LENGTH:
        line, column = line_and_column(source, MAX_RULE_LENGTH)
        raise RuleSyntaxError(
            f"the rule is too long ({len(source)} characters; at most {MAX_RULE_LENGTH})",
            line,
            column,
            source,
        )
    return Lexer(source).tokens()
