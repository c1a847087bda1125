"""Parsing AirScript (v0.4.0) source into a lark tree, with one-line ``path:line:col`` errors.

The grammar is ``grammar.lark`` (LALR(1), lark): lark is pure Python, reads a standalone grammar file and
reports the position and the expected tokens of a syntax error, which is what an author needs.

Degree claims are read from the source text beside the tree (comments are not tokens):
``# degree 5``, ``# degree: 5``, ``# deg = 5`` in a trailing comment on a line of a statement, ``| degree=5``
/ ``| deg = 5`` written after the constraint (the form proposed in air-script #474), and a comment line
``# Constraint degree: 5`` directly above the statement (the form Miden's .air files use, air-script
constraints/miden-vm/*.air on main).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

__all__ = ["AirScriptError", "Source", "parse_source", "parse_file"]


class AirScriptError(ValueError):
    """A syntax or semantic error in an AirScript file; ``str`` is one line ``path:line:col: what (expected ...)``."""

    def __init__(self, path: str, line: int, col: int, what: str):
        self.path, self.line, self.col, self.what = path, line, col, what
        super().__init__(f"{path}:{line}:{col}: {what}")


# `| degree=5` after a constraint (blanked before parsing: `|` is also the `or` operator)
_BAR_CLAIM = re.compile(r"\|\s*deg(?:ree)?\s*[=:]\s*(\d+)")
# a trailing comment `# degree 5`, `# degree: 5`, `# deg = 5`, `# Constraint degree: 5`
_COMMENT_CLAIM = re.compile(r"#.*?\bdeg(?:ree)?\b\s*[=:]?\s*(\d+)", re.IGNORECASE)
# a comment line above a statement: `# Constraint degree: 5` / `# Constraints degree: 5`
_ABOVE_CLAIM = re.compile(r"^\s*#\s*constraints?\s+degree\s*[=:]?\s*(\d+)\s*$", re.IGNORECASE)


@dataclass
class Source:
    """A parsed file: its path, its path relative to the root file's directory, the tree, and the degree
    claimed on each line (1-based) or just above it."""

    path: Path
    rel: str
    tree: lark.Tree
    lines: list[str]
    claims: dict[int, int] = field(default_factory=dict)
    above: dict[int, int] = field(default_factory=dict)

    def claim(self, first: int, last: int) -> int | None:
        """The degree claimed for a statement on lines ``first..last``: trailing, else the line above."""
        for ln in range(first, last + 1):
            if ln in self.claims:
                return self.claims[ln]
        return self.above.get(first)


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    text = (Path(__file__).with_name("grammar.lark")).read_text()
    return lark.Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=False)


_READABLE = {
    "NAME": "a name",
    "FNAME": "a function name (name followed by '(')",
    "INT": "an integer",
    "STRING": "a string",
    "SEGMENT": "'main'",
    "BUSKIND": "'multiset' or 'logup'",
    "BOUNDARY": "'first' or 'last'",
    "PRIME": "'",
    "$END": "end of file",
}


def _expected(names: set[str] | frozenset[str]) -> str:
    p = _parser()
    out = set()
    for n in names:
        if n in _READABLE:
            out.add(_READABLE[n])
            continue
        try:
            pat = p.get_terminal(n).pattern
        except KeyError:
            out.add(n)
            continue
        out.add(f"'{pat.value}'" if pat.type == "str" else n)
    return ", ".join(sorted(out))


def _strip_claims(text: str) -> tuple[str, dict[int, int], dict[int, int]]:
    """The text with `| degree=N` blanked (same columns), the claims per line, the claims just above lines."""
    lines = text.split("\n")
    claims: dict[int, int] = {}
    above: dict[int, int] = {}
    pending: int | None = None
    for i, line in enumerate(lines, start=1):
        code, hash_, comment = line.partition("#")
        m = _BAR_CLAIM.search(code)
        if m:
            claims[i] = int(m.group(1))
            code = code[: m.start()] + " " * (m.end() - m.start()) + code[m.end() :]
            lines[i - 1] = code + hash_ + comment
        stripped = code.strip()
        if stripped:
            if hash_:
                mc = _COMMENT_CLAIM.search(hash_ + comment)
                if mc and i not in claims:
                    claims[i] = int(mc.group(1))
            if pending is not None:
                above[i] = pending
            pending = None
        elif hash_:
            ma = _ABOVE_CLAIM.match(line)
            if ma:
                pending = int(ma.group(1))
        else:
            pending = None
    return "\n".join(lines), claims, above


def parse_source(text: str, path: Path, rel: str) -> Source:
    """Parse ``text`` (the file ``path``, shown as ``path`` in errors); raises ``AirScriptError``."""
    clean, claims, above = _strip_claims(text)
    try:
        tree = _parser().parse(clean)
    except UnexpectedInput as e:
        raise _syntax_error(e, str(path), clean) from None
    return Source(path, rel, tree, text.split("\n"), claims, above)


def _syntax_error(e: UnexpectedInput, path: str, text: str) -> AirScriptError:
    line, col = getattr(e, "line", 0) or 0, getattr(e, "column", 0) or 0
    if isinstance(e, UnexpectedToken):
        tok = e.token
        what = "end of file" if tok.type == "$END" else f"{tok.value!r}"
        return AirScriptError(path, line, col, f"unexpected {what} (expected {_expected(e.expected)})")
    if isinstance(e, UnexpectedCharacters):
        ch = text[e.pos_in_stream] if 0 <= e.pos_in_stream < len(text) else "?"
        exp = f" (expected {_expected(e.allowed)})" if e.allowed else ""
        return AirScriptError(path, line, col, f"unexpected character {ch!r}{exp}")
    if isinstance(e, UnexpectedEOF):
        n = len(text.split("\n"))
        return AirScriptError(path, n, 1, f"unexpected end of file (expected {_expected(e.expected)})")
    return AirScriptError(path, line, col, f"syntax error: {e}")


def parse_file(path: Path, rel: str) -> Source:
    """Read and parse one file; a missing or unreadable file is an ``AirScriptError`` at line 1."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise AirScriptError(str(path), 1, 1, f"cannot read the file: {type(e).__name__}") from None
    return parse_source(text, path, rel)
