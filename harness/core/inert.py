"""Text from users, plugins, files and records made inert for the medium it is shown in: one rule per medium.

A file name, an encoder or dataset name, a plugin's error message or a record's field can hold anything: ANSI
escape sequences (``ESC [2J`` clears a terminal, ``ESC ]8;;url`` plants a link), the 8-bit CSI ``U+009B``, bidi
overrides that show ``exe.png`` as ``gnp.exe``, zero-width characters, line breaks, Markdown or HTML, or a
spreadsheet formula. Every output of zsbench passes such text through the function for its medium:

- :func:`terminal`: terminal lines, one-line errors and rich tables (the consoles apply it themselves);
- :func:`markdown`: a Markdown table cell, list item or line;
- :func:`csv_cell`: a CSV text cell;
- :func:`html`: HTML text and double-quoted attribute values;
- :func:`xml_text`: text handed to an XML writer (ElementTree escapes the markup; this drops what XML forbids);
- :func:`json_text`: a JSON document (valid JSON for the same data, with no invisible character left raw).

Hidden characters become visible escapes written as Python writes them (``\\x1b``, ``\\u202e``, ``\\n``), so the
text stays recognisable; letters of any script (é, 中文) are shown as they are. The escapes contain no hidden
character, so applying a rule twice changes nothing: layers may each apply it without double escaping.

Lives in core (pure standard library) so that any layer that prints may use it.
"""

from __future__ import annotations

import html as html_module
import json
import re
import unicodedata
from typing import Any

# Never shown raw: Cc controls (C0, DEL, C1 with ESC and CSI), Cf format characters (bidi embeddings,
# overrides and isolates, zero-width space and joiners, BOM, soft hyphen, the Arabic letter mark), Cs lone
# surrogates (undecodable bytes of a file name, which no terminal can encode), Zl/Zp line and paragraph
# separators (line breaks to a terminal and to JavaScript).
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_FORMULA = ("=", "+", "-", "@")  # OWASP's CSV-injection triggers, besides a leading tab or carriage return
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_MARKDOWN = re.compile(r"[\\`*_\[\]|~]")  # one pass: a backslash written by a user cannot cancel ours
# What starts a Markdown block when it begins a line or a list item: a heading, a list item, a thematic break.
_BLOCK = re.compile(r"(?:#{1,6}|[-+])(?=\s|$)|[-=][-=\s]*$")
_ORDERED = re.compile(r"\d{1,9}(?=[.)](?:\s|$))")


def hidden(ch: str) -> bool:
    """Whether a character must never reach an output raw: a control, format or separator character, a lone
    surrogate, or a noncharacter (U+FFFE, U+FFFF: XML forbids them)."""
    if ch.isprintable():
        return False
    code = ord(ch)
    return unicodedata.category(ch) in HIDDEN_CATEGORIES or 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def escape(ch: str) -> str:
    """One character as Python writes it in a string literal: ``\\n``, ``\\x1b``, ``\\u202e``, ``\\U000e0001``."""
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def terminal(text: object, *, lines: bool = False) -> str:
    """For a terminal: every hidden character as a visible escape, line breaks too (a one-line message stays
    one line); with ``lines``, ``\\n`` is kept (a block of text printed as such)."""
    s = str(text)
    if s.isprintable():  # the common case, checked in C
        return s
    if lines:  # a long report: only its lines holding a hidden character are looked at character by character
        return "\n".join(terminal(line) for line in s.split("\n"))
    return "".join(escape(ch) if hidden(ch) else ch for ch in s)


def markdown(text: object) -> str:
    """For Markdown (a table cell, a list item, a line): raw HTML (``<img onerror>``) is shown, never run, ``|``
    does not end a table cell, emphasis, code, link and strikethrough characters are shown as written, a
    heading, list or rule marker at the start does not start a block, a line break does not end the row or
    list item (it becomes a space), and other hidden characters are visible escapes."""
    s = terminal(" ".join(str(text).splitlines()))
    s = html_module.escape(s, quote=False)
    s = _MARKDOWN.sub(lambda m: "\\" + m.group(0), s)
    body = s.lstrip()  # up to three spaces may precede a block marker
    lead = s[: len(s) - len(body)]
    if _BLOCK.match(body):
        return f"{lead}\\{body}"
    ordered = _ORDERED.match(body)
    if ordered:  # "1. x" is a list item, "1\. x" is text
        return f"{lead}{body[: ordered.end()]}\\{body[ordered.end() :]}"
    return s


def csv_cell(text: object) -> str:
    """For a CSV text cell: a cell a spreadsheet would run as a formula (its first visible character, after
    any whitespace or hidden characters, is one of ``= + - @``, or it starts with a tab or carriage return)
    gets a leading ``'`` (OWASP's advice), numbers excepted; hidden characters are visible escapes, so a
    line break never splits a row."""
    s = str(text)
    start = 0
    while start < len(s) and (s[start].isspace() or hidden(s[start])):
        start += 1
    formula = s.startswith(("\t", "\r")) or s.startswith(_FORMULA, start)
    if formula and not _NUMBER.fullmatch(s):
        return "'" + terminal(s)
    return terminal(s)


def html(text: object) -> str:
    """For HTML text or a double- or single-quoted attribute value: markup escaped (``< > & " '``) and hidden
    characters visible escapes (a bidi override would reorder what the page shows)."""
    return html_module.escape(terminal(text), quote=True)


def xml_text(text: object) -> str:
    """For an element's text or an attribute given to an XML writer that escapes markup itself (ElementTree):
    no character XML 1.0 forbids (most C0 controls, surrogates, U+FFFE/U+FFFF), hidden characters as
    visible escapes."""
    return terminal(text)


def json_text(document: Any, **options: Any) -> str:
    """``json.dumps(document, **options)`` keeping letters of every script readable (not ``\\u`` escaped) but
    writing every hidden character as a JSON ``\\u`` escape: the same data, none of it invisible. (``json``
    escapes C0 controls itself, not C1 controls, bidi or zero-width characters, nor line separators.)"""
    text = json.dumps(document, ensure_ascii=False, **options)
    # Outside strings json.dumps writes ASCII only, so every hidden character here is inside a string.
    return "\n".join(
        line if line.isprintable() else "".join(_json_escape(ch) if hidden(ch) else ch for ch in line)
        for line in text.split("\n")
    )


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON writes characters beyond the BMP
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
