"""Extraction on a Dask cluster (a LocalCluster of two worker processes) gives the same arrays
as the local path, and GENRE_SCHEDULER is how the command line names the cluster."""
import numpy as np
import pytest

from genre_lib import features

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture
def table(ci_table):
    t = ci_table.groupby("genre").head(2).reset_index(drop=True)
    t.attrs = dict(ci_table.attrs)
    return t


@pytest.mark.parametrize("kind", ["logmel", "mfcc_stats"])
def test_cluster_gives_the_same_arrays_as_local_processes(ci_settings, table, tmp_path, client, kind):
    local = features.extract(table, kind, progress=False, jobs=2,
                             settings=ci_settings.with_(data_dir=tmp_path / "local"))
    with distributed.get_task_stream(client) as tasks:
        remote = features.extract(table, kind, progress=False, scheduler=client, shard_rows=7,
                                  settings=ci_settings.with_(data_dir=tmp_path / "dask"))
    assert len(tasks.data) > 1  # the work ran on the cluster's workers
    assert not remote.from_cache and remote.table["track_id"].tolist() == table["track_id"].tolist()
    assert np.array_equal(np.asarray(remote.X), np.asarray(local.X))


def test_scheduler_named_in_the_environment(ci_settings, table, tmp_path, client, monkeypatch):
    settings = ci_settings.with_(data_dir=tmp_path / "env")
    monkeypatch.setenv("GENRE_SCHEDULER", client.scheduler.address)
    with distributed.get_task_stream(client) as tasks:
        fs = features.extract(table.head(6), "logmel", progress=False, settings=settings)
    assert len(tasks.data) >= 1 and len(fs.X) == 6
    monkeypatch.delenv("GENRE_SCHEDULER")
    assert features.extract(table.head(6), "logmel", progress=False, settings=settings).from_cache


def test_unreachable_scheduler_is_a_clear_error():
    from genre_lib import parallel

    with pytest.raises(RuntimeError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        parallel.connect("tcp://127.0.0.1:9", timeout=2)


def test_musicnn_features_on_the_cluster(ci_settings, table, tmp_path, client):
    from genre_lib import musicnn

    part = table.head(4)
    part.attrs = dict(table.attrs)
    layers = ("penultimate", "cnn1")
    here = musicnn.clip_features(part, layers=layers, progress=False, jobs=1,
                                 settings=ci_settings.with_(data_dir=tmp_path / "here"))
    with distributed.get_task_stream(client) as tasks:
        there = musicnn.clip_features(part, layers=layers, progress=False, scheduler=client,
                                      settings=ci_settings.with_(data_dir=tmp_path / "dask"))
    assert len(tasks.data) >= 1 and not there.from_cache  # each worker loaded the network once
    assert there.table["track_id"].tolist() == part["track_id"].tolist()
    for layer in ("penultimate", "cnn1"):
        np.testing.assert_allclose(there.X[layer], here.X[layer], atol=1e-4)
