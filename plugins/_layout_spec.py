"""What a published layout declares, and what it tells a user who does not have its files.

A :class:`Layout` names a dataset's folder under the data root, the reader that picks its clustered
partition, and where the files come from; :func:`how` turns that into the one sentence a missing-files
error ends with. Standard library only: the tables import it when plugins are listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    name: str
    folder: str  # the dataset's folder under the data root; ids are relative to it
    reader: str  # a key of zsbench.plugins._layout_readers.READERS
    required: tuple[str, ...]  # paths under `folder` that must exist
    expect: str  # what the user should have there (said when files are missing)
    source: str  # the release / archive
    url: str  # the official source
    split: str  # the rule that picks the clustered images, in words
    label: str  # what the label is
    group: str
    expected_test_size: int | None
    expected_n_classes: int | None
    description: str
    classes_dir: str = ""  # "folders": where the class sub-folders are, relative to `folder`
    download: str = ""  # an archive URL that --download fetches (unpacks to `folder`)
    no_download: str = "zsbench downloads only Imagenette and Imagewoof"  # why --download cannot fetch it
    get: str = ""  # further instructions for getting the files in place
    notes: str = ""  # recorded in info
    expected_source_images: int | None = None  # images the rule partitions, in the published release


def how(layout, download: bool, root: Path) -> str:
    """How to get ``layout``'s files into ``root``: its source, and what ``--download`` does or cannot do."""
    get = " ".join(filter(None, [f"Get {layout.source} from {layout.url}.", layout.get]))
    if layout.download:
        if download and root.exists():
            return (
                f"{get} --download did not run because {root} exists but is incomplete; remove it "
                f"to download {layout.download} again."
            )
        return f"{get} --download fetches {layout.download} and unpacks it into {root.parent}."
    if download:
        return f"--download cannot fetch {layout.name}: {layout.no_download}. {get}"
    return get
