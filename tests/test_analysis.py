"""Label/tag structure, feature correlation, projections and spectrogram images (genre_lib.analysis)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genre_lib import analysis


def _tag_table():
    # 'choir' and 'choral' always together; 'major'/'minor' complementary; 'bass' on every clip
    tags = [["choir", "choral", "major", "bass"], ["choir", "choral", "minor", "bass"],
            ["guitar", "major", "bass"], ["guitar", "minor", "bass"], ["guitar", "major", "bass"],
            ["piano", "minor", "bass"], ["choir", "choral", "piano", "major", "bass"],
            ["minor", "bass"]]
    return pd.DataFrame({"track_id": [f"t{i}" for i in range(len(tags))], "path": "",
                         "genre": None, "split": "train", "tags": tags})


def test_tag_statistics_and_correlation():
    table = _tag_table()
    Y = analysis.tag_matrix(table)
    assert Y.shape == (8, 7)
    assert list(Y.columns[:1]) == ["bass"]  # most frequent first
    assert Y.loc["t0", "choir"] == 1 and Y.loc["t2", "choir"] == 0
    freq = analysis.tag_frequencies(table)
    assert freq["bass"] == 8 and freq["choir"] == 3
    assert analysis.tags_per_clip(table).tolist() == [4, 4, 3, 3, 3, 3, 5, 2]

    corr = analysis.tag_correlation(table, top=None)
    assert "bass" not in corr.columns and corr.attrs["constant"] == ["bass"]
    assert corr.loc["choir", "choral"] == pytest.approx(1.0)
    assert corr.loc["major", "minor"] == pytest.approx(-1.0)
    ref = np.corrcoef(Y["guitar"], Y["piano"])[0, 1]
    assert corr.loc["guitar", "piano"] == pytest.approx(ref)

    pairs = analysis.top_pairs(corr, n=3)
    assert set(pairs.loc[0, ["a", "b"]]) == {"choir", "choral"}
    assert (np.diff(pairs["r"]) <= 0).all()
    both = analysis.top_pairs(corr, n=2, absolute=True)
    assert {frozenset(p) for p in both[["a", "b"]].to_numpy()} == {
        frozenset({"choir", "choral"}), frozenset({"major", "minor"})}


def test_less_redundant_tags_drops_duplicates_and_constants():
    kept, dropped = analysis.less_redundant_tags(_tag_table(), threshold=0.9)
    assert "bass" in dropped and dropped["bass"][0] == "(on every clip)"
    # exactly one of each redundant pair survives, and the dropped one names its partner
    assert ("choir" in kept) != ("choral" in kept)
    assert ("major" in kept) != ("minor" in kept)
    gone = "choral" if "choir" in kept else "choir"
    assert dropped[gone][0] in {"choir", "choral"} and dropped[gone][1] == pytest.approx(1.0)
    assert "guitar" in kept and "piano" in kept


def test_colour_labels_genre_or_most_frequent_tag():
    table = _tag_table()
    desc, labels = analysis.colour_labels(table, max_labels=3)
    assert desc.startswith("most frequent tag")
    assert set(labels) <= {"bass", "other"} and labels[0] == "bass"
    no_bass = table.assign(tags=[[t for t in ts if t != "bass"] for ts in table["tags"]])
    _, labels = analysis.colour_labels(no_bass, max_labels=2)
    # frequency order: minor (4) > major (4, ties by first appearance), then choir/guitar ...
    assert labels[2] == "major" and labels[5] == "minor" and "other" not in set(labels[[2, 5]])
    table["genre"] = list("aabbccdd")
    assert analysis.has_genres(table)
    desc, labels = analysis.colour_labels(table)
    assert desc == "genre" and list(labels) == list("aabbccdd")


def test_feature_correlations():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    X[:, 1] = 2 * X[:, 0] + 1          # perfectly correlated with column 0
    X[:, 3] = 5.0                      # constant
    corr = analysis.feature_correlation(X, ["a", "b", "c", "d"])
    assert corr.loc["a", "b"] == pytest.approx(1.0)
    assert corr.loc["a", "c"] == pytest.approx(np.corrcoef(X[:, 0], X[:, 2])[0, 1])
    assert corr.loc["a", "d"] == 0.0 and corr.loc["d", "d"] == 1.0
    assert analysis.strongly_correlated_share(corr, 0.8) == pytest.approx(1 / 6)

    labels = np.array(["x"] * 30 + ["y"] * 30)
    F = np.c_[(labels == "x").astype(float), rng.normal(size=60)]
    fl = analysis.feature_label_correlation(F, labels, ["is_x", "noise"])
    assert list(fl.columns) == ["x", "y"]
    assert fl.loc["is_x", "x"] == pytest.approx(1.0) and fl.loc["is_x", "y"] == pytest.approx(-1.0)
    assert abs(fl.loc["noise", "x"]) < 0.5
    best = analysis.top_features_per_label(fl, n=1)
    assert best.loc["x", "feature 1"].startswith("is_x")


def test_pca_curve_and_components():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(100, 2))
    X = np.c_[base, base @ rng.normal(size=(2, 6)) + 0.01 * rng.normal(size=(100, 6))]
    ratios = analysis.pca_curve(X)
    assert ratios.sum() == pytest.approx(1.0) and (np.diff(ratios) <= 1e-12).all()
    assert analysis.components_for(ratios, 0.95) == 2
    assert analysis.components_for(np.array([0.5, 0.3, 0.2]), 0.8) == 2
    assert analysis.components_for(np.array([0.5, 0.3, 0.2]), 0.81) == 3


def _blobs(n_per=12, dims=10, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=8, size=(3, dims))
    X = np.concatenate([c + rng.normal(size=(n_per, dims)) for c in centres])
    return X, np.repeat(["a", "b", "c"], n_per)


@pytest.mark.parametrize("method", ["pca", "tsne", "mds"])
def test_projections_separate_clear_groups(method):
    X, y = _blobs()
    Z = analysis.project(X, method, seed=3, perplexity=30)  # perplexity capped for 36 points
    assert Z.shape == (36, 2) and np.isfinite(Z).all()
    assert np.allclose(Z, analysis.project(X, method, seed=3, perplexity=30))  # seeded
    assert analysis.knn_agreement(Z, y, k=5) == pytest.approx(1.0)


def test_projection_needs_points_and_known_method():
    with pytest.raises(ValueError, match="at least 3"):
        analysis.project(np.zeros((2, 4)), "pca")
    with pytest.raises(ValueError, match="unknown projection"):
        analysis.project(np.random.default_rng(0).normal(size=(5, 3)), "umap")


def test_knn_agreement_and_scores_show_no_structure_in_noise():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(90, 5))
    y = np.repeat(["a", "b", "c"], 30)
    assert analysis.knn_agreement(X, y, k=5) < 0.6
    # a tie (one neighbour of each label) goes to the nearest neighbour
    Z = np.array([[0.0], [1.0], [-1.5], [10.0]])
    assert analysis.knn_agreement(Z[:3], np.array(["a", "a", "b"]), k=2) == pytest.approx(2 / 3)
    Xb, yb = _blobs()
    maps = analysis.projections({"noise": X[:36], "blobs": Xb}, methods=("pca",), progress=False)
    scores = analysis.projection_scores(maps, yb, k=5, originals={"noise": X[:36], "blobs": Xb})
    s = scores.set_index("input")
    assert s.loc["blobs", "5-NN agreement"] == 1.0 and s.loc["blobs", "silhouette"] > 0.5
    assert s.loc["noise", "5-NN agreement"] < 0.7
    assert s.loc["blobs", "5-NN agreement, all dimensions"] == 1.0
    assert scores.attrs["chance"] == pytest.approx(1 / 3)


def test_downsample_images_block_means():
    S = np.arange(16, dtype=float).reshape(4, 4)
    out = analysis.downsample_images(S, (2, 2), flatten=False)
    assert np.allclose(out, [[2.5, 4.5], [10.5, 12.5]])
    batch = np.stack([S, S + 100])
    flat = analysis.downsample_images(batch, (2, 2))
    assert flat.shape == (2, 4) and flat.dtype == np.float32
    assert np.allclose(flat[1], flat[0] + 100)
    # uneven blocks (128 x 259 -> 32 x 32) keep a constant image constant and the mean close
    rng = np.random.default_rng(0)
    big = rng.normal(size=(3, 128, 259))
    img = analysis.downsample_images(big, (32, 32))
    assert img.shape == (3, 1024)
    assert np.allclose(analysis.downsample_images(np.full((128, 259), -7.0)), -7.0)
    assert abs(img.mean() - big.mean()) < 0.01
    # fewer input frames than output pixels: linear interpolation, endpoints kept
    short = np.tile(np.linspace(0, 1, 5), (8, 1))
    up = analysis.downsample_images(short, (8, 9), flatten=False)
    assert np.allclose(up[0], np.linspace(0, 1, 9))
    with pytest.raises(ValueError, match="expected spectrograms"):
        analysis.downsample_images(np.zeros(10))


def test_analysis_figures(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genre_lib import plotting
    from genre_lib.config import get_settings

    table = _tag_table()
    settings = get_settings(work_dir=tmp_path)
    ax = plotting.tag_frequency(analysis.tag_frequencies(table))
    assert len(ax.patches) == 7
    ax = plotting.tags_per_clip_hist(analysis.tags_per_clip(table))
    assert sum(p.get_height() for p in ax.patches) == 8
    corr = analysis.tag_correlation(table)
    ax = plotting.correlation_heatmap(corr, title="tags")
    assert len(ax.texts) == corr.size  # small matrix: every cell annotated
    ax = plotting.explained_variance(np.array([0.6, 0.25, 0.1, 0.05]))
    assert "3 components reach 90%" in ax.texts[0].get_text()  # 0.6 + 0.25 < 0.9
    X, y = _blobs()
    maps = {("blobs", "pca"): analysis.project(X, "pca"), ("blobs", "mds"): analysis.project(X, "mds")}
    fig = plotting.projection_grid(maps, y, analysis.projection_scores(maps, y))
    assert "agreement" in fig.axes[0].get_title()
    path = plotting.save(fig, "test_projection_grid", settings=settings)
    assert path.exists() and path.parent == settings.figures_dir
    table = pd.DataFrame({"model": ["svc", "knn"], "features": ["m", "m"], "valid_accuracy": [0.5, 0.4],
                          "accuracy": [0.6, 0.3], "f1_macro": [0.55, 0.2]})
    ax = plotting.baseline_bars(table, chance=0.1)
    assert len(ax.patches) == 6
    plt.close("all")


def test_align_sample_rows_and_description():
    from genre_lib.features import FeatureSet

    t = pd.DataFrame({"track_id": ["a", "b", "c", "d"], "split": "train", "genre": list("xxyy")})
    fa = FeatureSet("mfcc_stats", {}, t, np.arange(4.0)[:, None])
    fb = FeatureSet("logmel", {}, t.iloc[[3, 1, 0]].reset_index(drop=True),
                    np.array([[30.0], [10.0], [0.0]]))  # 'c' skipped, another order
    (xa, xb), table = analysis.align(fa, fb)
    assert list(table["track_id"]) == ["a", "b", "d"]
    assert xa.ravel().tolist() == [0, 1, 3] and xb.ravel().tolist() == [0, 10, 30]

    big = pd.DataFrame({"genre": ["x"] * 90 + ["y"] * 10})
    pos = analysis.sample_rows(big, 20, seed=1)
    assert len(pos) == 20 and (big.iloc[pos]["genre"] == "y").sum() == 10  # evenly across labels
    assert np.array_equal(pos, analysis.sample_rows(big, 20, seed=1))
    assert len(analysis.sample_rows(big, None)) == 100
    assert len(analysis.sample_rows(big.assign(genre=None), 30, seed=0)) == 30

    X, y = _blobs()
    noise = np.random.default_rng(3).normal(size=X.shape)
    maps = analysis.projections({"blobs": X, "noise": noise}, methods=("pca",), progress=False)
    text = analysis.describe_projection_scores(
        analysis.projection_scores(maps, y, originals={"blobs": X, "noise": noise}))
    assert "blobs: strong grouping" in text and "chance level" in text
    # labels have nothing to do with noise: its 5-NN agreement (0.22 here) is below chance + 0.1
    noise_line = next(line for line in text.splitlines() if line.startswith("noise: "))
    assert noise_line.startswith("noise: no visible grouping by label"), noise_line


def test_classical_inputs_are_the_cached_kinds_aligned(ci_settings, ci_table):
    """The 32x32 images from the store equal shrinking the cached log-mels, track by track."""
    from genre_lib import features

    X_stats, X_images, table = analysis.classical_inputs(ci_table, settings=ci_settings)
    assert X_stats.shape == (len(table), 140) and X_images.shape == (len(table), 1024)
    mel = features.extract(table, "logmel", settings=ci_settings)
    np.testing.assert_allclose(X_images[:5], analysis.downsample_images(np.asarray(mel.X)[:5]),
                               rtol=1e-5, atol=1e-4)


def test_tag_pair_correlations_computes_named_pairs_and_marks_missing_ones():
    table = _tag_table()
    pairs = analysis.tag_pair_correlations(table, [("choir", "choral"), ("major", "minor"),
                                                   ("guitar", "piano"), ("choir", "sitar"),
                                                   ("bass", "piano")])
    assert list(pairs.columns) == ["a", "b", "clips with a", "clips with b", "clips with both", "r"]
    assert pairs.loc[0, "r"] == pytest.approx(1.0) and pairs.loc[0, "clips with both"] == 3
    assert pairs.loc[1, "r"] == pytest.approx(-1.0) and pairs.loc[1, "clips with both"] == 0
    corr = analysis.tag_correlation(table, top=None)
    assert pairs.loc[2, "r"] == pytest.approx(round(corr.loc["guitar", "piano"], 3))
    assert np.isnan(pairs.loc[3, "r"]) and pairs.loc[3, "clips with b"] == 0   # no such tag
    assert np.isnan(pairs.loc[4, "r"]) and pairs.loc[4, "clips with a"] == 8   # on every clip


def test_effective_perplexity_is_what_project_gives_tsne():
    assert analysis.effective_perplexity(30.0, 400) == 30.0
    assert analysis.effective_perplexity(30.0, 40) == pytest.approx(13.0)
    assert analysis.effective_perplexity(30.0, 3) == 1.0
    for n in (4, 10, 61, 1000):  # scikit-learn's t-SNE needs perplexity < n and 3p + 1 <= n
        p = analysis.effective_perplexity(50.0, n)
        assert p < n and int(3 * p + 1) <= n
