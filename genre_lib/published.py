"""Published figures to set beside this curriculum's results, each with its dataset, split
(setting), system, metric and source, so that tables label them as published and never mix them
with our own validation or test scores. Re-exported by :mod:`genre_lib.evaluation`.
"""
from __future__ import annotations

import pandas as pd

# Course projects and course reports, named by their authors. Figures whose source could not be
# traced are left out rather than shown without a source.
_BILKENT = ("Kırtaş, Efe et al., Bilkent CS464 course project, "
            "github.com/mmoksas68/Music-Genre-Classification")
_DWIVEDI = "Dwivedi 2018, github.com/priya-dwivedi/Music_Genre_Classification"
_CHOURDAKIS = ("Chourdakis, Report for Music Genre Classification Assignment (course report, "
               "February 2020)")
_NEACSU = ("Neacșu-Miclea, Music genre classification using 1D and 2D CNN models (course "
           "report, slides); 10 epochs")
_UAB = ("de la Torre Veguillas, Montero Jurado, Morán Fluvià and Prego Gallart 2025, UAB course "
        "project, github.com/nereadelatorre/Music-Genre-Classification")

PUBLISHED = pd.DataFrame([
    ("gtzan", "GTZAN fault-filtered (443/197/290)", "MFCC + SVM", "accuracy", 0.5344,
     "Pons and Serra 2019, Randomly weighted CNNs for (music) audio classification, ICASSP"),
    ("gtzan", "GTZAN fault-filtered (443/197/290)", "musicnn (MSD) max_pool + PCA + SVM", "accuracy",
     0.7724, "Pons and Serra 2019, musicnn (ISMIR LBD); "
     "github.com/jordipons/sklearn-audio-transfer-learning"),
    ("gtzan", "GTZAN fault-filtered (443/197/290)", "musicnn (MSD) features + PCA + SVM", "accuracy",
     0.7860, _CHOURDAKIS),
    ("gtzan", "GTZAN fault-filtered (443/197/290)", "musicnn (MSD) features + XGBoost", "accuracy",
     0.7826, _CHOURDAKIS),
    ("gtzan", "GTZAN random 80/20 (800/200 clips)", "SVM on spectrogram images", "accuracy", 0.64,
     _BILKENT),
    ("gtzan", "GTZAN random 80/20 (800/200 clips)", "1D CNN on mel", "accuracy", 0.64, _BILKENT),
    ("gtzan", "GTZAN random 80/20 (800/200 clips)", "LSTM", "accuracy", 0.62, _BILKENT),
    ("gtzan", "GTZAN random 80/20 (800/200 clips)", "1D CNN raw waveform", "accuracy", 0.51, _BILKENT),
    ("gtzan", "GTZAN random 80/20 (800/200 clips)", "2D CNN", "accuracy", 0.41, _BILKENT),
    ("fma_small", "FMA small, 8 genres, official split", "MFCC stats + SVC", "accuracy", 0.4638,
     "FMA baselines (Defferrard et al. 2017)"),
    ("fma_small", "FMA small, test split", "CRNN (1D conv + LSTM)", "accuracy", 0.441, _DWIVEDI),
    ("fma_small", "FMA small, test split", "parallel CNN-RNN", "accuracy", 0.444, _DWIVEDI),
    ("fma_small", "FMA small, test embeddings", "k-means on 64-d CRNN embeddings", "ARI", 0.22,
     _DWIVEDI),
    ("fma_small", "FMA small, test embeddings", "k-means on 64-d CRNN embeddings", "silhouette", 0.30,
     _DWIVEDI),
    ("fma_medium", "FMA medium, 16 genres, official split", "SVC on MFCC", "accuracy", 0.6098,
     "FMA baselines (Defferrard et al. 2017)"),
    ("fma_medium", "FMA medium, 16 genres, official split", "SVC on all 518 features", "accuracy",
     0.6288, "FMA baselines (Defferrard et al. 2017)"),
    ("fma_medium", "FMA large (not medium), 16 genres, random 80/10/10 by genre", "2D CNN + GRU",
     "accuracy", 0.7140, _UAB),
    ("mtat", "MagnaTagATune top-50", "short-chunk CNN + ResNet", "roc_auc", 0.9129, "Won et al. 2020"),
    ("mtat", "MagnaTagATune top-50", "short-chunk CNN + ResNet", "pr_auc", 0.4614, "Won et al. 2020"),
    ("mtat", "MagnaTagATune top-50", "musicnn", "roc_auc", 0.9106, "Won et al. 2020"),
    ("mtat", "MagnaTagATune top-50", "FCN", "roc_auc", 0.9005, "Won et al. 2020"),
    ("mtat", "MagnaTagATune top-50", "CRNN", "roc_auc", 0.8722, "Won et al. 2020"),
    ("mtat", "MagnaTagATune top-10", "1D CNN + GRU", "roc_auc", 0.9032, _NEACSU),
    ("mtat", "MagnaTagATune top-10", "1D CNN + GRU", "pr_auc", 0.6253, _NEACSU),
    ("mtat", "MagnaTagATune top-10", "2D CNN + GRU", "roc_auc", 0.9016, _NEACSU),
    ("mtat", "MagnaTagATune top-10", "2D CNN + GRU", "pr_auc", 0.6508, _NEACSU),
    ("mtat", "MagnaTagATune top-10", "1D CNN + LSTM (predicts every tag: recall 1.0)", "roc_auc",
     0.3855, _NEACSU),
], columns=["dataset", "setting", "system", "metric", "value", "source"])


def published(dataset: str) -> pd.DataFrame:
    """Published figures for ``dataset`` (its name in the dataset registry).

    Notebook: 03_baseline_mfcc_svm.ipynb, 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb,
        10_transfer_learning.ipynb.
    """
    return PUBLISHED[PUBLISHED["dataset"] == dataset].reset_index(drop=True)
