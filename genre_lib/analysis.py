"""The structure of the data before any model: labels and tags, feature correlations, projections.

Three questions, each answered by a few small functions:

* **How are the labels organised?** :func:`tag_matrix`, :func:`tag_frequencies`,
  :func:`tags_per_clip`, :func:`tag_correlation`, :func:`top_pairs`,
  :func:`tag_pair_correlations` and :func:`less_redundant_tags` describe multi-label data (the
  synthetic tags, MagnaTagATune);
  :func:`feature_label_correlation` relates summary features to single genre labels.
* **How are the features organised?** :func:`feature_correlation` and :func:`pca_curve`.
* **Do the genres form groups?** :func:`project` (PCA, t-SNE with the perplexity of
  :func:`effective_perplexity`, MDS) and
  :func:`projection_scores`, which puts numbers on what the scatter plots seem to show:
  the leave-one-out k-nearest-neighbour agreement and the silhouette of the genre labels.

:func:`downsample_images` turns log-mel spectrograms into small flattened images, the input of
the "SVM on spectrogram images" baseline.

Notebook: 02_correlation_and_projections.ipynb (everything here), 03_baseline_mfcc_svm.ipynb
(:func:`downsample_images`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import pipeline
from .datasets import has_genres, has_tags, primary_label  # noqa: F401  (re-exported)
from .features import block_mean  # noqa: F401  (re-exported: notebook 02 shows it)

__all__ = ["has_genres", "has_tags", "colour_labels", "tag_matrix", "tag_frequencies",
           "tags_per_clip", "tag_correlation", "top_pairs", "tag_pair_correlations",
           "less_redundant_tags", "effective_perplexity",
           "feature_correlation", "strongly_correlated_share", "feature_label_correlation",
           "top_features_per_label", "pca_curve", "components_for", "project", "projections",
           "knn_agreement", "projection_scores", "describe_projection_scores", "align",
           "sample_rows", "downsample_images", "block_mean", "classical_inputs"]


# -- which labels a table has ---------------------------------------------------------------------
def colour_labels(table: pd.DataFrame, max_labels: int = 10) -> tuple[str, np.ndarray]:
    """The labels to colour a scatter plot by, with a description of the choice.

    The genre, or for tag-only datasets each clip's most frequent tag (beyond the
    ``max_labels`` most frequent: ``"other"``); see :func:`genre_lib.datasets.primary_label`.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    labels = primary_label(table, top=max_labels).to_numpy(dtype=object)
    if has_genres(table):
        return "genre", labels
    if has_tags(table):
        return "most frequent tag of the clip", labels
    return "(no labels)", np.array(["(no label)"] * len(table), dtype=object)


# -- multi-label structure --------------------------------------------------------------------------
def tag_matrix(table: pd.DataFrame, column: str = "tags") -> pd.DataFrame:
    """A 0/1 DataFrame, one row per track and one column per tag, columns by falling frequency.

    Notebook: none directly; used by :func:`tag_correlation` and :func:`tag_pair_correlations`.
    """
    from sklearn.preprocessing import MultiLabelBinarizer

    mlb = MultiLabelBinarizer()
    Y = mlb.fit_transform(table[column])
    frame = pd.DataFrame(Y, columns=list(mlb.classes_), index=table["track_id"].to_numpy())
    order = frame.sum().sort_values(ascending=False, kind="stable").index
    return frame[order].astype(np.int8)


def tag_frequencies(table: pd.DataFrame) -> pd.Series:
    """How many tracks carry each tag, most frequent first.

    Notebook: 02_correlation_and_projections.ipynb, 09_multilabel_tagging.ipynb.
    """
    counts = pd.Series([t for tags in table["tags"] for t in tags], dtype=object).value_counts()
    counts.index.name = "tag"
    counts.name = "tracks"
    return counts.sort_values(ascending=False, kind="stable")


def tags_per_clip(table: pd.DataFrame) -> pd.Series:
    """The number of tags of each track (indexed by track id).

    Notebook: 02_correlation_and_projections.ipynb.
    """
    return pd.Series([len(t) for t in table["tags"]], index=table["track_id"].to_numpy(),
                     name="tags per clip")


def tag_correlation(table: pd.DataFrame, top: int | None = 20) -> pd.DataFrame:
    """Pearson correlation (the phi coefficient) between the ``top`` most frequent tags.

    Tags that every track has, or none, have no variance and no correlation; they are left out
    and listed in ``result.attrs["constant"]``.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    Y = tag_matrix(table)
    varying = Y.columns[(Y.sum() > 0) & (Y.sum() < len(Y))]
    constant = [c for c in Y.columns if c not in set(varying)]
    chosen = list(varying[:top]) if top else list(varying)
    corr = Y[chosen].astype(float).corr()
    corr.attrs["constant"] = constant
    return corr


def top_pairs(corr: pd.DataFrame, n: int = 10, absolute: bool = False) -> pd.DataFrame:
    """The ``n`` most correlated pairs of a correlation matrix (each pair once).

    With ``absolute=True`` pairs are ranked by ``|r|``, so complementary tags (major/minor,
    strongly negative) rank beside synonyms (choir/choral, strongly positive).

    Notebook: 02_correlation_and_projections.ipynb.
    """
    cols = list(corr.columns)
    iu = np.triu_indices(len(cols), k=1)
    values = corr.to_numpy()[iu]
    frame = pd.DataFrame({"a": [cols[i] for i in iu[0]], "b": [cols[j] for j in iu[1]],
                          "r": values})
    frame = frame.dropna(subset=["r"])
    key = frame["r"].abs() if absolute else frame["r"]
    frame = frame.loc[key.sort_values(ascending=False, kind="stable").index]
    return frame.head(n).reset_index(drop=True).round({"r": 3})


def tag_pair_correlations(table: pd.DataFrame, pairs) -> pd.DataFrame:
    """The phi coefficient (Pearson r of the 0/1 columns) of each named tag pair, with how many
    clips carry each tag and both; ``r`` is NaN when a tag is missing from the dataset or on
    every clip (no variance).

    Lets a notebook compute, on the dataset in use, the correlations it talks about (such as
    *choir* / *choral* on MagnaTagATune) instead of quoting them.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    Y = tag_matrix(table) if "tags" in table.columns else pd.DataFrame(index=range(len(table)))
    rows = []
    for a, b in pairs:
        present = a in Y.columns and b in Y.columns
        ya = Y[a].to_numpy(float) if a in Y.columns else np.zeros(len(Y))
        yb = Y[b].to_numpy(float) if b in Y.columns else np.zeros(len(Y))
        r = float("nan")
        if present and 0 < ya.sum() < len(ya) and 0 < yb.sum() < len(yb):
            r = float(np.corrcoef(ya, yb)[0, 1])
        rows.append({"a": a, "b": b, "clips with a": int(ya.sum()), "clips with b": int(yb.sum()),
                     "clips with both": int((ya * yb).sum()), "r": r})
    return pd.DataFrame(rows, columns=["a", "b", "clips with a", "clips with b",
                                       "clips with both", "r"]).round({"r": 3})


def less_redundant_tags(table: pd.DataFrame, threshold: float = 0.5, top: int | None = 50,
                        absolute: bool = True) -> tuple[list[str], dict[str, tuple[str, float]]]:
    """A smaller tag set: walk the tags from most to least frequent and drop a tag when it
    correlates above ``threshold`` with one already kept.

    Returns ``(kept, dropped)`` where ``dropped`` maps each dropped tag to the kept tag it
    duplicates and their correlation. Constant tags (on every clip) are dropped as uninformative.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    corr = tag_correlation(table, top=top)
    kept: list[str] = []
    dropped: dict[str, tuple[str, float]] = {t: ("(on every clip)", float("nan"))
                                             for t in corr.attrs["constant"]}
    for tag in corr.columns:
        partners = [(k, float(corr.loc[tag, k])) for k in kept]
        strength = [(k, r) for k, r in partners if (abs(r) if absolute else r) > threshold]
        if strength:
            dropped[tag] = max(strength, key=lambda kr: abs(kr[1]))
        else:
            kept.append(tag)
    return kept, dropped


# -- feature structure -----------------------------------------------------------------------------
def feature_correlation(X: np.ndarray, names=None) -> pd.DataFrame:
    """Pearson correlation between the columns of ``X`` (constant columns give 0, not NaN).

    Notebook: 02_correlation_and_projections.ipynb.
    """
    X = np.asarray(X, dtype=np.float64)
    names = list(names) if names is not None else [f"f{i}" for i in range(X.shape[1])]
    std = X.std(0)
    Z = np.where(std > 0, (X - X.mean(0)) / np.where(std > 0, std, 1.0), 0.0)
    C = (Z.T @ Z) / max(len(X), 1)
    np.fill_diagonal(C, 1.0)
    return pd.DataFrame(np.clip(C, -1, 1), index=names, columns=names)


def strongly_correlated_share(corr: pd.DataFrame, threshold: float = 0.8) -> float:
    """Share of distinct feature pairs whose correlation exceeds ``threshold`` in size.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    C = corr.to_numpy()
    iu = np.triu_indices(len(C), k=1)
    return float(np.mean(np.abs(C[iu]) > threshold)) if len(iu[0]) else 0.0


def feature_label_correlation(X: np.ndarray, labels, names=None) -> pd.DataFrame:
    """Correlation of every feature with every label's 0/1 indicator (point-biserial r).

    Rows are features, columns labels: a large positive value means the feature is high for
    that genre.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    labels = np.asarray(labels, dtype=object)
    classes = sorted(set(labels), key=str)
    X = np.asarray(X, dtype=np.float64)
    names = list(names) if names is not None else [f"f{i}" for i in range(X.shape[1])]
    ind = np.stack([(labels == c).astype(float) for c in classes], axis=1)
    both = np.concatenate([X, ind], axis=1)
    C = feature_correlation(both).to_numpy()[: X.shape[1], X.shape[1]:]
    return pd.DataFrame(C, index=names, columns=classes)


def top_features_per_label(corr: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """For each label, the ``n`` features most positively correlated with it.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    rows = []
    for label in corr.columns:
        best = corr[label].sort_values(ascending=False).head(n)
        rows.append({"label": label, **{f"feature {i + 1}": f"{f} ({r:+.2f})"
                                        for i, (f, r) in enumerate(best.items())}})
    return pd.DataFrame(rows).set_index("label")


def pca_curve(X: np.ndarray, standardise: bool = True) -> np.ndarray:
    """Explained-variance ratio of every principal component (PCA on standardised features).

    Notebook: 02_correlation_and_projections.ipynb.
    """
    from sklearn.decomposition import PCA

    Z = pipeline.standardise(X) if standardise else np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    return PCA().fit(Z).explained_variance_ratio_


def components_for(ratios: np.ndarray, share: float = 0.9) -> int:
    """How many leading components explain at least ``share`` of the variance.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    cum = np.cumsum(ratios)
    return int(min(np.searchsorted(cum, share - 1e-12) + 1, len(ratios)))


# -- 2-D projections -------------------------------------------------------------------------------
def effective_perplexity(perplexity: float, n: int) -> float:
    """The perplexity :func:`project` gives t-SNE for ``n`` points: the one asked for, capped
    at ``(n - 1) / 3`` (and at least 1). scikit-learn's t-SNE looks at the ``3 * perplexity``
    nearest neighbours of each point, so a larger value would ask for more neighbours than
    there are other points.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    return float(min(perplexity, max(1.0, (n - 1) / 3)))


def project(X: np.ndarray, method: str = "pca", seed: int = 0, perplexity: float = 30.0,
            pre_pca: int | None = 50, standardise: bool = True) -> np.ndarray:
    """A 2-D map of the rows of ``X``: ``'pca'``, ``'tsne'`` or ``'mds'`` (metric MDS).

    Features are standardised first. For t-SNE the data is first reduced to ``pre_pca``
    principal components (common practice, it removes noise and is faster) and the perplexity
    is capped at ``(n - 1) / 3`` for n points (:func:`effective_perplexity`).

    Notebook: none directly; used by :func:`projections`.
    """
    from sklearn.decomposition import PCA

    Z = pipeline.standardise(X) if standardise else np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    n = len(Z)
    if n < 3:
        raise ValueError(f"a 2-D projection needs at least 3 points, got {n}")
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(Z)
    if method == "tsne":
        from sklearn.manifold import TSNE

        if pre_pca and Z.shape[1] > pre_pca:
            Z = PCA(n_components=min(pre_pca, n), random_state=seed).fit_transform(Z)
        perp = effective_perplexity(perplexity, n)
        return TSNE(n_components=2, perplexity=perp, init="pca", random_state=seed,
                    learning_rate="auto").fit_transform(Z)
    if method == "mds":
        from sklearn.manifold import MDS

        return MDS(n_components=2, metric_mds=True, metric="euclidean", init="classical_mds",
                   random_state=seed, n_init=1, max_iter=300).fit_transform(Z)
    raise ValueError(f"unknown projection {method!r}; choose pca, tsne or mds")


def projections(inputs: dict, methods=("pca", "tsne", "mds"), seed: int = 0,
                perplexity: float = 30.0, progress: bool = True) -> dict:
    """Every method applied to every input: ``{(input name, method): (n, 2) array}``.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    from tqdm.auto import tqdm

    jobs = [(name, m) for name in inputs for m in methods]
    out = {}
    for name, m in tqdm(jobs, desc="projections", disable=not progress):
        out[(name, m)] = project(inputs[name], m, seed=seed, perplexity=perplexity)
    return out


def knn_agreement(Z: np.ndarray, labels, k: int = 5) -> float:
    """Leave-one-out share of points whose ``k`` nearest neighbours mostly share their label.

    1.0: every point sits among its own kind; 1 / (number of labels): no structure at all.
    Ties in the neighbour vote are broken towards the nearest neighbour.

    Notebook: none directly; used by :func:`projection_scores`.
    """
    from sklearn.neighbors import NearestNeighbors

    labels = np.asarray(labels, dtype=object)
    n = len(labels)
    k = int(min(k, n - 1))
    if k < 1:
        raise ValueError("knn_agreement needs at least two points")
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z)
    hits = 0
    for i in range(n):
        neigh = [j for j in idx[i] if j != i][:k]
        votes: dict = {}
        for rank, j in enumerate(neigh):
            count, first = votes.get(labels[j], (0, rank))
            votes[labels[j]] = (count + 1, first)
        winner = max(votes.items(), key=lambda kv: (kv[1][0], -kv[1][1]))[0]
        hits += winner == labels[i]
    return hits / n


def projection_scores(maps: dict, labels, k: int = 5, originals: dict | None = None) -> pd.DataFrame:
    """k-NN agreement and silhouette of ``labels`` in every 2-D map (and, when ``originals``
    maps input names to the full feature arrays, the k-NN agreement there, for comparison).

    Notebook: 02_correlation_and_projections.ipynb.
    """
    from sklearn.metrics import silhouette_score

    labels = np.asarray(labels, dtype=object)
    n_labels = len(set(labels))
    rows = []
    for (name, method), Z in maps.items():
        row = {"input": name, "method": method, f"{k}-NN agreement": knn_agreement(Z, labels, k)}
        row["silhouette"] = (float(silhouette_score(Z, labels)) if 1 < n_labels < len(labels)
                             else float("nan"))
        rows.append(row)
    frame = pd.DataFrame(rows)
    if originals:
        full = {name: knn_agreement(pipeline.standardise(X), labels, k) for name, X in originals.items()}
        frame[f"{k}-NN agreement, all dimensions"] = frame["input"].map(full)
    frame.attrs["chance"] = 1.0 / max(n_labels, 1)
    return frame.round(3)


def describe_projection_scores(scores: pd.DataFrame, k: int = 5) -> str:
    """A plain-language reading of :func:`projection_scores`: how far above chance the genres
    group in each map, which input and method group them best, and how much the 2-D maps lose
    against all dimensions. The numbers decide the wording, not the hopes of the analyst.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    col = f"{k}-NN agreement"
    chance = scores.attrs.get("chance", float("nan"))
    lines = [f"chance level (one label in {1 / chance:.0f}): {chance:.2f}"]
    best = scores.loc[scores[col].idxmax()]
    worst = scores.loc[scores[col].idxmin()]
    lines.append(f"best 2-D map: {best['method']} of {best['input']} ({col} {best[col]:.2f}); "
                 f"worst: {worst['method']} of {worst['input']} ({worst[col]:.2f})")
    for name, part in scores.groupby("input", sort=False):
        top = part[col].max()
        if top < chance + 0.1:
            verdict = "no visible grouping by label: the maps are close to chance"
        elif top < 0.5:
            verdict = "some grouping by label, with heavy overlap between labels"
        elif top < 0.8:
            verdict = "clear but partial grouping by label"
        else:
            verdict = "strong grouping: most labels form their own regions"
        line = (f"{name}: {verdict} (in the best map the neighbours of {top:.0%} of the tracks "
                f"mostly share their label)")
        full_col = f"{col}, all dimensions"
        if full_col in part.columns and part[full_col].notna().any():
            full = float(part[full_col].iloc[0])
            gap = full - top
            line += (f"; with all dimensions {full:.2f}, so the best 2-D map "
                     + ("keeps about as much" if abs(gap) < 0.05 else "loses structure" if gap > 0
                        else "agrees more than the raw distances do (t-SNE is built to keep "
                             "neighbours; the raw distances weigh every dimension alike)"))
        lines.append(line)
    return "\n".join(lines)


def align(*feature_sets):
    """Restrict several FeatureSets to the tracks they all have (some may have skipped
    unreadable files), in one order. Returns ``([X, ...], table)``.

    Notebook: none directly; used by :func:`classical_inputs`.
    """
    if not feature_sets:
        raise ValueError("align needs at least one FeatureSet")
    common = set(feature_sets[0].table["track_id"])
    for fs in feature_sets[1:]:
        common &= set(fs.table["track_id"])
    base = feature_sets[0].table
    order = [t for t in base["track_id"] if t in common]
    arrays = []
    for fs in feature_sets:
        pos = pd.Series(np.arange(len(fs.table)), index=fs.table["track_id"].to_numpy())
        arrays.append(fs.X[pos.loc[order].to_numpy()])
    table = base.set_index("track_id", drop=False).loc[order].reset_index(drop=True)
    table.attrs = dict(base.attrs)
    return arrays, table


def classical_inputs(table: pd.DataFrame, *, settings=None):
    """The two inputs of the classical track, for the same tracks in the same order: the
    140 MFCC summary statistics and the 32 x 32 log-mel images (both cached feature kinds).

    Returns:
        ``(X_stats, X_images, aligned_table)``; tracks that either extraction skipped are
        left out of all three.

    Notebook: 02_correlation_and_projections.ipynb, 03_baseline_mfcc_svm.ipynb.
    """
    from . import features

    stats = features.extract(table, "mfcc_stats", settings=settings)
    images = features.extract(table, "logmel_32x32", settings=settings)
    (X_stats, X_images), aligned = align(stats, images)
    return np.asarray(X_stats), np.asarray(X_images), aligned


def sample_rows(table: pd.DataFrame, max_points: int | None, seed: int = 0,
                by: str | None = "genre") -> np.ndarray:
    """Positions of at most ``max_points`` rows, drawn evenly across the values of ``by``
    (seeded); all rows when the table is small enough. t-SNE and MDS grow quadratically with
    the number of points, so large datasets are mapped from a sample.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    n = len(table)
    if not max_points or n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if by and by in table.columns and table[by].notna().all():
        groups = [np.flatnonzero((table[by] == g).to_numpy()) for g in sorted(table[by].unique(), key=str)]
        share = max(1, max_points // len(groups))
        picked = np.concatenate([rng.choice(g, size=min(share, len(g)), replace=False) for g in groups])
    else:
        picked = rng.choice(n, size=max_points, replace=False)
    return np.sort(picked)


# -- spectrogram images ----------------------------------------------------------------------------
def downsample_images(X: np.ndarray, shape=(32, 32), flatten: bool = True) -> np.ndarray:
    """Shrink spectrograms ``(n, freq, time)`` (or one ``(freq, time)``) to ``shape`` images.

    Each output pixel is the mean of the block of input cells it covers (area averaging,
    which keeps the overall level of every band), then the images are flattened into vectors
    of ``shape[0] * shape[1]`` values when ``flatten`` is true: the input of the "SVM on
    spectrogram images" baseline.

    Notebook: 03_baseline_mfcc_svm.ipynb.
    """
    A = np.asarray(X)
    single = A.ndim == 2
    if single:
        A = A[None]
    if A.ndim != 3:
        raise ValueError(f"expected spectrograms of shape (n, freq, time), got {np.shape(X)}")
    if min(A.shape[1:]) < 1:
        raise ValueError(f"cannot downsample empty spectrograms of shape {np.shape(X)}")
    h, w = int(shape[0]), int(shape[1])
    out = np.empty((len(A), h, w), dtype=np.float32)
    for start in range(0, len(A), 64):  # in batches, so a large set never doubles in memory
        part = A[start:start + 64].astype(np.float64)
        out[start:start + 64] = block_mean(block_mean(part, h, axis=1), w, axis=2)
    if flatten:
        out = out.reshape(len(out), h * w)
    return out[0] if single else out
