"""The prediction service for real: ``python -m genre_lib serve`` started as a process on a
free port of 127.0.0.1 and called with a real HTTP client (httpx). A good file in several
formats, every kind of bad upload (each a 4xx with a sentence for a person), concurrent
requests that must get the answers they would get alone, and a bounded load of a few
hundred requests with nothing failed. The model is the session's ``small_model``
(tests/conftest.py), shared with tests/test_predict.py and tests/test_saved_models.py."""
from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("tensorflow")
httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from genre_lib import audio  # noqa: E402
from genre_lib.serve import Predictor, Service  # noqa: E402

MAX_MB, MAX_SECONDS = 2, 20  # small limits, so oversized uploads stay cheap to send
LOAD_REQUESTS, LOAD_CLIENTS = 300, 8


@pytest.fixture(scope="module")
def service(small_model, ci_settings):
    env = {"GENRE_PROFILE": "ci", "GENRE_DATASET": "synth", "GENRE_DATA_DIR": str(ci_settings.data_dir),
           "GENRE_WORK_DIR": str(ci_settings.work_dir), "GENRE_MAX_UPLOAD_MB": str(MAX_MB),
           "GENRE_MAX_SECONDS": str(MAX_SECONDS), "TF_CPP_MIN_LOG_LEVEL": "2"}
    service = Service(model=small_model.name, env=env).start()
    yield service
    process = service.process
    assert service.stop() is not None and process.poll() is not None  # stopped, no process left


@pytest.fixture(scope="module")
def client(service):
    with httpx.Client(base_url=service.url, timeout=60.0) as client:
        yield client


@pytest.fixture(scope="module")
def songs(ci_table):
    """Bytes of four test clips (WAV) of different genres, and the first as MP3 and FLAC."""
    test = ci_table[ci_table["split"] == "test"].drop_duplicates("genre")
    out = {f"song{i}.wav": open(p, "rb").read() for i, p in enumerate(test["path"][:4])}
    y = audio.load(test["path"].iloc[0])
    for fmt in ("mp3", "flac"):
        buf = io.BytesIO()
        sf.write(buf, y, 22050, format=fmt.upper())
        out[f"song0.{fmt}"] = buf.getvalue()
    return out


def _post(client, name: str, data: bytes, **kwargs):
    return client.post("/predict", files={"file": (name, data)}, **kwargs)


def test_health_names_the_model_and_the_limits(client, small_model):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["model"] == small_model.name
    assert body["classes"] == small_model.classes
    assert body["limits"] == {"max_upload_mb": MAX_MB, "max_seconds": MAX_SECONDS}


def test_the_upload_page_is_served(client, small_model):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'type="file"' in page.text and 'fetch("predict"' in page.text and small_model.name in page.text
    assert "<audio" in page.text and f"MAX_BYTES = {MAX_MB * 1_000_000}" in page.text


def test_a_good_file_gets_its_genre_and_probabilities(client, songs, small_model, tmp_path):
    started = time.perf_counter()
    answer = _post(client, "song0.wav", songs["song0.wav"])
    wall = time.perf_counter() - started
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["file"] == "song0.wav" and body["model"] == small_model.name
    assert body["genre"] in small_model.classes
    assert set(body["probabilities"]) == set(small_model.classes)
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert body["duration_s"] == pytest.approx(6.0, abs=0.01) and body["chunks"] >= 1
    assert 0 < body["seconds_taken"] <= wall
    (tmp_path / "song0.wav").write_bytes(songs["song0.wav"])
    alone = Predictor(small_model).result(tmp_path / "song0.wav")    # the same model in this process
    np.testing.assert_allclose([body["probabilities"][c] for c in small_model.classes],
                               [alone["probabilities"][c] for c in small_model.classes], atol=1e-4)


@pytest.mark.parametrize("name", ["song0.mp3", "song0.flac"])
def test_other_formats_are_read(client, songs, small_model, tmp_path, name):
    wav = _post(client, "song0.wav", songs["song0.wav"]).json()
    other = _post(client, name, songs[name])
    assert other.status_code == 200, other.text
    body = other.json()
    assert body["duration_s"] == pytest.approx(6.0, abs=0.1)
    classes = small_model.classes
    # the service decodes the upload as this process does: the same answer, to 1e-4
    (tmp_path / name).write_bytes(songs[name])
    alone = Predictor(small_model).result(tmp_path / name)
    assert body["genre"] == alone["genre"]
    np.testing.assert_allclose([body["probabilities"][c] for c in classes],
                               [alone["probabilities"][c] for c in classes], atol=1e-4)
    # the audio the upload holds, sent again as a float WAV: the same genre and probabilities
    decoded = io.BytesIO()
    sf.write(decoded, audio.load(tmp_path / name), 22050, format="WAV", subtype="FLOAT")
    as_wav = _post(client, "decoded.wav", decoded.getvalue()).json()
    assert body["genre"] == as_wav["genre"]
    np.testing.assert_allclose([body["probabilities"][c] for c in classes],
                               [as_wav["probabilities"][c] for c in classes], atol=1e-4)
    # and against the original WAV: FLAC is lossless, so the same genre and probabilities; MP3
    # is lossy, so its answer moves, but less than the answers for the clips of the three other
    # genres differ from the WAV's (the yardstick scales with how sensitive this tiny model is)
    def probs(b):
        return np.array([b["probabilities"][c] for c in classes])

    if name.endswith(".flac"):
        assert body["genre"] == wav["genre"]
        np.testing.assert_allclose(probs(body), probs(wav), atol=1e-4)
    else:
        others = [_post(client, f"song{i}.wav", songs[f"song{i}.wav"]).json() for i in (1, 2, 3)]
        moved = np.abs(probs(body) - probs(wav)).sum()
        assert moved < min(np.abs(probs(o) - probs(wav)).sum() for o in others), moved


def test_a_window_analyses_the_middle(client, songs):
    body = client.post("/predict", params={"window": 3}, files={"file": ("s.wav", songs["song1.wav"])}).json()
    assert body["window_s"] == 3.0 and body["analysed_s"] == pytest.approx(3.0) and body["chunks"] == 1
    assert body["offset_s"] == pytest.approx(1.5)


def _wav_bytes(seconds: float) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.zeros(int(seconds * 8000), np.int16), 8000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _bad_uploads(songs) -> dict:
    """name -> (request keyword arguments, expected status, words the message must hold)."""
    good = songs["song0.wav"]
    return {
        "empty file": (dict(files={"file": ("empty.wav", b"")}), 400, "is empty"),
        "text named .txt": (dict(files={"file": ("notes.txt", b"hello " * 200)}), 415, "not audio"),
        "text named .wav": (dict(files={"file": ("notes.wav", b"hello " * 200)}), 415, "not audio"),
        "noise named .mp3": (dict(files={"file": ("x.mp3", bytes(range(256)) * 8)}), 415, "not audio"),
        "image": (dict(files={"file": ("cover.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 500)}), 415,
                  "not audio"),
        "truncated wav": (dict(files={"file": ("cut.wav", good[: len(good) // 3])}), 422, "looks cut off"),
        "oversized": (dict(files={"file": ("big.wav", _wav_bytes(MAX_MB * 1e6 / 16000 + 10))}), 413,
                      "larger than the 2.0 MB"),
        "too long": (dict(files={"file": ("long.wav", _wav_bytes(MAX_SECONDS + 5))}), 413,
                     f"at most {MAX_SECONDS} s"),
        "no file field": (dict(files={"song": ("a.wav", good)}), 400, "No file received"),
        "not multipart": (dict(content=good, headers={"content-type": "audio/wav"}), 415,
                          "multipart/form-data"),
        "bad window": (dict(files={"file": ("a.wav", good)}, params={"window": "-2"}), 422, "window"),
    }


def test_every_bad_upload_gets_a_4xx_a_person_understands(client, songs):
    for kind, (kwargs, status, words) in _bad_uploads(songs).items():
        answer = client.post("/predict", **kwargs)
        assert answer.status_code == status, (kind, answer.text)
        detail = answer.json()["detail"]
        assert isinstance(detail, str) and words in detail, (kind, detail)
        assert "/tmp" not in detail and "Traceback" not in detail, (kind, detail)
    assert client.get("/health").status_code == 200


def test_an_oversized_upload_without_a_length_is_cut_off(client):
    """A chunked body (no Content-Length) is counted while it arrives."""
    boundary = "genreboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.wav\"\r\n"
            "Content-Type: audio/wav\r\n\r\n").encode()

    def body():
        yield head
        for _ in range(MAX_MB * 4):
            yield b"\x00" * 500_000
        yield f"\r\n--{boundary}--\r\n".encode()

    answer = client.post("/predict", content=body(),
                         headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status_code == 413 and "larger than" in answer.json()["detail"]


def test_concurrent_requests_get_their_own_answers(client, songs):
    names = [n for n in songs if n.endswith(".wav")]
    alone = {n: _post(client, n, songs[n]).json()["probabilities"] for n in names}
    order = names * 6
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: _post(client, n, songs[n]), order))
    for name, answer in zip(order, answers):
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["file"] == name
        for label, p in alone[name].items():
            assert body["probabilities"][label] == pytest.approx(p, abs=1e-4)


def test_a_bounded_load_is_served_without_a_failure(client, songs, service):
    names = [n for n in songs if n.endswith(".wav")]
    started = time.perf_counter()
    with ThreadPoolExecutor(LOAD_CLIENTS) as pool:
        codes = list(pool.map(lambda i: _post(client, names[i % len(names)], songs[names[i % len(names)]])
                              .status_code, range(LOAD_REQUESTS)))
    wall = time.perf_counter() - started
    assert codes == [200] * LOAD_REQUESTS
    assert service.running() and client.get("/health").status_code == 200
    print(f"{LOAD_REQUESTS} requests from {LOAD_CLIENTS} clients in {wall:.1f} s "
          f"({LOAD_REQUESTS / wall:.1f} requests/s)")


def test_silence_is_answered_with_the_reason_not_a_genre(client):
    buf = io.BytesIO()
    sf.write(buf, np.zeros(22050 * 5, np.float32), 22050, format="WAV")
    body = _post(client, "silence.wav", buf.getvalue()).json()
    assert body["verdict"] == "silent" and body["genre"] is None and body["probabilities"] == {}
    assert "digital silence" in body["message"]
