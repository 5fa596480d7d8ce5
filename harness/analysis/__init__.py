"""analysis: what results mean, cut by capability (``tests/test_layers.py``'s ``CUT`` names each part).

``board`` (the leaderboard; its rows and sources), ``records`` (registry records: the format; validation,
verification, reproduction, submission, the folder), ``gate`` (the CI gate; whether a baseline compares),
``proxy`` (the label-free proxy; choosing a clusterer by it), ``findings`` (supervised against self-supervised),
``knn`` (kNN as a score); shared by all: ``selection`` (which results are taken together) and ``stats``.
Nothing here renders: every rendering is :mod:`zsbench.report`'s.
"""
