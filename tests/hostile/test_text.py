"""Case 1: text from records, plugins and users is printed literally, so one record cannot take the board down."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from zsbench.analysis.records.validation import validate
from zsbench.cli.app import app

from ..test_trust import grid, write


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_a_record_named_with_markup_is_shown_literally_on_every_board(tmp_path):
    name = "my-encoder[/] [bold red]x[/] :smile:"
    path = write(grid(encoder=name), tmp_path, name="markup")
    assert validate(path) == []
    table = cli("leaderboard", "-r", path)
    assert table.exit_code == 0, table.output
    assert "my-encoder[/]" in table.output and "[bold red]x[/] :smile:" in table.output
    for fmt in ("markdown", "csv", "json", "html"):
        out = cli("leaderboard", "-r", path, "-f", fmt)
        assert out.exit_code == 0, (fmt, out.output)
    assert json.loads(cli("leaderboard", "-r", path, "-f", "json").stdout)["rows"][0]["encoder"] == name
