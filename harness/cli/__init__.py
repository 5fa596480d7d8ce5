"""The ``zsbench`` command line (typer). ``main`` is the console script."""

from zsbench.cli.app import app, main

__all__ = ["app", "main"]
