"""The feature store: shards, their checks and repair, leftovers, safety, and flat memory."""
import errno
import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from genre_lib import features, store
from genre_lib.store import CacheError, ShardedArray, StoreFullError, files, signed


@pytest.fixture
def table(ci_table):
    t = ci_table.groupby("genre").head(1).head(8).reset_index(drop=True)
    t.attrs = dict(ci_table.attrs)
    return t


def _counting(monkeypatch):
    calls = []
    real = features._work
    monkeypatch.setattr(features, "_work", lambda path, *a: calls.append(path) or real(path, *a))
    return calls


def _shards(folder: Path) -> list[Path]:
    return sorted(folder.glob("shard-*.npy"))


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".tmp-" in p.name]


# -- the lazy array --------------------------------------------------------------------------------
def _filled_entry(folder, n=10, shape=(3, 5), per_shard=4):
    rng = np.random.default_rng(0)
    dense = rng.standard_normal((n,) + shape).astype(np.float32)
    entry = store.Entry(folder, shape).open()
    for start in range(0, n, per_shard):
        ids = [f"t{i}" for i in range(start, min(n, start + per_shard))]
        entry.commit(dense[start:start + per_shard], [(t, "stamp") for t in ids], [])
    return entry, dense


def test_sharded_array_behaves_like_the_array_it_stands_for(tmp_path):
    entry, dense = _filled_entry(tmp_path / "e")
    order = [7, 0, 9, 3, 4, 1, 2, 8, 5, 6]
    X = entry.array([f"t{i}" for i in order])
    ref = dense[order]
    assert len(_shards(tmp_path / "e")) == 3
    assert (len(X), X.shape, X.ndim, X.dtype, X.nbytes) == (10, (10, 3, 5), 3, np.float32, ref.nbytes)
    assert np.array_equal(X[0], ref[0]) and np.array_equal(X[-1], ref[-1])
    assert np.array_equal(X[np.int64(4), ..., 1:3], ref[4, ..., 1:3])
    assert np.array_equal(X[2, 1], ref[2, 1])
    assert np.array_equal(X[[5, 1]], ref[[5, 1]]) and np.array_equal(X[2:7:2], ref[2:7:2])
    mask = np.arange(10) % 3 == 0
    assert np.array_equal(X[mask], ref[mask]) and np.array_equal(X[..., :2], ref[..., :2])
    assert np.array_equal(np.asarray(X), ref) and np.array_equal(np.stack(list(X)), ref)
    for axis in (None, 0, 1, 2, (1, 2), (0, 2)):
        assert np.allclose(X.mean(axis=axis), ref.mean(axis=axis), atol=1e-6)
    part = X.take([3, 1])
    assert isinstance(part, ShardedArray) and np.array_equal(np.asarray(part), ref[[3, 1]])
    back = pickle.loads(pickle.dumps(X))  # travels to worker processes as a file reference
    assert np.array_equal(np.asarray(back), ref)
    assert isinstance(X[0], np.ndarray) and X[0].flags.writeable
    with pytest.raises(IndexError):
        X[10]


def test_reading_every_row_keeps_memory_flat(tmp_path):
    shape = (256, 1024)  # 1 MiB per row, 128 MiB in all
    entry = store.Entry(tmp_path / "big", shape).open()
    block = np.ones((32,) + shape, np.float32)
    for s in range(4):
        entry.commit(block * s, [(f"{s}.{i}", "x") for i in range(32)], [])
    del block
    X = entry.array([f"{s}.{i}" for s in range(4) for i in range(32)])

    def rss():
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return int(fields["VmRSS"].split()[0]) * 1024

    before, peak = rss(), 0
    for _ in range(2):
        for i in range(len(X)):
            X[i, :, 100:300]
            peak = max(peak, rss())
    assert peak - before < 80 * 2**20  # the mapped pages are handed back as reading goes on


# -- damage is found, reported and rebuilt alone -------------------------------------------------
def _damage_one_shard(folder: Path, how: str) -> Path:
    victim = _shards(folder)[1]
    data = bytearray(victim.read_bytes())
    if how == "flip":
        data[-7] ^= 0xFF
    elif how == "truncate":
        data = data[: len(data) // 2]
    else:
        data = bytearray(b"garbage")
    victim.write_bytes(bytes(data))
    return victim


@pytest.mark.parametrize("how", ["flip", "truncate", "garbage"])
def test_a_damaged_shard_is_rebuilt_alone(private, table, monkeypatch, how):
    good = features.extract(table, "logmel", progress=False, shard_rows=3, settings=private)
    reference = np.asarray(good.X)
    assert len(_shards(good.cache_path)) == 3
    _damage_one_shard(good.cache_path, how)
    calls = _counting(monkeypatch)
    with pytest.warns(UserWarning, match="rebuilt"):
        again = features.extract(table, "logmel", progress=False, shard_rows=3, jobs=1, settings=private)
    assert len(calls) == 3  # the damaged shard's rows only
    assert np.array_equal(np.asarray(again.X), reference)
    calls.clear()
    again = features.extract(table, "logmel", progress=False, jobs=1, settings=private)
    assert again.from_cache and not calls


def test_a_well_formed_shard_of_the_wrong_shape_is_rebuilt(private, table, monkeypatch):
    good = features.extract(table, "logmel", progress=False, shard_rows=4, settings=private)
    stranger = store.Entry(good.cache_path).open()  # no expected shape: it writes what it gets
    stamped = [(t, store.file_stamp(p)) for t, p in zip(table["track_id"][:2], table["path"][:2])]
    stranger.commit(np.zeros((2, 4, 4), np.float32), stamped, [])
    calls = _counting(monkeypatch)
    with pytest.warns(UserWarning, match="shape"):
        again = features.extract(table, "logmel", progress=False, jobs=1, settings=private)
    assert not calls and again.X.shape == good.X.shape
    assert np.array_equal(np.asarray(again.X), np.asarray(good.X))


class _Trap:
    """Unpickling this creates the file named: proof that code ran."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_files_dropped_into_the_store_cannot_run_code(private, table, tmp_path):
    good = features.extract(table.head(4), "logmel", progress=False, settings=private)
    proof = tmp_path / "code-ran"
    name = "shard-abcdef-1-0001-dead"
    np.save(good.cache_path / f"{name}.npy", np.array([_Trap(proof)], dtype=object), allow_pickle=True)
    record = {"format": store.FORMAT, "rows": 1, "row_shape": list(good.X.shape[1:]), "dtype": "<f4",
              "crc32": 0, "created": time.time() + 10, "skipped": [],
              "tracks": [[str(table["track_id"][0]), store.file_stamp(table["path"][0])]]}
    (good.cache_path / f"{name}.json").write_text(json.dumps(record))
    (good.cache_path / "shard-abcdef-1-0002-beef.json").write_text('{"format": 3, "rows": "many"}')
    with pytest.warns(UserWarning, match="rebuilt"):
        again = features.extract(table.head(4), "logmel", progress=False, settings=private)
    assert not proof.exists() and again.from_cache
    assert np.array_equal(np.asarray(again.X), np.asarray(good.X))
    assert not list(good.cache_path.glob("shard-abcdef-*"))


def test_signed_entries_refuse_what_this_user_did_not_write(tmp_path, monkeypatch):
    monkeypatch.setattr(signed, "_key_cache", [b"k" * 32])
    path = tmp_path / "meta.pkl"
    store.write_entry(path, {"a": np.arange(3)})
    assert np.array_equal(store.read_entry(path)["a"], np.arange(3))
    proof = tmp_path / "code-ran"
    blob = pickle.dumps(_Trap(proof))
    forged = signed._SIGNED_MAGIC + signed._SIGNED_HEAD.pack(len(blob), b"\0" * 32) + blob
    path.write_bytes(forged)
    with pytest.raises(CacheError, match="checksum"):
        store.read_entry(path)
    path.write_bytes(blob)  # a bare pickle
    with pytest.raises(CacheError, match="header"):
        store.read_entry(path)
    path.write_bytes(forged[:-3])
    with pytest.raises(CacheError, match="truncated"):
        store.read_entry(path)
    assert not proof.exists()
    assert features.read_entry is store.read_entry  # the name datasets/fma.py imports


# -- killed runs, leftovers, copies, full disks ------------------------------------------------
_KILLED_RUN = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from genre_lib import features
    from genre_lib.config import get_settings
    from genre_lib.datasets import load_table
    audio_dir, store_dir, marker = (Path(a) for a in sys.argv[1:4])
    base = get_settings(dataset="synth", profile="ci", data_dir=audio_dir)
    table = load_table(settings=base).groupby("genre").head(1).head(8).reset_index(drop=True)
    real_fsync, arrays = os.fsync, []

    def stalling_fsync(fd):
        name = os.readlink(f"/proc/self/fd/{fd}")
        if ".shard-" in name and ".npy.tmp-" in name:
            arrays.append(name)
            if len(arrays) == 3:  # two shards are whole; the third one's array is being written
                marker.write_text(name)
                time.sleep(600)
        real_fsync(fd)

    os.fsync = stalling_fsync
    features.extract(table, "logmel", progress=False, jobs=2, shard_rows=3,
                     settings=base.with_(data_dir=store_dir))
""")


def test_a_run_killed_mid_write_is_repaired_and_leaves_nothing_behind(private, table, ci_settings,
                                                                       tmp_path, monkeypatch):
    import psutil

    marker = tmp_path / "writing"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_RUN, str(ci_settings.data_dir),
                             str(private.data_dir), str(marker)])
    try:
        deadline = time.time() + 240
        while not marker.exists():
            assert proc.poll() is None and time.time() < deadline, "the run ended before writing"
            time.sleep(0.2)
        workers = psutil.Process(proc.pid).children(recursive=True)
        proc.kill()  # kill -9 while the third shard's array is half committed
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    folder = next((private.cache_dir / "synth").glob("logmel-*"))
    assert _leftovers(folder)  # the killed run left its temporary file behind
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"pool workers outlived the killed run: {alive}"
    calls = _counting(monkeypatch)
    fs = features.extract(table, "logmel", progress=False, jobs=1, shard_rows=3, settings=private)
    assert len(calls) == 2  # two shards of three survived; the last two tracks are computed
    assert not _leftovers(folder) and len(fs.X) == len(table)
    fresh = features.extract(table, "logmel", progress=False, use_cache=False, jobs=1, settings=private)
    assert np.allclose(np.asarray(fs.X), fresh.X, atol=1e-3)


def test_leftovers_are_removed_only_when_their_writer_is_gone(tmp_path):
    folder = tmp_path / "entry"
    folder.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = files.HOST
    names = {
        f".shard-x.npy.tmp-{host}-{dead.pid}-aa": False,       # a dead writer's temporary file
        f"shard-{host}-{dead.pid}-0003-abcd.npy": False,      # an array that never got its record
        f".shard-y.npy.tmp-{host}-1-bb": True,                 # a live writer (pid 1)
        ".shard-z.npy.tmp-000000-12345-cc": True,             # another machine's, recent
        ".shard-w.npy.tmp-000000-12345-dd": False,            # another machine's, old
        f"shard-{host}-{dead.pid}-0001-abcd.npy": True,       # a whole shard (its record exists)
        f"shard-{host}-{dead.pid}-0001-abcd.json": True,
        ".lm-0123.pkl.999999.tmp": False,                     # the old cache's temporary file
        "logmel-0123456789abcdef0123.pkl": False,             # the old cache's entry
        "musicnn-MSD_musicnn-0123456789abcdef0123.npz": False,  # musicnn's old whole-table cache
        ".musicnn-MSD_musicnn-0123456789abcdef0123.npz.999999.tmp": False,
        "tracks-0123456789abcdef.pkl": True,                  # a signed metadata entry
    }
    for name in names:
        (folder / name).write_bytes(b"x")
    old = time.time() - 2 * 3600
    os.utime(folder / ".shard-w.npy.tmp-000000-12345-dd", (old, old))
    store.clean_orphans(folder)
    assert {n for n in names if (folder / n).exists()} == {n for n, keep in names.items() if keep}


def test_a_copied_store_still_works(private, table, tmp_path, monkeypatch):
    first = features.extract(table, "logmel", progress=False, settings=private)
    elsewhere = private.with_(data_dir=tmp_path / "copy")
    shutil.copytree(private.cache_dir, elsewhere.cache_dir)  # new inodes and times: checked again
    calls = _counting(monkeypatch)
    again = features.extract(table, "logmel", progress=False, jobs=1, settings=elsewhere)
    assert again.from_cache and not calls and again.cache_path != first.cache_path
    assert np.array_equal(np.asarray(again.X), np.asarray(first.X))


def test_a_full_disk_is_a_clear_error_naming_the_folder(private, table, monkeypatch):
    real_save = np.save

    def full(fh, arr, **kw):
        fh.write(b"\x93NUMPY partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    with pytest.raises(StoreFullError, match="no space left") as info:
        features.extract(table, "logmel", progress=False, jobs=1, shard_rows=4, settings=private)
    folder = next((private.cache_dir / "synth").glob("logmel-*"))
    assert str(folder) in str(info.value) and info.value.errno == errno.ENOSPC
    assert not _leftovers(folder) and not _shards(folder)
    monkeypatch.setattr(np, "save", real_save)
    assert len(features.extract(table, "logmel", progress=False, settings=private).X) == len(table)
