"""Component names and ``NAME:key=value`` specs: the grammar of a registered name, when a third
party's name would take over a built-in one, and the reading of options.

The grammar of a registered name: 1 to 100 printable ASCII characters (no space, tab, newline or
other control character, nothing outside ASCII: no look-alike hyphen, Cyrillic letter or zero-width
space), starting with a letter or digit, without ``,`` ``=`` ``"`` ``'`` (they delimit options and
quoting on a command line), and with ``:`` only as the last character (``folder:``, a family).
``/`` may appear anywhere (``timm/`` is a family, ``org/model`` a plain name).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from zsbench.plugin.errors import ZsbenchError

MAX_NAME_CHARS = 100
FORBIDDEN = ",=\"'"
SEPARATORS = ":/"  # a family ends in one; a name extended with one is inside the first's namespace
ECHO_CHARS = 60  # user or plugin text quoted in a message is cut to this


def shown(text: Any, limit: int = ECHO_CHARS) -> str:
    """``text`` for a one-line message: cut to ``limit`` characters, saying how long it was."""
    text = str(text)
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text):,} characters)"


def _char(c: str) -> str:
    return f"{c!r} (U+{ord(c):04X} {unicodedata.name(c, 'a control character')})"


def name_problem(name: str) -> str | None:
    """Which rule of the grammar ``name`` breaks, or None."""
    if not name:
        return "a name is not empty"
    if len(name) > MAX_NAME_CHARS:
        return f"a name is at most {MAX_NAME_CHARS} characters, this one is {len(name):,}"
    odd = next((c for c in name if not "!" <= c <= "~"), None)
    if odd is not None:
        return f"a name is printable ASCII without spaces; it contains {_char(odd)}"
    if not name[0].isalnum():
        return "a name starts with a letter or digit"
    bad = next((c for c in name if c in FORBIDDEN), None)
    if bad is not None:
        return f"a name contains none of , = \" ' (they separate options); it contains {bad!r}"
    if ":" in name[:-1]:
        return "':' only ends a family name (folder:), it is not inside a name"
    return None


def _stem(name: str) -> str:
    """The name compared for clashes: casefolded, without a family's trailing separator."""
    return name.casefold().rstrip(SEPARATORS)


def builtin_clash(name: str, builtins: Iterable[str]) -> str | None:
    """How a third party's ``name`` would take over a built-in name, or None.

    Names are compared casefolded, a family without its trailing separator. ``name`` clashes with a
    built-in when the two are equal that way (``KMeans``, ``timm``, ``folder:``), when it lies inside
    the built-in's namespace (``timm/resnet18``, ``folder:/x``, ``raw-pixels:``, ``kmeans/v2``), or when
    the built-in lies inside its namespace (a family ``org/`` against a built-in ``org/model``).
    """
    builtins = sorted(builtins)
    for builtin in builtins:  # the exact name first: it gives the plainest message
        if name == builtin:
            return "a built-in name"
    stem = _stem(name)
    for builtin in builtins:
        other = _stem(builtin)
        if stem == other:
            return (
                f"a variant of the built-in name {builtin!r} (names are compared ignoring case and a trailing : or /)"
            )
        if any(stem.startswith(other + sep) for sep in SEPARATORS):
            what = (
                "a member of the built-in family"
                if builtin.endswith(tuple(SEPARATORS))
                else "an extension of the built-in name"
            )
            return f"{what} {builtin!r}"
        if any(other.startswith(stem + sep) for sep in SEPARATORS):
            return f"a prefix of the built-in name {builtin!r}"
    return None


MAX_OPTION_CHARS = 1000
MAX_OPTION_DEPTH = 16


def _nesting(text: str) -> int:
    """The deepest bracket nesting in ``text`` (quotes not considered: an over-estimate is safe)."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def parse_spec(text: str) -> tuple[str, dict[str, Any]]:
    """``"pca:n_components=0.9,whiten=False"`` -> ``("pca", {"n_components": 0.9, "whiten": False})``.

    A key is a parameter name (an ASCII identifier of at most 100 characters), given once, with a
    value; values are Python literals or, failing that, bare words (``linkage=average``)."""
    import ast

    name, _, rest = text.strip().partition(":")
    name = name.strip()
    params: dict[str, Any] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, raw = (part.strip() for part in item.partition("="))
        if not eq or not key:
            raise ZsbenchError(f"cannot read option {shown(item)!r} in {shown(text)!r}; write NAME:key=value,key=value")
        if not (key.isascii() and key.isidentifier()) or len(key) > MAX_NAME_CHARS:
            raise ZsbenchError(
                f"option {shown(key, 40)!r} of {shown(name, 40)!r} is not a parameter name "
                f"(letters, digits and _, at most {MAX_NAME_CHARS} characters)"
            )
        if key in params:  # last-wins would silently drop the first
            raise ZsbenchError(f"option {key} given twice in {shown(text)!r}; give it once")
        if not raw:
            raise ZsbenchError(f"option {key} of {shown(name, 40)} has no value; write {key}=VALUE or drop it")
        # literal_eval recurses per nesting level: a huge or deeply nested value is a
        # MemoryError / RecursionError, so it is refused before parsing, without echoing it
        depth = max(_nesting(raw), len(raw) - len(raw.lstrip("-+~")))
        if len(raw) > MAX_OPTION_CHARS or depth > MAX_OPTION_DEPTH:
            raise ZsbenchError(
                f"option {key!r} of {shown(name, 40)!r} is {len(raw):,} characters "
                f"nested {depth} deep; values are at most {MAX_OPTION_CHARS} characters and "
                f"{MAX_OPTION_DEPTH} levels"
            )
        try:
            params[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError, RecursionError, MemoryError):
            params[key] = raw  # a bare word such as linkage=average
    return name, params
