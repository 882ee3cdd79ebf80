"""The HTTP prediction service: FastAPI on uvicorn, one model loaded once.

========================  ==================================================================
``GET /``                 the upload page (:mod:`genre_lib.serve.page`)
``GET /health``           ``{"status": "ok", ...}``: the model, its classes and the limits
``POST /predict``         a multipart upload in the form field ``file`` (``?window=7`` to
                          analyse only the middle 7 s, ``?window=0`` the whole file,
                          whatever ``serve --window`` says); answers the JSON of
                          :meth:`Predictor.result`, with ``seconds_taken`` measured from
                          the request's arrival
========================  ==================================================================

Uploads are bounded by the settings (``GENRE_MAX_UPLOAD_MB``, ``GENRE_MAX_SECONDS``). A body
is counted while it arrives and is never kept beyond the limit; every refusal is a 4xx
answer ``{"detail": "..."}`` written for a person: 400 (no file, empty file, broken form),
413 (file or audio too long), 415 (not audio, or not a multipart form), 422 (audio that is
truncated or cannot be decoded). Prediction runs in worker threads, at most as many at once
as there are CPU cores (at least two), so concurrent requests queue instead of piling up.

Notebook: none directly; :class:`genre_lib.serve.Service` runs it in a process of its own.
"""
# no ``from __future__ import annotations`` here: FastAPI reads the annotations of the
# handlers, whose types are imported inside create_app

import functools
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from ..audio import AudioError
from ..config import Settings, get_settings
from . import page
from .predict import OWN_WINDOW, Predictor

FORM_SLACK = 64 * 1024  # bytes of multipart framing allowed on top of the file itself
DRAIN_FACTOR = 8        # an oversized body is read and dropped up to this many limits
_SUFFIX_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789")
# what genre_lib.audio and libsndfile say about bytes that are no audio format at all
_UNRECOGNISED = ("not a recognised audio format", "no recognised audio header", "format not recognised")
_NOT_AUDIO = _UNRECOGNISED + ("not a wav file", "is a directory")


class _TooLarge(Exception):
    """The request body passed the limit while it was arriving."""


class _Counted:
    """A wrapped ASGI ``receive`` that raises :class:`_TooLarge` once ``limit`` body bytes
    have arrived."""

    def __init__(self, receive, limit: int):
        self.receive, self.limit, self.seen = receive, limit, 0

    async def __call__(self):
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                raise _TooLarge()
        return message


def _megabytes(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


def _suffix(filename: str | None) -> str:
    """The upload's extension when it is a plain one (``.mp3``), else none: libsndfile
    recognises the format from the content either way."""
    suffix = Path(filename or "").suffix.lower()
    return suffix if 1 < len(suffix) <= 6 and set(suffix[1:]) <= _SUFFIX_CHARS else ""


def audio_status(error: AudioError) -> int:
    """The HTTP status for a file :func:`genre_lib.audio.load` refused."""
    reason = error.reason.lower()
    if error.transient:
        return 500
    if any(words in reason for words in _NOT_AUDIO):
        return 415
    if reason.startswith("empty file"):
        return 400
    return 422


def audio_message(error: AudioError, filename: str) -> str:
    """One sentence for a person about a file that could not be used (libsndfile's own
    wording, "Error opening ...: Format not recognised", is left out)."""
    status = audio_status(error)
    reason = re.sub(r"\s*\(?Error opening [^:]*:\s*", " (", error.reason).replace("((", "(")
    if status == 415:
        known = not any(words in reason.lower() for words in _UNRECOGNISED)
        return (f"'{filename}' is not audio this service can read (it reads WAV, FLAC, OGG, MP3 and AU)"
                + (f": {reason}." if known else "."))
    if status == 400:
        return f"'{filename}' is empty (0 bytes)."
    if "truncated" in reason:
        return f"'{filename}' looks cut off ({reason}); was the upload or the download complete?"
    if status == 500:
        return f"The server could not read the upload ({reason}); please try again."
    return f"'{filename}' could not be decoded as audio: {reason}."


def create_app(predictor: Predictor, *, settings: Settings | None = None):
    """The FastAPI application serving ``predictor`` within the settings' limits.

    Notebook: none directly; used by :func:`run`.
    """
    from ..extras import require

    require("serve", "the prediction service")
    import anyio
    from fastapi import FastAPI, HTTPException, Query, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse

    from .. import __version__

    settings = settings or get_settings()
    max_bytes = int(settings.max_upload_mb * 1_000_000)
    limiter = anyio.CapacityLimiter(max(2, os.cpu_count() or 1))
    description = predictor.describe()
    app = FastAPI(title="genre_lib prediction service", version=__version__,
                  description="Upload a song, get its genre (or tags) with probabilities.")

    @app.exception_handler(RequestValidationError)
    async def plain_validation_error(request, exc) -> JSONResponse:
        words = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: "
                          f"{e.get('msg', 'invalid')}" for e in exc.errors())
        return JSONResponse({"detail": f"Invalid request ({words})."}, status_code=422)

    @app.get("/", response_class=HTMLResponse)
    def upload_page() -> str:
        return page.render(description, settings.max_upload_mb, settings.max_seconds)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", **description,
                "limits": {"max_upload_mb": settings.max_upload_mb, "max_seconds": settings.max_seconds}}

    @app.post("/predict")
    async def predict(request: Request, window: float | None = Query(None, ge=0, le=3600)) -> dict:
        """Multipart upload in the form field ``file``; ``window``: seconds from the middle
        (default: the service's ``--window``; 0: the whole file)."""
        window = OWN_WINDOW if window is None else (window or None)
        started = time.perf_counter()
        form = await _read_form(request, max_bytes, HTTPException)
        try:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise HTTPException(400, "No file received: send the audio as multipart/form-data "
                                         "in the form field 'file'.")
            name = Path(upload.filename or "upload").name or "upload"
            if upload.size == 0:
                raise HTTPException(400, f"'{name}' is empty (0 bytes).")
            if upload.size is not None and upload.size > max_bytes:
                raise HTTPException(413, f"'{name}' is {_megabytes(upload.size)}; this service takes "
                                         f"files up to {_megabytes(max_bytes)}.")
            job = functools.partial(_predict_upload, settings=settings)
            result = await anyio.to_thread.run_sync(job, predictor, upload, name, window,
                                                    limiter=limiter)
        finally:
            await form.close()
        if isinstance(result, tuple):  # (status, message): the file was refused
            raise HTTPException(*result)
        taken = time.perf_counter() - started  # upload, checks and prediction: what the server spent
        result["seconds_taken"] = round(taken, 4)
        result["real_time_factor"] = round(taken / result["duration_s"], 5) if result["duration_s"] else None
        return result

    return app


async def _drain(receive, budget: int) -> None:
    """Read and drop the rest of a request body (up to ``budget`` bytes), so the client
    that is still sending it gets to read the answer."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _read_form(request, max_bytes: int, http_error):
    """The request's multipart form, parsed while counting bytes; oversized, non-multipart
    and broken bodies become ``http_error`` (an ``HTTPException`` class)."""
    from starlette.requests import ClientDisconnect, Request

    limit = max_bytes + FORM_SLACK
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length", "")
    too_big = (f"The upload is larger than the {_megabytes(max_bytes)} this service accepts "
               "(GENRE_MAX_UPLOAD_MB).")
    if kind != "multipart/form-data":
        await _drain(request.receive, DRAIN_FACTOR * limit)
        raise http_error(415, "Send the audio as multipart/form-data in the form field 'file' "
                              f"(got content type '{kind or 'none'}').")
    if declared.isdigit() and int(declared) > limit:
        await _drain(request.receive, DRAIN_FACTOR * limit)
        raise http_error(413, too_big)
    counted = Request(request.scope, _Counted(request.receive, limit))
    try:
        return await counted.form(max_files=1, max_fields=16)
    except _TooLarge:
        await _drain(request.receive, DRAIN_FACTOR * limit)
        raise http_error(413, too_big) from None
    except ClientDisconnect:
        raise http_error(400, "The upload was interrupted before it was complete.") from None


def _predict_upload(predictor: Predictor, upload, name: str, window, *, settings: Settings):
    """In a worker thread: the upload copied to a private temporary file, its length checked
    against the limit, then predicted. The result, or ``(status, message)``."""
    from .. import audio

    folder = tempfile.mkdtemp(prefix="genre_serve_")
    try:
        path = Path(folder) / f"upload{_suffix(upload.filename)}"
        upload.file.seek(0)
        with open(path, "wb") as fh:
            shutil.copyfileobj(upload.file, fh, 1 << 20)
        try:
            seconds = audio.info(path)["seconds"]
            if seconds > settings.max_seconds:
                return (413, f"'{name}' lasts {seconds:.0f} s; this service analyses at most "
                             f"{settings.max_seconds:g} s (GENRE_MAX_SECONDS). The command line, "
                             "python -m genre_lib predict, takes any length.")
            return predictor.result(path, window=window, name=name)
        except AudioError as exc:  # the reason may quote the private path: name the upload instead
            exc.reason = exc.reason.replace(f"'{path}'", f"'{name}'").replace(str(path), name)
            return (audio_status(exc), audio_message(exc, name))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(model: str | None = None, host: str = "127.0.0.1", port: int = 8000, window: float | None = None,
        log_level: str = "info", *, settings: Settings | None = None) -> None:
    """Load the model (once), then serve until interrupted (``python -m genre_lib serve``).

    Notebook: none directly; ``python -m genre_lib serve`` (what :class:`genre_lib.serve.Service`
    starts) calls it.
    """
    from ..extras import require

    require("serve", "the prediction service")
    import uvicorn

    settings = settings or get_settings()
    predictor = Predictor.load(model, window=window, settings=settings)
    app = create_app(predictor, settings=settings)
    print(f"serving model {predictor.name} ({settings.run_name}) on http://{host}:{port}/ "
          "(Ctrl+C stops)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)


__all__ = ["create_app", "run", "audio_status", "audio_message", "FORM_SLACK"]
