"""The representation cache: round trip, damaged entries, concurrent writers, killed lock holders, full disks."""

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from geomexp.errors import GeomexpError
from geomexp.representations.cache import cache_key, entry_dir, entry_lock, load_sample, save_sample
from geomexp.representations.extraction import TokenSample


def make_sample(n=50, d=8, layers=3, seed=0):
    rng = np.random.default_rng(seed)
    return TokenSample(
        hidden=rng.standard_normal((layers, n, d)).astype(np.float32),
        token_ids=np.arange(n),
        sentence_ids=np.arange(n) // 5,
        positions=np.arange(n) % 5 + 1,
        word_ids=np.arange(n) % 5,
        char_spans=np.stack([np.arange(n), np.arange(n) + 1], axis=1),
    )


def test_round_trip_is_exact_and_memory_mapped(tmp_path):
    sample, key = make_sample(), cache_key({"x": 1})
    save_sample(tmp_path, key, sample, {"x": 1})
    back = load_sample(tmp_path, key)
    assert isinstance(back.hidden, np.memmap)
    np.testing.assert_array_equal(back.hidden, sample.hidden)
    for name in ("token_ids", "sentence_ids", "positions", "word_ids", "char_spans"):
        np.testing.assert_array_equal(getattr(back, name), getattr(sample, name))
    assert cache_key({"x": 1}) != cache_key({"x": 2})
    assert load_sample(tmp_path, cache_key({"x": 2})) is None


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete_meta", "garbage_info"])
def test_damaged_entries_are_reported_discarded_and_recomputable(tmp_path, damage):
    key = cache_key({"d": damage})
    folder = save_sample(tmp_path, key, make_sample(), {})
    if damage == "truncate":
        with open(folder / "hidden.npy", "r+b") as f:
            f.truncate(os.path.getsize(folder / "hidden.npy") - 100)
    elif damage == "flip":
        with open(folder / "hidden.npy", "r+b") as f:
            f.seek(-10, os.SEEK_END)
            f.write(b"\xff" * 4)
    elif damage == "delete_meta":
        (folder / "meta.npz").unlink()
    else:
        (folder / "info.json").write_text("{not json")
    with pytest.warns(UserWarning, match="discarding damaged cache entry"):
        assert load_sample(tmp_path, key) is None
    assert not folder.exists()
    save_sample(tmp_path, key, make_sample(), {})  # recomputed
    assert load_sample(tmp_path, key) is not None


def _hold_lock(cache_dir, key, ready):
    with entry_lock(cache_dir, key):
        ready.set()
        time.sleep(60)


def test_a_killed_lock_holder_leaves_no_stale_lock(tmp_path):
    key = cache_key({"lock": 1})
    ready = mp.get_context("fork").Event()
    proc = mp.get_context("fork").Process(target=_hold_lock, args=(tmp_path, key, ready))
    proc.start()
    assert ready.wait(20)
    lock = entry_lock(tmp_path, key, timeout=0.2)
    from filelock import Timeout

    with pytest.raises(Timeout):  # held by the other process
        lock.acquire()
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    with entry_lock(tmp_path, key, timeout=5):
        pass  # acquired at once: the kernel released the dead holder's lock


CONCURRENT = r"""
import sys, time, numpy as np
sys.path.insert(0, {root!r})
from geomexp.representations.cache import cache_key, entry_lock, load_sample, save_sample
from geomexp.representations.extraction import TokenSample
cache, key = sys.argv[1], sys.argv[2]
with entry_lock(cache, key):
    if load_sample(cache, key) is None:
        time.sleep(1.0)  # "encoding"
        n = 40
        s = TokenSample(np.ones((2, n, 4), np.float32), *(np.arange(n),) * 4, np.zeros((n, 2), int))
        save_sample(cache, key, s, {{}})
        print("computed")
    else:
        print("hit")
"""


def test_two_workers_asking_for_one_key_compute_it_once(tmp_path):
    from conftest import ROOT

    script = tmp_path / "worker.py"
    script.write_text(CONCURRENT.format(root=str(ROOT)))
    key = cache_key({"concurrent": 1})
    procs = [
        subprocess.Popen([sys.executable, str(script), str(tmp_path / "c"), key], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert outs == ["computed", "hit"]
    assert [p.name for p in entry_dir(tmp_path / "c", key).parent.iterdir() if not p.name.endswith(".lock")] == [key]


def test_unwritable_cache_dir_is_a_clear_error_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(GeomexpError, match=r"cannot write the cache under .*GEOMEXP_CACHE_DIR"):
        save_sample(blocker / "cache", cache_key({"w": 1}), make_sample(), {})


def test_full_disk_leaves_no_partial_entry(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    key = cache_key({"full": 1})
    with pytest.raises(GeomexpError, match="No space left on device"):
        save_sample(tmp_path, key, make_sample(), {})
    assert [p for p in entry_dir(tmp_path, key).parent.iterdir()] == []


@pytest.mark.parametrize("squatter", ["folder without info.json", "plain file"])
def test_a_non_entry_at_the_entry_path_is_moved_aside_and_recomputed(tmp_path, squatter):
    """Issue 16 item 7: such a squatter used to poison its key forever ("Directory not empty")."""
    key = cache_key({"squat": squatter})
    folder = entry_dir(tmp_path, key)
    folder.parent.mkdir(parents=True)
    if squatter == "plain file":
        folder.write_text("junk")
    else:
        folder.mkdir()
        (folder / "hidden.npy").write_bytes(b"half")
    with pytest.warns(UserWarning, match="moving it aside"):
        assert load_sample(tmp_path, key) is None
    assert not os.path.lexists(folder)
    if squatter == "plain file":  # a squatter that appears between the read and the write
        folder.write_text("junk")
        with pytest.warns(UserWarning, match="not a folder"):
            save_sample(tmp_path, key, make_sample(), {})
    else:
        save_sample(tmp_path, key, make_sample(), {})
    assert load_sample(tmp_path, key) is not None


def test_stale_temp_folders_of_killed_writers_are_removed(tmp_path):
    key = cache_key({"stale": 1})
    parent = entry_dir(tmp_path, key).parent
    stale, fresh = parent / f".{key}.dead1234", parent / f".{key}.live5678"
    for folder in (stale, fresh):
        folder.mkdir(parents=True)
        (folder / "hidden.npy").write_bytes(b"x" * 100)
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    save_sample(tmp_path, key, make_sample(), {})
    assert not stale.exists() and fresh.exists()  # a writer still at work keeps its folder
