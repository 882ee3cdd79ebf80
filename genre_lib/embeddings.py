"""Embeddings: a trained model's penultimate layer as a music-similarity space.

A genre classifier squeezes each excerpt through a small Dense layer (named ``embedding`` in
every ``genre_lib.models`` builder) before the output. Those vectors can be clustered without
labels (k-means), projected to 2D (t-SNE) and searched for nearest neighbours ("songs like
this one"), as Dwivedi (2018) did with k-means on 64-d CRNN embeddings (published:
ARI 0.22, silhouette 0.30 on FMA small's test tracks).

Measures used here:

* **adjusted Rand index (ARI)**, **normalised mutual information (NMI)** and **adjusted
  mutual information (AMI)** between k-means clusters and the true genres (1: identical
  partitions). ARI and AMI are corrected for chance (about 0 for a random partition); NMI
  is not, and on a few dozen tracks a random partition into ten clusters already reaches a
  clearly positive NMI;
* **silhouette** of the k-means clustering in the space it was found in (-1..1; high when
  clusters are compact and far apart); no labels needed;
* **precision at k**: the share of each track's k nearest neighbours (leaving the track
  itself out) that share its genre (or, for tag-only datasets, at least one tag).

Every score has a chance level, estimated by permutation (:func:`clustering_chance`,
:func:`precision_chance`): the score of random partitions with the same cluster sizes (or of
the same neighbours with shuffled labels), its mean and 95th percentile.

Every space is standardised (zero mean, unit variance per dimension:
:func:`genre_lib.pipeline.standardise`) before clustering, projection and search, so the MFCC
baseline and the learned embedding are treated alike.

Notebook: 08_embedding_clustering.ipynb.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import pipeline
from .datasets import has_genres  # noqa: F401  (re-exported)


# -- extraction ------------------------------------------------------------------------------------
def embedding_model(model, layer: str = "embedding"):
    """A model from the inputs to ``layer``'s output (shares the trained weights)."""
    import keras

    try:
        target = model.get_layer(layer)
    except ValueError:
        names = ", ".join(x.name for x in model.layers[-4:])
        raise ValueError(f"model {model.name!r} has no layer named {layer!r} "
                         f"(its last layers are {names})") from None
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, target.output, name=f"{model.name}_{layer}")


def embed(model, X: np.ndarray, layer: str = "embedding", batch_size: int = 64,
          progress: bool = False) -> np.ndarray:
    """The ``layer`` activations (n, dim) for model inputs ``X``, computed batch by batch."""
    from tqdm.auto import tqdm

    sub = embedding_model(model, layer)
    X = np.asarray(X, dtype=np.float32)
    out = []
    starts = range(0, len(X), batch_size)
    for s in tqdm(starts, desc=f"{layer} vectors", disable=not progress, unit="batch"):
        out.append(np.asarray(sub(X[s:s + batch_size], training=False)))
    if not out:
        return np.zeros((0, sub.outputs[0].shape[-1]), np.float32)
    return np.concatenate(out).reshape(len(X), -1)


def subset(fs, split: str):
    """The part of a FeatureSet in one split, as a FeatureSet (``fs.split`` gives arrays)."""
    return fs.subset(split)


@dataclass
class Embeddings:
    """Track-level vectors ``E`` aligned with ``table`` (one row per track)."""

    E: np.ndarray
    table: pd.DataFrame
    source: str

    def __repr__(self) -> str:
        return f"Embeddings({self.source}, E{tuple(self.E.shape)})"


def track_embeddings(trained, fs, split: str | None = "test", layer: str = "embedding",
                     batch_size: int = 64) -> Embeddings:
    """One ``layer`` vector per track of ``split`` for a trained model and its FeatureSet.

    The model sees each track as consecutive excerpts (``trained.chunks``); the excerpts'
    vectors are averaged per track (:func:`genre_lib.evaluation.pool_by_track`), as
    predictions are. A model with ``prepare`` instead of ``chunks`` gives one input per track,
    or an equal number of consecutive excerpts per track, laid out track by track.

    Notebook: 08_embedding_clustering.ipynb.
    """
    from .evaluation import pool_by_track

    part = subset(fs, split) if split else fs
    ids = part.table["track_id"].to_numpy()
    if len(ids) == 0:
        raise ValueError(f"no tracks in split {split!r}")
    if hasattr(trained, "chunks"):
        X, owners = trained.chunks(part)
        E = embed(trained.model, X, layer=layer, batch_size=batch_size)
    else:  # anything with .model and .prepare (one input per track or equal chunk counts)
        E = embed(trained.model, trained.prepare(part), layer=layer, batch_size=batch_size)
        if len(E) % len(ids):
            raise ValueError(f"{len(E)} chunk vectors cannot be split evenly over {len(ids)} tracks")
        owners = np.repeat(ids, len(E) // len(ids))
    E = pool_by_track(E, owners, order=ids).to_numpy()
    return Embeddings(E.astype(np.float32), part.table, f"{trained.name}:{layer}")


def rows_for(track_ids, fs) -> np.ndarray:
    """The rows of ``fs.X`` for ``track_ids``, in that order (e.g. MFCC statistics for the
    tracks an embedding covers). Tracks the FeatureSet lacks are a clear error.

    Notebook: 08_embedding_clustering.ipynb.
    """
    index = {t: i for i, t in enumerate(fs.table["track_id"])}
    missing = [t for t in track_ids if t not in index]
    if missing:
        raise KeyError(f"{len(missing)} track(s) have no {fs.kind} features "
                       f"(first: {missing[:3]}); skipped: {list(fs.skipped)[:3]}")
    return fs.X[[index[t] for t in track_ids]]


def lda_space(fs, track_ids, label: str = "genre") -> np.ndarray:
    """A supervised baseline space: the features of ``fs`` (one vector per track, e.g. MFCC
    statistics), standardised and projected by linear discriminant analysis fitted on the
    ``label`` of the train split's tracks, for ``track_ids`` (at most classes - 1 dimensions).

    A genre classifier's embedding was trained with the train split's genres; LDA uses the
    same labels on hand-made features, so comparing the two asks what the network added
    beyond the supervision, which the unsupervised MFCC statistics cannot answer.

    Notebook: 08_embedding_clustering.ipynb.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    table = fs.table
    train = ((table["split"] == "train") & table[label].notna()).to_numpy()
    if len(set(table.loc[train, label])) < 2:
        raise ValueError(f"LDA needs at least two {label} values in the train split")
    model = make_pipeline(StandardScaler(), LinearDiscriminantAnalysis())
    model.fit(np.asarray(fs.X[np.flatnonzero(train)], np.float64), table.loc[train, label].to_numpy())
    return model.transform(np.asarray(rows_for(track_ids, fs), np.float64))


# -- labels -------------------------------------------------------------------------------------------
def reference_labels(table: pd.DataFrame):
    """What "same kind of music" means for this table: genres when every track has one,
    else tag sets (for precision at k), with a short description of the choice.

    Notebook: 08_embedding_clustering.ipynb.
    """
    if has_genres(table):
        return table["genre"].to_numpy(), "genre"
    return [frozenset(t) for t in table["tags"]], "shared tag"


# -- clustering ---------------------------------------------------------------------------------------
def kmeans(E: np.ndarray, k: int, seed: int = 0):
    """k-means (10 restarts) on the standardised vectors; returns the fitted estimator."""
    from sklearn.cluster import KMeans

    if not 1 <= k <= len(E):
        raise ValueError(f"k={k} must lie between 1 and the number of vectors ({len(E)})")
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit(pipeline.standardise(E))


def cluster_scores(E: np.ndarray, labels=None, k: int | None = None, seed: int = 0) -> dict:
    """k-means with ``k`` clusters (default: the number of distinct labels) and its scores.

    Returns ``k``, ``inertia``, ``silhouette`` and, when single ``labels`` are given, ``ari``,
    ``nmi`` and ``ami`` against them, plus the cluster of each vector under ``clusters``.

    Notebook: 08_embedding_clustering.ipynb.
    """
    from sklearn.metrics import silhouette_score

    if k is None:
        if labels is None:
            raise ValueError("give k or labels")
        k = len(set(labels))
    k = min(k, len(E) - 1)
    if k < 2:
        raise ValueError(f"need at least 3 vectors to cluster (got {len(E)})")
    km = kmeans(E, k, seed)
    Z = pipeline.standardise(E)
    out = {"k": int(k), "inertia": float(km.inertia_),
           "silhouette": float(silhouette_score(Z, km.labels_)) if len(set(km.labels_)) > 1 else np.nan}
    if labels is not None:
        out.update(label_scores(labels, km.labels_))
    out["clusters"] = km.labels_
    return out


LABEL_SCORES = ("ari", "nmi", "ami")


def label_scores(labels, clusters) -> dict:
    """ARI, NMI and AMI of a clustering against single ``labels`` (scikit-learn's
    ``adjusted_rand_score``, ``normalized_mutual_info_score`` and ``adjusted_mutual_info_score``,
    the last two with the arithmetic-mean normalisation).

    Notebook: none directly; used by :func:`cluster_scores`, :func:`clustering_chance` and
    :func:`random_partition_chance`.
    """
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, normalized_mutual_info_score

    labels, clusters = list(labels), list(clusters)
    return {"ari": float(adjusted_rand_score(labels, clusters)),
            "nmi": float(normalized_mutual_info_score(labels, clusters)),
            "ami": float(adjusted_mutual_info_score(labels, clusters))}


def clustering_chance(clusters, labels=None, Z: np.ndarray | None = None, n_permutations: int = 200,
                      seed: int = 0) -> pd.DataFrame:
    """Chance levels of the clustering scores, by permutation.

    The cluster of each track is shuffled over the tracks ``n_permutations`` times (seeded): a
    random partition with exactly the same cluster sizes. Each is scored against ``labels``
    (ARI, NMI, AMI; skipped when ``labels`` is None) and, when the standardised space ``Z`` is
    given, by its silhouette in that space.

    Returns one row per score (``ari``, ``nmi``, ``ami``, ``silhouette``) with ``measured``
    (the score of ``clusters`` themselves), ``chance mean`` and ``chance 95th percentile`` (a
    random partition reaches it one time in twenty).

    Notebook: 08_embedding_clustering.ipynb.
    """
    from sklearn.metrics import pairwise_distances, silhouette_score

    clusters = np.asarray(clusters)
    if n_permutations < 1:
        raise ValueError("n_permutations must be at least 1")
    rng = np.random.default_rng(seed)
    D = pairwise_distances(np.asarray(Z, dtype=np.float64)) if Z is not None else None
    multi = len(set(clusters.tolist())) > 1

    def score(c) -> dict:
        out = label_scores(labels, c) if labels is not None else {}
        if D is not None:
            out["silhouette"] = float(silhouette_score(D, c, metric="precomputed")) if multi else np.nan
        return out

    measured = score(clusters)
    draws = pd.DataFrame([score(rng.permutation(clusters)) for _ in range(n_permutations)])
    names = [s for s in (*LABEL_SCORES, "silhouette") if s in measured]
    return pd.DataFrame({"measured": [measured[s] for s in names],
                         "chance mean": [float(draws[s].mean()) for s in names],
                         "chance 95th percentile": [float(draws[s].quantile(0.95)) for s in names]},
                        index=pd.Index(names, name="score"))


def random_partition_chance(sizes=(20, 80, 400, 2000), k: int = 10, n_permutations: int = 200,
                            seed: int = 0) -> pd.DataFrame:
    """Mean ARI, NMI and AMI between two independent random partitions of ``n`` items into
    ``k`` equal groups, for each ``n`` in ``sizes``: how the chance level of each score
    depends on the number of items (NMI's shrinks as ``n`` grows; ARI's and AMI's stay near 0).

    Notebook: 08_embedding_clustering.ipynb.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        truth = np.arange(int(n)) % k
        draws = pd.DataFrame([label_scores(truth, rng.permutation(truth)) for _ in range(n_permutations)])
        rows.append({"items": int(n), "clusters": int(k),
                     **{f"chance {s}": float(draws[s].mean()) for s in LABEL_SCORES}})
    return pd.DataFrame(rows).set_index("items")


def k_sweep(E: np.ndarray, ks=range(2, 13), seed: int = 0) -> pd.DataFrame:
    """Inertia and silhouette of k-means for each k (capped at n_vectors - 1).

    Notebook: 08_embedding_clustering.ipynb.
    """
    from sklearn.metrics import silhouette_score
    from tqdm.auto import tqdm

    Z = pipeline.standardise(E)
    ks = [k for k in ks if 2 <= k <= len(E) - 1]
    rows = []
    for k in tqdm(ks, desc="k-means sweep", unit="k", leave=False):
        km = kmeans(E, k, seed)
        sil = silhouette_score(Z, km.labels_) if len(set(km.labels_)) > 1 else np.nan
        rows.append({"k": k, "inertia": float(km.inertia_), "silhouette": float(sil)})
    return pd.DataFrame(rows, columns=["k", "inertia", "silhouette"]).set_index("k")


def cluster_table(clusters, labels) -> pd.DataFrame:
    """Tracks per (true label, cluster): the cluster-vs-genre confusion matrix.

    Columns are ordered so that each genre's most common cluster tends to sit on the
    diagonal, which makes a good clustering look like a good confusion matrix.

    Notebook: 08_embedding_clustering.ipynb.
    """
    table = pd.crosstab(pd.Series(labels, name="genre"), pd.Series(clusters, name="cluster"))
    order, used = [], set()
    for g in table.index:
        for c in table.loc[g].sort_values(ascending=False).index:
            if c not in used:
                order.append(c)
                used.add(c)
                break
    order += [c for c in table.columns if c not in used]
    return table[order]


def tsne(E: np.ndarray, perplexity: float = 30.0, seed: int = 0, **kwargs) -> np.ndarray:
    """A 2D t-SNE projection of the standardised vectors (perplexity capped for small sets;
    ``kwargs`` go to ``sklearn.manifold.TSNE``, e.g. ``max_iter``).

    Notebook: 08_embedding_clustering.ipynb.
    """
    from sklearn.manifold import TSNE

    n = len(E)
    if n < 4:
        raise ValueError(f"t-SNE needs at least 4 vectors (got {n})")
    perplexity = float(min(perplexity, max(2.0, (n - 1) / 3)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                learning_rate="auto", **kwargs).fit_transform(pipeline.standardise(E))


# -- nearest neighbours --------------------------------------------------------------------------------
def _distances(Z: np.ndarray, metric: str) -> np.ndarray:
    from sklearn.metrics import pairwise_distances

    return pairwise_distances(Z, metric=metric)


def neighbours(E: np.ndarray, query: int, k: int = 5, metric: str = "cosine"):
    """The ``k`` nearest other vectors to vector ``query``: (indices, distances), nearest first."""
    D = _distances(pipeline.standardise(E), metric)
    order = [i for i in np.argsort(D[query], kind="stable") if i != query][:k]
    return np.array(order), D[query, order]


def _same(a, b) -> bool:
    if isinstance(a, (set, frozenset)):
        return bool(a & b)
    return a == b


def _neighbour_lists(E: np.ndarray, n: int, k: int, metric: str) -> np.ndarray:
    """Row i: the ``k`` nearest other vectors to vector i (itself excluded), nearest first."""
    if n < 2:
        raise ValueError("precision at k needs at least 2 vectors")
    D = _distances(pipeline.standardise(E), metric)
    np.fill_diagonal(D, np.inf)
    return np.argsort(D, axis=1, kind="stable")[:, :min(k, n - 1)]


def precision_at_k(E: np.ndarray, labels, k: int = 5, metric: str = "cosine") -> float:
    """Mean share of each vector's ``k`` nearest neighbours (itself excluded) with its label.

    ``labels`` are single labels (same genre counts) or sets of tags (sharing one counts).
    Vectors without any tag are left out as queries.

    Notebook: 08_embedding_clustering.ipynb.
    """
    labels = list(labels)
    return _hit_share(_neighbour_lists(E, len(labels), k, metric), labels)


def _hit_share(nn: np.ndarray, labels: list) -> float:
    """Mean share of each query's neighbours (rows of ``nn``) that share its label; queries
    with an empty tag set are left out."""
    scores = [np.mean([_same(labels[i], labels[j]) for j in nn[i]]) for i in range(len(labels))
              if not (isinstance(labels[i], (set, frozenset)) and not labels[i])]
    return float(np.mean(scores)) if scores else float("nan")


def precision_chance(E: np.ndarray, labels, k: int = 5, metric: str = "cosine",
                     n_permutations: int = 200, seed: int = 0) -> dict:
    """Chance level of :func:`precision_at_k` by permutation: the same neighbours, with the
    labels shuffled over the tracks ``n_permutations`` times (seeded). Returns ``measured``,
    ``chance mean`` and ``chance 95th percentile``; the mean is close to
    :func:`chance_precision`.

    Notebook: none directly; used by :func:`compare_spaces`.
    """
    labels = list(labels)
    n = len(labels)
    nn = _neighbour_lists(E, n, k, metric)
    rng = np.random.default_rng(seed)
    draws = [_hit_share(nn, [labels[j] for j in rng.permutation(n)]) for _ in range(n_permutations)]
    return {"measured": _hit_share(nn, labels), "chance mean": float(np.mean(draws)),
            "chance 95th percentile": float(np.quantile(draws, 0.95))}


def chance_precision(labels) -> float:
    """Precision at k expected from random neighbours: the chance two different tracks match.

    Notebook: 08_embedding_clustering.ipynb.
    """
    labels = list(labels)
    n = len(labels)
    hits = [np.mean([_same(labels[i], labels[j]) for j in range(n) if j != i]) for i in range(n)
            if not (isinstance(labels[i], (set, frozenset)) and not labels[i])]
    return float(np.mean(hits)) if hits else float("nan")


def compare_spaces(spaces: dict, table: pd.DataFrame, k_neighbours: int = 5, seed: int = 0,
                   n_clusters: int | None = None, n_permutations: int = 0) -> pd.DataFrame:
    """ARI, NMI, AMI, silhouette and precision at k for several vector spaces of the same tracks.

    ``spaces`` maps a name (e.g. "MFCC statistics", "CNN embedding") to an (n, d) array
    aligned with ``table``. k-means uses ``n_clusters`` or the number of genres (10 when
    the dataset has only tags). Without genres, ARI, NMI and AMI are left empty.

    With ``n_permutations`` > 0 every score is followed by its chance level, estimated by
    permutation (:func:`clustering_chance`, :func:`precision_chance`): ``<score> chance``
    (the mean) and ``<score> chance p95`` (the 95th percentile).

    Notebook: 08_embedding_clustering.ipynb.
    """
    labels, kind = reference_labels(table)
    genres = labels if kind == "genre" else None
    k = n_clusters or (len(set(genres)) if genres is not None else 10)
    p_col = f"precision@{k_neighbours}"
    rows = []
    for name, E in spaces.items():
        if len(E) != len(table):
            raise ValueError(f"space {name!r} has {len(E)} vectors for {len(table)} tracks")
        sc = cluster_scores(E, genres, k=k, seed=seed)
        row = {"space": name, "dim": int(np.shape(E)[1]), "k": sc["k"]}
        chance = (clustering_chance(sc["clusters"], genres, pipeline.standardise(E), n_permutations, seed)
                  if n_permutations > 0 else None)
        for s in (*LABEL_SCORES, "silhouette"):
            row[s] = sc.get(s, np.nan)
            if chance is not None:
                have = s in chance.index
                row[f"{s} chance"] = chance.loc[s, "chance mean"] if have else np.nan
                row[f"{s} chance p95"] = chance.loc[s, "chance 95th percentile"] if have else np.nan
        if n_permutations > 0:
            pc = precision_chance(E, labels, k_neighbours, n_permutations=n_permutations, seed=seed)
            row.update({p_col: pc["measured"], f"{p_col} chance": pc["chance mean"],
                        f"{p_col} chance p95": pc["chance 95th percentile"]})
        else:
            row[p_col] = precision_at_k(E, labels, k_neighbours)
        rows.append(row)
    return pd.DataFrame(rows).set_index("space")


# -- listening -----------------------------------------------------------------------------------------
def audio_player(path, sr: int = 22050, seconds: float | None = 10.0, offset: float = 0.0):
    """An ``IPython.display.Audio`` player for a track (the first ``seconds``), or ``None``
    with a printed reason when the file cannot be read.

    Notebook: 08_embedding_clustering.ipynb.
    """
    from IPython.display import Audio

    from . import audio

    try:
        y = audio.load(path, sr=sr, duration=seconds, offset=offset)
    except audio.AudioError as exc:
        print(f"cannot play {path}: {exc.reason}")
        return None
    return Audio(y, rate=sr)


def neighbour_table(E: np.ndarray, table: pd.DataFrame, query: int, k: int = 5,
                    metric: str = "cosine") -> pd.DataFrame:
    """The query track and its ``k`` nearest neighbours with genre/tags and distance.

    Notebook: 08_embedding_clustering.ipynb.
    """
    idx, dist = neighbours(E, query, k, metric)
    rows = [query, *idx]
    cols = [c for c in ("track_id", "genre", "tags") if c in table]
    out = table.iloc[rows][cols].reset_index(drop=True)
    out.insert(0, "rank", ["query", *range(1, len(idx) + 1)])
    out[f"{metric} distance"] = [0.0, *np.round(dist, 4)]
    return out
