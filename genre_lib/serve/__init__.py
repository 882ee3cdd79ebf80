"""Using a trained model on your own music: ``predict`` files, or ``serve`` them over HTTP.

==============  ===========================================================================
``predict``     :class:`Predictor` (one saved model, loaded once), :func:`best_model`,
                :func:`cannot_judge` (silence, clips too short),
                :func:`ranked_models`, :func:`print_predictions` (``python -m genre_lib predict``)
``app``         the FastAPI application and :func:`run` (``python -m genre_lib serve``)
``page``        the upload page
``process``     :class:`Service`: the service as a child process on a free local port
==============  ===========================================================================

Nothing here imports FastAPI or uvicorn until a service is built or run, so ``predict`` works
without them.

Notebook: 12_serving.ipynb.
"""
from __future__ import annotations

from .app import create_app, run
from .predict import (
                      NoModelError,
                      Predictor,
                      best_model,
                      cannot_judge,
                      format_result,
                      print_predictions,
                      ranked_models,
)
from .process import Service, ServiceError, free_port

__all__ = ["NoModelError", "Predictor", "best_model", "cannot_judge", "ranked_models", "format_result",
           "print_predictions", "Service", "ServiceError", "free_port", "create_app", "run"]
