"""The published board (``zsbench site``): a static site built from registry records.

::

    index.html                  the board (views, heat maps, scatters); each row links to its record's page,
                                and under it every record and every refused record with its reason
    records/<slug>.html         one page per record (slug: :func:`zsbench.analysis.records.registry.slug` of its
                                encoder's name; a refused record's, of its file's name)
    findings.html               the findings' figures, or why each has none
    findings/<kind>.png|.html   a finding's figure, and its table (``zsbench findings KIND --format html``)

The board is built from the valid records only (:func:`zsbench.analysis.board.sources.gather`). Every page
carries a Content-Security-Policy (:data:`zsbench.report.board.html_parts.CSP`) that lets only the board's own
script run, links are relative, and the same records give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from zsbench.plugin.errors import ZsbenchError
from zsbench.report.site.findings import findings
from zsbench.report.site.pages import (
    CSP,
    CSS,
    finding_page,
    findings_page,
    nav,
    record_lists,
    record_page,
    refused_page,
)

# Written last in the site's folder: the files of the build, so that the next build into the folder
# removes the pages of records that have gone, and a folder holding anything else is never written into.
MARKER = ".zsbench-site"
_OURS = re.compile(r"(?:index|findings)\.html|records/[A-Za-z0-9._-]+\.html|findings/[a-z]+\.(?:png|html)")


@dataclass
class Site:
    """The site's files (path relative to its folder, POSIX -> bytes) and what the board refused."""

    files: dict[str, bytes]
    records: int
    refused: list[tuple[str, str]] = field(default_factory=list)  # (record file, reason)

    @property
    def figures(self) -> list[str]:
        return sorted(name for name in self.files if name.endswith(".png"))


def build(
    registries: Sequence[str | Path], store: str | Path | None | bool = False, *, protocol: str = "standard"
) -> Site:
    """The site of ``registries`` (record files or folders) and, unless ``store`` is False, a store (None:
    the default store), for one protocol."""
    from zsbench.analysis.board import build as board_of
    from zsbench.analysis.board.sources import gather
    from zsbench.analysis.records import read, record_files
    from zsbench.analysis.records.registry import slug
    from zsbench.report.board import to_json
    from zsbench.report.board.html import render

    gathered = gather(registries, store)
    # A published page names a record by its place in the registry, never by the builder's local path.
    public = public_names([s.name for s in gathered.sources] + [f for f, _ in gathered.refused])
    local = {shown: name for name, shown in public.items()}

    def scrub(text: str) -> str:
        for name in sorted(public, key=len, reverse=True):
            text = text.replace(name, public[name])
        return text

    sources = [replace(s, name=public[s.name]) for s in gathered.sources]
    refused_files = [(public[f], scrub(why)) for f, why in gathered.refused]
    board = board_of(sources, protocol=protocol, refused=refused_files, record_notes=[scrub(n) for n in gathered.notes])
    doc = to_json(board)
    named = {public.get(str(p), str(p)) for p in record_files(registries)}
    used: set[str] = set()

    def page_of(base: str) -> str:
        # one page per record: a second record of one name (another protocol version, or refused) gets -2;
        # compared case-folded, as a case-insensitive file system (macOS, Windows) would
        name, n = base, 2
        while name.casefold() in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name.casefold())
        return f"records/{name}.html"

    records = [
        (s.name, read(local[s.name]), s.partial) for s in sorted(sources, key=lambda s: s.name) if s.name in named
    ]
    pages = {path: page_of(slug(str(record["encoder"]["name"]))) for path, record, _ in records}
    refused = [(page_of(slug(Path(file).stem)), file, why) for file, why in sorted(refused_files)]
    rows = {str(row.get("source")): row for row in doc.get("rows", [])}

    listed = [(pages[path], str(record["encoder"]["name"]), path, partial) for path, record, partial in records]
    text = {
        "index.html": render(
            doc,
            csp=CSP,
            href=lambda row: pages.get(str(row.get("source"))),
            nav=nav(""),
            after=record_lists(listed, refused),
            css=CSS,
        )
    }
    text |= {pages[path]: record_page(path, record, rows.get(path)) for path, record, _ in records}
    text |= {page: refused_page(file, why) for page, file, why in refused}
    parts = findings(sources, protocol)
    figures = {p.kind: f"findings/{p.kind}.png" for p in parts if p.png is not None}
    tables = {p.kind: f"findings/{p.kind}.html" for p in parts if p.finding is not None}
    text |= {tables[p.kind]: finding_page(p) for p in parts if p.finding is not None}
    text["findings.html"] = findings_page(parts, figures, tables)
    files = {name: page.encode("utf-8") for name, page in text.items()}
    files |= {figures[p.kind]: p.png for p in parts if p.png is not None}
    return Site(dict(sorted(files.items())), len(records), [(file, why) for _, file, why in refused])


def public_names(names: Sequence[str]) -> dict[str, str]:
    """Each source's name as a published page shows it, never a local path: a record file as
    ``<its folder>/<file>`` (``standard-1/raw-pixels.json``, the registry's layout), however it was
    given; the store as ``store <file name>``."""
    out = {}
    for name in names:
        if name.startswith("store "):
            out[name] = f"store {Path(name.removeprefix('store ')).name}"
        else:
            path = Path(name).resolve()
            out[name] = f"{path.parent.name}/{path.name}" if path.parent.name else path.name
    return out


def write(site: Site, folder: str | Path) -> None:
    """Write the site into ``folder`` (made if missing). A folder that holds files but no earlier site is
    refused; an earlier site's files that this one lacks (a record removed) are deleted."""
    folder = Path(folder)
    marker = folder / MARKER
    if folder.exists() and not folder.is_dir():
        raise ZsbenchError(f"{folder}: not a folder; pass the folder to write the site into")
    if folder.is_dir() and not marker.is_file() and any(folder.iterdir()):
        raise ZsbenchError(
            f"{folder} holds files but no zsbench site; pass a new or empty folder (a site "
            "replaces what an earlier build wrote there)"
        )
    try:
        earlier = marker.read_text(encoding="utf-8").splitlines() if marker.is_file() else []
        for name in earlier:
            if name not in site.files and _OURS.fullmatch(name):  # never a path the marker was made to name
                (folder / name).unlink(missing_ok=True)
        for name, data in site.files.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        marker.write_text("".join(f"{name}\n" for name in site.files), encoding="utf-8")
    except OSError as exc:
        raise ZsbenchError(f"cannot write the site to {folder}: {exc.strerror or exc}; pass another folder") from None
