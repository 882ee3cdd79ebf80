"""Hyper-parameter studies with Optuna: a CRNN and the MFCC + SVM pipeline searched on the
validation split, TPE against random search, what mattered, and how much of the best score
is luck.

Why Optuna rather than keras-tuner: one library serves both the Keras CRNN and the
scikit-learn SVM (keras-tuner is built around Keras models); its TPE sampler, random
sampler and pruners can be swapped by name with everything else fixed, which is what a fair
comparison needs; a study lives in a SQLite file, so an interrupted search resumes and
several processes can share one; and the trials come back as plain records for our own
matplotlib figures and for fANOVA importance (``optuna.importance``).

=================  ==============================================================
``studies``        samplers, pruners, SQLite storage, resuming, tables, importance
``svm``            the SVM space (C, gamma, number of MFCCs), its search, nested CV
``crnn``           the CRNN space, pruning callback, its search, retraining by seed
=================  ==============================================================

Notebook: 11_hyperparameter_search.ipynb.
"""
from __future__ import annotations

from ..extras import require

require("search", "genre_lib.search (notebook 11)")

from .crnn import *  # noqa: F401,F403
from .crnn import __all__ as _crnn_all
from .studies import *  # noqa: F401,F403
from .studies import __all__ as _studies_all
from .svm import *  # noqa: F401,F403
from .svm import __all__ as _svm_all

__all__ = [*_studies_all, *_svm_all, *_crnn_all]
