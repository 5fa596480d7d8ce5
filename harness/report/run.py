"""The summary ``zsbench run`` prints: one row per clusterer of the run, its metrics as mean ± std over seeds."""

from __future__ import annotations

from zsbench.core.result import Result
from zsbench.report.text import mean_std

SUMMARY_METRICS = (
    ("ami", "AMI", 100.0),
    ("ari", "ARI", 100.0),
    ("n_clusters", "clusters", 1.0),
    ("fraction_clustered", "clustered %", 100.0),
    ("silhouette_proxy", "silhouette (proxy)", 1.0),
)


def summary_table(results: list[Result], title: str):
    """One row per clusterer of a single run: its metrics as mean ± std over seeds."""
    from rich.text import Text

    from zsbench.report.console import InertTable as Table  # names escaped to one line

    table = Table(title=title, caption="mean ± std over seeds; AMI, ARI and clustered ×100")
    table.add_column("clusterer")
    for _, header, _ in SUMMARY_METRICS:
        table.add_column(header, justify="right")
    table.add_column("seconds", justify="right")
    by_clusterer: dict[str, list[Result]] = {}
    for r in results:
        by_clusterer.setdefault(r.clusterer, []).append(r)
    for name, rows in by_clusterer.items():
        ok = [r for r in rows if r.ok]
        cells = []
        for key, _, scale in SUMMARY_METRICS:
            values = [scale * r.metrics[key] for r in ok if r.metrics.get(key) is not None]
            cells.append(mean_std(values, ".1f" if scale != 1.0 or key == "n_clusters" else ".3f"))
        seconds = [r.timings.get("cluster", 0.0) for r in ok]
        failed = len(rows) - len(ok)
        label = Text.assemble(name, (f" ({failed} failed)", "red")) if failed else name
        table.add_row(label, *cells, mean_std(seconds, ".2f"))
    return table
