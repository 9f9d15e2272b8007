"""The machine's own failures (issue 26, items 4-5): out of memory, a full disk, a read-only store, each
shown as one line with the remedy, not a traceback. Real faults: numpy's own allocation failure,
``/dev/full``, SQLite's page limit, and (where this process may mount) a tiny tmpfs and a read-only
bind mount under a real ``run.py``."""

import contextlib
import os
import sqlite3
import subprocess

import numpy as np
import pytest
from test_cli import FAST, run_py

from geomexp.errors import ConfigError, environment_failure, one_line

SMALL = ["model=minilm", "lang=sw", *FAST]


def test_a_real_numpy_allocation_failure_is_one_line_with_the_remedy():
    with pytest.raises(MemoryError) as err:
        np.empty((10**9, 10**9))  # 8 EB: numpy refuses at once
    line = environment_failure(err.value)
    assert line.startswith("out of memory (Unable to allocate") and "data.n_tokens=" in line and "\n" not in line


def test_a_real_full_disk_is_one_line_naming_the_file():
    with pytest.raises(OSError) as err, open("/dev/full", "w") as f:
        f.write("x")
        f.flush()
    assert environment_failure(err.value).startswith("No space left on device")
    assert "free disk space" in environment_failure(err.value)


def test_a_full_sqlite_database_wrapped_twice_is_still_recognised(tmp_path):
    conn = sqlite3.connect(tmp_path / "full.db")
    conn.execute("CREATE TABLE t (x BLOB)")
    conn.execute("PRAGMA max_page_count = 3")  # SQLite's own "database or disk is full", for real
    with pytest.raises(sqlite3.OperationalError) as inner:
        conn.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
    try:
        try:
            raise inner.value
        except sqlite3.OperationalError as e:
            raise RuntimeError("while logging") from e  # as SQLAlchemy and MLflow re-raise it
    except RuntimeError as outer:
        assert (
            environment_failure(outer) == "the tracking store's disk is full; free space or choose another tracking.uri"
        )


def test_a_bug_keeps_its_traceback():
    assert environment_failure(KeyError("x")) is None
    assert environment_failure(FileNotFoundError(2, "No such file", "/x")) is None  # ENOENT: not the machine
    assert one_line(ConfigError("seed=-1 must be ...")) == "seed=-1 must be ..."


def _mount(*args) -> bool:
    return os.geteuid() == 0 and subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextlib.contextmanager
def mounted(*args, target):
    if not _mount(*args, str(target)):
        pytest.skip("this process may not mount (needs root with CAP_SYS_ADMIN)")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


@pytest.mark.slow  # ~12 s (a run in a subprocess on a tiny tmpfs); the fast suite stays under its 300 s
def test_a_store_on_a_full_disk_is_one_line_and_no_traceback(tmp_path, data_root):
    """Was 216 lines and 5 tracebacks (the SQL insert failed inside MLflow)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=1100k", "tmpfs", target=disk):
        uri = f"sqlite:///{disk / 'mlflow.db'}"
        first = run_py(SMALL, tmp_path, uri, data_root)  # the store's tables fill ~0.95 MB of the 1.1 MB
        assert first.returncode in (0, 2), first.stderr[-2000:]
        filler = disk / "filler"
        with contextlib.suppress(OSError), open(filler, "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        proc = run_py(SMALL, tmp_path, uri, data_root)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "INSERT INTO" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and ("disk is full" in errors[0] or "No space left" in errors[0]), proc.stderr[-2000:]


def test_an_existing_store_on_a_read_only_file_system_is_one_line_before_any_work(tmp_path, data_root):
    """Was 37 lines (the store's lock file could not be opened)."""
    from geomexp.tracking import ensure_experiment

    store = tmp_path / "store"
    store.mkdir()
    ensure_experiment(f"sqlite:///{store / 'mlflow.db'}", "geomexp")
    view = tmp_path / "view"
    view.mkdir()
    with mounted("--bind", str(store), target=view):
        if not _mount("-o", "remount,bind,ro", str(view)):
            pytest.skip("this process may not remount read-only")
        proc = run_py(SMALL, tmp_path, f"sqlite:///{view / 'mlflow.db'}", data_root)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert (
        f"error: tracking.uri=sqlite:///{view / 'mlflow.db'}: cannot write in the store's folder {view}" in proc.stderr
    )
    assert "Read-only file system" in proc.stderr and "encod" not in proc.stderr.lower()
