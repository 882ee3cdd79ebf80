"""Tests for genre_lib.embeddings: extraction from the named layer, clustering scores, the
k sweep, the cluster-vs-genre table, t-SNE, neighbours and precision at k.

Clustering is checked on planted structure (well-separated Gaussian blobs, one per "genre"),
where the right answers are known, and on pure noise, where they must be near chance.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genre_lib import embeddings as emb
from genre_lib import pipeline


def blobs(n_per=12, genres=("rock", "jazz", "pop", "metal"), dim=16, spread=0.3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(genres), dim)) * 3
    E = np.concatenate([c + spread * rng.standard_normal((n_per, dim)) for c in centres])
    labels = np.repeat(np.array(genres, dtype=object), n_per)
    return E.astype(np.float32), labels


def make_table(labels, tags=None):
    n = len(labels)
    return pd.DataFrame({"track_id": [f"t{i:03d}" for i in range(n)], "path": [""] * n,
                         "genre": list(labels), "split": ["test"] * n,
                         "tags": tags if tags is not None else [[] for _ in range(n)]})


# -- clustering ---------------------------------------------------------------------------------------
def test_planted_clusters_are_found():
    E, labels = blobs()
    sc = emb.cluster_scores(E, labels, seed=0)
    assert sc["k"] == 4
    assert sc["ari"] > 0.99 and sc["nmi"] > 0.99 and sc["ami"] > 0.99
    assert sc["silhouette"] > 0.7
    assert len(sc["clusters"]) == len(E)


def test_noise_scores_near_chance():
    rng = np.random.default_rng(1)
    E = rng.standard_normal((60, 16))
    labels = np.repeat(["a", "b", "c", "d"], 15)
    sc = emb.cluster_scores(E, labels, seed=0)
    assert abs(sc["ari"]) < 0.1
    assert sc["silhouette"] < 0.2
    assert emb.precision_at_k(E, labels, k=5) < 0.45  # chance is 14/59 = 0.24


# -- chance levels ------------------------------------------------------------------------------------
def test_random_partitions_have_a_high_nmi_but_ami_and_ari_near_zero():
    """Two random 10-group partitions of 80 items share a clearly positive NMI (about a
    quarter), which shrinks as the items grow; AMI and ARI are corrected for it."""
    out = emb.random_partition_chance(sizes=(80, 2000), k=10, n_permutations=60, seed=0)
    assert 0.2 < out.loc[80, "chance nmi"] < 0.33
    assert abs(out.loc[80, "chance ami"]) < 0.02 and abs(out.loc[80, "chance ari"]) < 0.02
    assert out.loc[2000, "chance nmi"] < 0.02
    assert list(out.columns) == ["clusters", "chance ari", "chance nmi", "chance ami"]


def test_clustering_chance_by_permutation():
    E, labels = blobs(n_per=8, genres=tuple("abcdefghij"), spread=0.3)  # 80 tracks, 10 genres
    sc = emb.cluster_scores(E, labels, seed=0)
    Z = pipeline.standardise(E)
    out = emb.clustering_chance(sc["clusters"], labels, Z, n_permutations=80, seed=1)
    assert list(out.index) == ["ari", "nmi", "ami", "silhouette"]
    assert list(out.columns) == ["measured", "chance mean", "chance 95th percentile"]
    assert out.loc["ari", "measured"] == pytest.approx(sc["ari"])
    assert out.loc["nmi", "measured"] == pytest.approx(sc["nmi"])
    assert out.loc["silhouette", "measured"] == pytest.approx(sc["silhouette"])
    assert 0.15 < out.loc["nmi", "chance mean"] < 0.35          # NMI's chance level is high here
    assert abs(out.loc["ami", "chance mean"]) < 0.03 and abs(out.loc["ari", "chance mean"]) < 0.03
    assert (out["chance 95th percentile"] >= out["chance mean"]).all()
    assert (out["measured"] > out["chance 95th percentile"]).all()  # planted structure beats chance
    again = emb.clustering_chance(sc["clusters"], labels, Z, n_permutations=80, seed=1)
    pd.testing.assert_frame_equal(out, again)                    # seeded
    assert list(emb.clustering_chance(sc["clusters"], None, Z, n_permutations=5).index) == ["silhouette"]
    no_space = emb.clustering_chance(sc["clusters"], labels, n_permutations=5)
    assert list(no_space.index) == ["ari", "nmi", "ami"]
    with pytest.raises(ValueError):
        emb.clustering_chance(sc["clusters"], labels, n_permutations=0)


def test_precision_chance_matches_the_exact_expectation():
    E, labels = blobs(n_per=8, genres=tuple("abcde"))
    out = emb.precision_chance(E, labels, k=5, n_permutations=300, seed=0)
    assert out["measured"] == pytest.approx(emb.precision_at_k(E, labels, k=5))
    assert out["chance mean"] == pytest.approx(emb.chance_precision(labels), abs=0.02)
    assert out["chance mean"] <= out["chance 95th percentile"] < out["measured"]


def test_compare_spaces_sets_chance_levels_beside_every_score():
    E, labels = blobs()
    table = make_table(labels)
    out = emb.compare_spaces({"planted": E}, table, n_permutations=20)
    for s in ("ari", "nmi", "ami", "silhouette", "precision@5"):
        assert {s, f"{s} chance", f"{s} chance p95"} <= set(out.columns)
        assert out.loc["planted", s] > out.loc["planted", f"{s} chance p95"]
    assert "ari chance" not in emb.compare_spaces({"planted": E}, table).columns


def test_k_is_capped_for_tiny_sets_and_too_tiny_is_an_error():
    E, labels = blobs(n_per=2, genres=("a", "b", "c"))  # 6 vectors
    assert emb.cluster_scores(E, k=10)["k"] == 5
    sweep = emb.k_sweep(E, ks=range(2, 13))
    assert list(sweep.index) == [2, 3, 4, 5]
    with pytest.raises(ValueError, match="at least 3"):
        emb.cluster_scores(E[:2], k=2)


def test_k_sweep_peaks_at_the_planted_k():
    E, _ = blobs()
    sweep = emb.k_sweep(E, ks=range(2, 9), seed=0)
    assert sweep["silhouette"].idxmax() == 4
    assert sweep["inertia"].is_monotonic_decreasing


def test_cluster_table_puts_each_genre_on_its_own_cluster():
    E, labels = blobs()
    clusters = emb.cluster_scores(E, labels)["clusters"]
    table = emb.cluster_table(clusters, labels)
    assert table.to_numpy().sum() == len(E)
    assert np.array_equal(np.diag(table.to_numpy()), np.full(4, 12))


def test_spaces_are_standardised_by_the_pipelines_standardiser():
    from sklearn.preprocessing import StandardScaler

    E, _ = blobs()
    Z = pipeline.standardise(E)
    np.testing.assert_array_equal(Z, StandardScaler().fit_transform(E.astype(np.float64)))
    km = emb.kmeans(E, 4, seed=0)
    np.testing.assert_array_equal(km.cluster_centers_.shape, (4, E.shape[1]))


# -- neighbours ----------------------------------------------------------------------------------------
def test_neighbours_exclude_the_query_and_are_sorted():
    E, labels = blobs()
    idx, dist = emb.neighbours(E, 0, k=5)
    assert 0 not in idx and len(idx) == 5
    assert np.all(np.diff(dist) >= 0)
    assert all(labels[i] == labels[0] for i in idx)


def test_precision_at_k_by_hand():
    # on a line (no ties): 0 1 2.5 | 10 11 12.5 ; labels a a b | b b a
    E = np.array([[0.0], [1.0], [2.5], [10.0], [11.0], [12.5]])
    labels = ["a", "a", "b", "b", "b", "a"]
    # k=1: 0->1 (a=a), 1->0 (a=a), 2.5->1 (b!=a), 10->11 (b=b), 11->10 (b=b),
    # 12.5->11 (a!=b)  => 4/6
    assert emb.precision_at_k(E, labels, k=1, metric="euclidean") == pytest.approx(4 / 6)
    assert emb.chance_precision(labels) == pytest.approx(2 / 5)


def test_precision_with_tag_sets_counts_any_shared_tag():
    E = np.array([[0.0], [1.0], [10.0], [11.0]])
    tags = [frozenset({"rock", "guitar"}), frozenset({"guitar"}), frozenset({"piano"}), frozenset()]
    # 0->1 shares guitar; 1->0 shares; 2->3 shares nothing; 3 has no tags: not a query
    assert emb.precision_at_k(E, tags, k=1, metric="euclidean") == pytest.approx(2 / 3)


def test_reference_labels_fall_back_to_tags_without_genres():
    table = make_table([None, None, None], tags=[["a"], ["b"], ["a", "c"]])
    labels, kind = emb.reference_labels(table)
    assert kind == "shared tag" and labels[2] == frozenset({"a", "c"})
    assert not emb.has_genres(table)


def test_compare_spaces_orders_a_good_space_above_noise():
    E, labels = blobs()
    rng = np.random.default_rng(3)
    table = make_table(labels)
    out = emb.compare_spaces({"noise": rng.standard_normal(E.shape), "planted": E}, table)
    assert out.loc["planted", "ari"] > 0.95 > out.loc["noise", "ari"] + 0.5
    assert out.loc["planted", "precision@5"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="vectors for"):
        emb.compare_spaces({"short": E[:5]}, table)


def test_compare_spaces_without_genres_leaves_ari_empty():
    E, labels = blobs(n_per=5)
    table = make_table([None] * len(E), tags=[[g] for g in labels])
    out = emb.compare_spaces({"planted": E}, table, n_clusters=4)
    # each track has 4 others with its tag, so 4 of its 5 neighbours can match at best
    assert np.isnan(out.loc["planted", "ari"])
    assert out.loc["planted", "precision@5"] == pytest.approx(0.8)


def test_tsne_shape_and_small_sets():
    E, labels = blobs(n_per=3)
    P = emb.tsne(E, perplexity=30, seed=0, max_iter=250)  # perplexity capped below n
    assert P.shape == (12, 2) and np.isfinite(P).all()
    with pytest.raises(ValueError):
        emb.tsne(E[:3])


# -- extraction from a Keras model -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 6, 1), name="logmel")
    x = keras.layers.Flatten(name="flatten")(inp)
    x = keras.layers.Dense(5, activation="relu", name="embedding")(x)
    out = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out)


def test_embed_reads_the_named_layer(tiny_model):
    X = np.random.default_rng(0).standard_normal((70, 8, 6, 1)).astype(np.float32)
    E = emb.embed(tiny_model, X, batch_size=32)
    W, b = tiny_model.get_layer("embedding").get_weights()
    np.testing.assert_allclose(E, np.maximum(X.reshape(70, -1) @ W + b, 0), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="no layer named"):
        emb.embed(tiny_model, X, layer="bottleneck")


def test_track_embeddings_average_each_tracks_chunks(tiny_model):
    """A stand-in for models.Trained: two chunks per track, one track's chunks out of order."""
    from genre_lib.features import FeatureSet

    rng = np.random.default_rng(0)
    table = make_table(["a", "b", "c"])
    table.loc[0, "split"] = "train"
    fs = FeatureSet("logmel", {}, table, rng.standard_normal((3, 8, 12)).astype(np.float32))

    class Stub:
        name, model = "stub", tiny_model

        def chunks(self, part):
            ids = part.table["track_id"].to_numpy()
            X = np.concatenate([part.X[:, :, :6], part.X[:, :, 6:]])[..., None]
            return X, np.concatenate([ids, ids])

    out = emb.track_embeddings(Stub(), fs, split="test")
    assert list(out.table["track_id"]) == ["t001", "t002"]
    direct = emb.embed(tiny_model, np.stack([fs.X[1, :, :6], fs.X[1, :, 6:]])[..., None])
    np.testing.assert_allclose(out.E[0], direct.mean(0), rtol=1e-5, atol=1e-6)


def test_track_embeddings_of_a_model_with_prepare_pool_equal_chunk_counts(tiny_model):
    """A stand-in with ``prepare`` (no owners): excerpts laid out track by track, pooled by
    evaluation.pool_by_track; an uneven count is an error."""
    from genre_lib.features import FeatureSet

    rng = np.random.default_rng(1)
    fs = FeatureSet("logmel", {}, make_table(["a", "b", "c"]),
                    rng.standard_normal((3, 8, 12)).astype(np.float32))

    class Stub:
        name, model, extra = "stub", tiny_model, 0

        def prepare(self, part):  # two excerpts per track, track by track (plus extra rows)
            X = np.stack([part.X[i, :, s:s + 6] for i in range(len(part.X)) for s in (0, 6)])
            return np.concatenate([X, X[:self.extra]])[..., None]

    out = emb.track_embeddings(Stub(), fs, split="test")
    direct = emb.embed(tiny_model, Stub().prepare(fs.subset("test")))
    np.testing.assert_allclose(out.E, direct.reshape(3, 2, -1).mean(1), rtol=1e-6, atol=1e-7)
    Stub.extra = 1
    with pytest.raises(ValueError, match="split evenly"):
        emb.track_embeddings(Stub(), fs, split="test")


def test_audio_player_plays_and_reports_bad_files(tmp_path, capsys):
    from genre_lib import audio

    sr = 8000
    path = tmp_path / "tone.wav"
    audio.write_wav(path, 0.1 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr), sr)
    player = emb.audio_player(path, sr=sr, seconds=0.5)
    assert player is not None and len(player.data) > 0
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not audio at all")
    assert emb.audio_player(bad, sr=sr) is None
    assert "broken.wav" in capsys.readouterr().out


def test_neighbour_table_lists_query_first():
    E, labels = blobs(n_per=4)
    table = make_table(labels)
    out = emb.neighbour_table(E, table, query=5, k=3)
    assert list(out["rank"]) == ["query", 1, 2, 3]
    assert out.loc[0, "track_id"] == "t005"
    assert (out["genre"] == labels[5]).all()


def test_rows_for_aligns_and_names_missing_tracks():
    from genre_lib.features import FeatureSet

    table = make_table(["a", "b", "c"])
    fs = FeatureSet("mfcc_stats", {}, table, np.arange(6.0).reshape(3, 2), skipped={"t009": "bad"})
    np.testing.assert_array_equal(emb.rows_for(["t002", "t000"], fs), [[4, 5], [0, 1]])
    with pytest.raises(KeyError, match="t009"):
        emb.rows_for(["t000", "t009"], fs)


def test_lda_space_is_fitted_on_the_train_split_only_and_separates_what_it_saw():
    """Two informative dimensions among noise: LDA fitted on train finds them, and changing the
    test tracks' labels (never used to fit) does not change their projection."""
    from types import SimpleNamespace

    rng = np.random.default_rng(3)
    genres = np.repeat(["a", "b", "c"], 20)
    X = rng.standard_normal((60, 12))
    X[:, 0] += np.repeat([0.0, 4.0, 8.0], 20)
    X[:, 1] += np.repeat([4.0, 0.0, -4.0], 20)
    split = np.where(np.arange(60) % 4 == 0, "test", "train")
    table = pd.DataFrame({"track_id": [f"t{i}" for i in range(60)], "genre": genres, "split": split})
    fs = SimpleNamespace(table=table, X=X.astype(np.float32), kind="mfcc_stats", skipped=[])
    test_ids = table.loc[split == "test", "track_id"]
    Z = emb.lda_space(fs, test_ids)
    assert Z.shape == (15, 2)  # classes - 1 dimensions
    truth = genres[split == "test"]
    centres = np.stack([Z[truth == g].mean(axis=0) for g in "abc"])
    nearest = np.array(list("abc"))[np.argmin(((Z[:, None] - centres) ** 2).sum(-1), axis=1)]
    assert (nearest == truth).mean() >= 0.9  # the projection keeps the genres apart
    relabelled = table.assign(genre=np.where(split == "test", "a", table["genre"]))
    again = emb.lda_space(SimpleNamespace(**{**vars(fs), "table": relabelled}), test_ids)
    np.testing.assert_allclose(Z, again)
