"""The built-in executors: ``local`` (in-process and a real process pool) and ``dask`` (a real
LocalCluster, an existing scheduler, an unreachable one). Everything listens on 127.0.0.1 only."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest

from zsbench.core.catalog import build_catalog
from zsbench.plugin import usable_cores
from zsbench.plugin.errors import ZsbenchError

from . import _executor_tasks as tasks


def _executor(name: str, **options):
    return build_catalog().get("executors", name).create(**options)


def test_both_registered_without_importing_dask():
    catalog = build_catalog()
    assert {"local", "dask"} <= set(catalog.names("executors"))
    code = (
        "import sys, zsbench.plugins.executors; print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------- local


def test_local_one_worker_runs_in_process():
    executor = _executor("local", workers=1)
    assert executor.in_process and executor.name == "local" and executor.workers == 1
    futures = [executor.submit(tasks.square, i, resources={"GPU": 1}) for i in range(3)]
    assert all(f.done() for f in futures)  # synchronous: complete when submit returns
    assert sorted(f.result() for f in executor.as_completed(futures)) == [(i * i, os.getpid()) for i in range(3)]
    failed = executor.submit(tasks.fail, "bad input")
    with pytest.raises(ValueError, match="bad input"):
        failed.result()
    assert executor.describe()["executor"] == "local"
    executor.close()
    with pytest.raises(RuntimeError):
        executor.submit(tasks.pid)


def test_local_pool_spreads_tasks_over_processes():
    with _executor("local", workers=2) as executor:
        assert not executor.in_process and executor.workers == 2
        assert executor.start_method in ("forkserver", "spawn")
        futures = [executor.submit(tasks.square, i) for i in range(8)]
        done = [f.result() for f in executor.as_completed(futures)]
        assert sorted(value for value, _ in done) == [i * i for i in range(8)]
        pids = {pid for _, pid in done}
        assert len(pids) >= 2 and os.getpid() not in pids
        with pytest.raises(ValueError, match="in a worker"):
            executor.submit(tasks.fail, "in a worker").result()


def test_local_pool_splits_threads_between_workers():
    expected = max(1, usable_cores() // 2)
    with _executor("local", workers=2) as executor:
        seen = executor.submit(tasks.thread_settings).result()
    assert set(seen["env"].values()) == {str(expected)}
    assert all(n <= expected for n in seen["blas"])


def test_local_default_uses_every_core_and_rejects_bad_counts():
    executor = _executor("local")
    try:
        assert executor.workers == usable_cores()
    finally:
        executor.close()
    for bad in (0, -2, 1.5, "many"):
        with pytest.raises(ZsbenchError, match="workers"):
            _executor("local", workers=bad)


# ----------------------------------------------------------------------------------------- dask


def test_dask_local_cluster():
    pytest.importorskip("distributed")
    executor = _executor("dask", workers=2)
    try:
        assert executor.name == "dask" and executor.workers == 2
        info = executor.describe()
        assert info["executor"] == "dask" and info["workers"] == 2
        assert info["scheduler"].startswith("tcp://127.0.0.1:")
        worker_pids = set(executor.client.run(tasks.pid).values())
        assert len(worker_pids) == 2 and os.getpid() not in worker_pids
        futures = [executor.submit(tasks.square, i) for i in range(4)]
        done = [f.result() for f in executor.as_completed(futures)]
        assert sorted(value for value, _ in done) == [0, 1, 4, 9]
        assert {pid for _, pid in done} <= worker_pids
        with pytest.raises(ValueError, match="remote"):
            executor.submit(tasks.fail, "remote").result()
        # No worker offers a GPU: the hint is dropped (else the task would wait forever), once loudly.
        with pytest.warns(RuntimeWarning, match="GPU"):
            gpu_task = executor.submit(tasks.square, 5, resources={"GPU": 1})
        assert gpu_task.result(timeout=30)[0] == 25
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert executor.submit(tasks.square, 6, resources={"GPU": 1}).result(timeout=30)[0] == 36
    finally:
        executor.close()
    assert executor.client.status == "closed"
    assert executor.cluster.status.name == "closed"


def test_dask_existing_scheduler_is_used_not_owned():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        resources={"GPU": 1},
    )
    try:
        executor = _executor("dask", scheduler=cluster.scheduler_address, workers=1, timeout=5)
        assert executor.describe()["scheduler"] == cluster.scheduler_address
        assert executor.workers == 1 and not executor.owned
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a worker offers the GPU: the hint is kept, no warning
            future = executor.submit(tasks.square, 3, resources={"GPU": 1})
        value, pid = future.result(timeout=30)
        assert value == 9 and pid != os.getpid()
        executor.close()
        assert executor.client.status == "closed"
        assert cluster.status.name == "running"
        with distributed.Client(cluster, set_as_default=False) as client:
            assert client.submit(tasks.pid, pure=False).result(timeout=30) == pid
    finally:
        cluster.close()


def test_dask_unreachable_scheduler_is_a_one_line_error():
    pytest.importorskip("distributed")
    with pytest.raises(ZsbenchError) as err:
        _executor("dask", scheduler="tcp://127.0.0.1:1", timeout=2)
    message = str(err.value)
    assert "\n" not in message
    assert "tcp://127.0.0.1:1" in message and "dask scheduler" in message and "--scheduler" in message


def test_dask_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ZsbenchError, match=r'pip install "zsbench\[dask\]"'):
        _executor("dask")
