"""report: every rendering of results, cut by capability (``tests/test_layers.py``'s ``CUT`` names each part).

``board`` (the leaderboard as text and HTML), ``findings`` (the findings' tables), ``site`` (the published
site), ``gate``, ``knn`` and ``proxy`` (their reports as text); shared by all: ``figures`` (every figure),
``console`` (markup-free consoles and inert tables), ``text`` (safe cells) and ``progress``. The commands
that show results parse options and print what these modules made.
"""
