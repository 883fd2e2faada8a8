"""What of a client's request may go into a log line: its text with everything unprintable escaped."""

from __future__ import annotations


def printable(text: str) -> str:
    """`text` with every character that is not printable (controls, line and paragraph separators,
    bidi overrides) and the backslash written as a Python escape: one line, and an escape in the
    log always means the client sent that character, never that it typed a backslash."""
    return "".join(char if char.isprintable() and char != "\\" else _escaped(char) for char in text)


def _escaped(char: str) -> str:
    code = ord(char)
    if char == "\\":
        return "\\\\"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
