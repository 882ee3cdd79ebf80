"""Predicting files with a saved model (genre_lib.serve.predict and Trained.predict_file):
any length, WAV, FLAC, OGG and MP3 at any rate, the middle window, the choice of the best
model by validation score, and ``python -m genre_lib predict`` (text, --json, unreadable
files reported in one line each while the others are still predicted). The model is the
session's ``small_model`` (tests/conftest.py), shared with tests/test_serve.py and
tests/test_saved_models.py."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("tensorflow")

from genre_lib import audio, evaluation, models  # noqa: E402
from genre_lib.__main__ import main  # noqa: E402
from genre_lib.models import saving  # noqa: E402
from genre_lib.serve import NoModelError, Predictor, best_model, format_result, ranked_models  # noqa: E402


@pytest.fixture(scope="module")
def clips(ci_table, tmp_path_factory):
    """Audio files: two test clips, a 24 s file made of four clips of different genres, the
    first clip as FLAC, OGG and 44.1 kHz MP3, and three that are no audio."""
    folder = tmp_path_factory.mktemp("predict_clips")
    test = ci_table[ci_table["split"] == "test"].drop_duplicates("genre")
    ys = [audio.load(p) for p in test["path"][:4]]
    out = {"wav": test["path"].iloc[0], "wav2": test["path"].iloc[1],
           "long": audio.write_wav(folder / "long.wav", np.concatenate(ys))}
    for fmt, sr in (("flac", 22050), ("ogg", 22050), ("mp3", 44100)):
        y = ys[0] if sr == 22050 else audio.resample(ys[0], 22050, sr)
        sf.write(folder / f"first.{fmt}", y, sr, format=fmt.upper())
        out[fmt] = folder / f"first.{fmt}"
    out["empty"] = folder / "empty.wav"
    out["empty"].write_bytes(b"")
    out["text"] = folder / "notes.wav"
    out["text"].write_text("these are notes, not a song\n" * 20)
    out["truncated"] = folder / "cut.wav"
    out["truncated"].write_bytes(open(out["wav"], "rb").read()[:30000])
    return out


def _private_models(small_model, settings, tmp_path, names_scores):
    """A work folder holding copies of the model under other names, each with the target
    and validation score given (sidecars re-checksummed, so they load)."""
    private = settings.with_(work_dir=tmp_path / "work")
    private.models_dir.mkdir(parents=True)
    src_model, src_meta = models.paths_for(small_model.name, settings=settings)
    for name, target, score in names_scores:
        meta = json.loads(src_meta.read_text())
        metric = "accuracy" if target == "genre" else "roc_auc"
        meta.update(name=name, target=target, metrics={"valid": {metric: score}, "test": {}})
        meta[saving.CHECKSUM_KEY] = saving.content_checksum(meta)
        shutil.copy2(src_model, private.models_dir / f"{name}.keras")
        (private.models_dir / f"{name}.json").write_text(json.dumps(meta))
    return private


def test_predict_file_averages_the_chunks_of_any_length(small_model, clips):
    proba = small_model.predict_file(clips["long"])
    params = small_model.meta["feature_params"]
    chunk_s = small_model.chunk * params["hop_length"] / params["sr"]
    assert proba.attrs["duration"] == pytest.approx(24.0, abs=0.01) and proba.attrs["offset"] == 0.0
    assert proba.attrs["chunks"] == int(24.0 // chunk_s) > 4
    assert list(proba.index) == small_model.classes and proba.sum() == pytest.approx(1.0, abs=1e-5)
    chunks = small_model._signal_chunks(audio.load(clips["long"]))
    expected = evaluation.aggregate_tracks(["x"] * len(chunks), chunks, small_model.classes).iloc[0]
    np.testing.assert_allclose(proba.to_numpy(), expected[small_model.classes].astype(float), atol=1e-6)
    assert proba.attrs["vote"] == expected["vote"]


def test_lossless_formats_agree_and_lossy_ones_are_close(small_model, clips):
    wav = small_model.predict_file(clips["wav"])
    np.testing.assert_allclose(small_model.predict_file(clips["flac"]).to_numpy(), wav.to_numpy(), atol=1e-4)
    for lossy in ("ogg", "mp3"):  # OGG, and MP3 at 44.1 kHz (resampled on load)
        other = small_model.predict_file(clips[lossy])
        assert other.attrs["duration"] == pytest.approx(6.0, abs=0.1)
        np.testing.assert_allclose(other.to_numpy(), wav.to_numpy(), atol=0.1)


def test_a_window_analyses_the_middle_of_the_file(small_model, clips, tmp_path):
    sr = 22050
    windowed = small_model.predict_file(clips["long"], window=7.0)
    assert windowed.attrs["offset"] == pytest.approx(8.5) and windowed.attrs["seconds"] == pytest.approx(7.0)
    assert windowed.attrs["duration"] == pytest.approx(24.0, abs=0.01)
    y = audio.load(clips["long"])
    middle = audio.write_wav(tmp_path / "middle.wav", y[int(8.5 * sr):int(15.5 * sr)])
    np.testing.assert_allclose(windowed.to_numpy(), small_model.predict_file(middle).to_numpy(), atol=1e-4)
    whole = small_model.predict_file(clips["wav"], window=60.0)  # a window longer than the file: all of it
    assert whole.attrs["seconds"] == pytest.approx(6.0, abs=0.01) and whole.attrs["offset"] == 0.0
    with pytest.raises(ValueError, match="positive"):
        small_model.predict_file(clips["wav"], window=0)


def test_unusable_files_raise_audio_errors(small_model, clips):
    for key, reason in (("empty", "empty file"), ("text", "not a WAV file"), ("truncated", "truncated")):
        with pytest.raises(audio.AudioError, match=reason):
            small_model.predict_file(clips[key])


def test_the_predictor_reports_genre_probabilities_and_timing(small_model, clips):
    predictor = Predictor(small_model)
    result = predictor.result(clips["long"], name="long.wav")
    assert result["file"] == "long.wav" and result["model"] == small_model.name
    assert result["target"] == "genre"
    probs = list(result["probabilities"].values())
    assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1.0, abs=1e-3)
    assert result["genre"] == next(iter(result["probabilities"])) and result["vote"] in small_model.classes
    assert result["duration_s"] == pytest.approx(24.0, abs=0.01) and result["window_s"] is None
    rtf = result["seconds_taken"] / result["duration_s"]
    assert result["real_time_factor"] == pytest.approx(rtf, rel=0.01)
    windowed = Predictor(small_model, window=7.0).result(clips["long"])
    assert windowed["window_s"] == 7.0 and windowed["analysed_s"] == pytest.approx(7.0)
    whole = Predictor(small_model, window=7.0).result(clips["long"], window=None)
    assert whole["analysed_s"] == pytest.approx(24.0)
    text = format_result(result, top=3).splitlines()
    assert len(text) == 4 and text[0].startswith(f"long.wav: {result['genre']}  (24.0 s")
    assert text[1].split()[0] == result["genre"] and "#" in text[1]


def test_the_best_model_is_chosen_by_validation_score(small_model, ci_settings, tmp_path):
    scores = [("good", "genre", 0.8), ("better", "genre", 0.9), ("tagger", "tags", 0.99),
              ("unscored", "genre", None)]
    private = _private_models(small_model, ci_settings, tmp_path, scores)
    (private.models_dir / "edited.json").write_text("{}")          # fails its checks: left out
    (private.models_dir / "edited.keras").write_bytes(b"x")
    ranked = ranked_models(settings=private)
    assert list(ranked["model"]) == ["better", "good", "unscored", "tagger"]
    assert list(ranked["metric"]) == ["valid_accuracy"] * 3 + ["valid_roc_auc"]
    assert best_model(settings=private) == "better"
    taggers = _private_models(small_model, ci_settings, tmp_path / "t",
                              [("t1", "tags", 0.7), ("t2", "tags", 0.8)])
    assert best_model(settings=taggers) == "t2"
    with pytest.raises(NoModelError, match="no saved model under .*--model"):
        best_model(settings=ci_settings.with_(work_dir=tmp_path / "nothing"))


@pytest.fixture
def cli_env(small_model, ci_settings, tmp_path, monkeypatch):
    """Environment variables under which the command line finds only the test's models."""
    private = _private_models(small_model, ci_settings, tmp_path,
                              [("weak", "genre", 0.1), (small_model.name, "genre", 0.5)])
    env = {"GENRE_PROFILE": "ci", "GENRE_DATASET": "synth", "GENRE_DATA_DIR": str(ci_settings.data_dir),
           "GENRE_WORK_DIR": str(private.work_dir)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def test_cli_predicts_every_readable_file_and_names_the_others(cli_env, small_model, clips, capsys):
    files = [str(clips["wav"]), str(clips["empty"]), str(clips["mp3"]), str(clips["text"])]
    assert main(["predict", *files, "--top", "3"]) == 1
    out, err = capsys.readouterr()
    assert out.count(f"with {small_model.name})") == 2          # the best model by validation score
    assert len(out.splitlines()) == 2 * 4
    errors = err.strip().splitlines()
    assert len(errors) == 2 and errors[0] == f"error: {clips['empty']}: empty file (0 bytes)"
    assert errors[1].startswith(f"error: {clips['text']}: not a WAV file")
    assert main(["predict", str(clips["wav"]), "--json", "--model", "weak", "--window", "3"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["model"] == "weak" and result["window_s"] == 3.0 and result["chunks"] == 1
    assert main(["predict", str(clips["wav"]), str(clips["truncated"]), "--json"]) == 1
    good, bad = json.loads(capsys.readouterr().out)
    assert good["genre"] in good["probabilities"] and bad["error"].startswith("truncated")


def test_cli_names_a_missing_model_in_one_line(cli_env, clips, capsys):
    assert main(["predict", str(clips["wav"]), "--model", "no_such_model"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no saved model 'no_such_model'" in err


def test_cli_as_a_process(cli_env, small_model, clips):
    done = subprocess.run([sys.executable, "-m", "genre_lib", "predict", str(clips["long"]),
                           str(clips["text"]), "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    good, bad = json.loads(done.stdout)
    assert good["model"] == small_model.name and good["duration_s"] == pytest.approx(24.0, abs=0.01)
    assert "not a WAV file" in bad["error"]
    assert done.stderr.strip().splitlines() == [f"error: {clips['text']}: {bad['error']}"]


def test_models_are_loaded_in_keras_safe_mode(small_model, ci_settings, tmp_path):
    """A model file that would run Python code on load (a Lambda layer) is refused by the
    loader the service uses; ours need no such code."""
    import keras

    keras.saving.load_model(small_model.path, safe_mode=True)  # built-in layers only
    private = ci_settings.with_(work_dir=tmp_path / "work")
    meta = {k: v for k, v in small_model.meta.items()
            if k not in (saving.MODEL_HASH_KEY, saving.CHECKSUM_KEY)}
    inputs = keras.Input(small_model.input_shape)
    x = keras.layers.Normalization(name="normalise", mean=0.0, variance=1.0)(inputs)
    x = keras.layers.Lambda(lambda t: t * 2.0)(x)
    x = keras.layers.Flatten()(x)
    risky = keras.Model(inputs, keras.layers.Dense(len(small_model.classes), activation="softmax")(x))
    saving.save_pair(risky, meta, *models.paths_for("risky", settings=private))
    with pytest.raises(saving.SavedModelError, match="Lambda"):
        Predictor.load("risky", settings=private)


def test_silence_and_a_tiny_clip_get_no_genre_but_the_reason(cli_env, small_model, tmp_path, capsys):
    """30 s of digital silence, near-silence at -70 dBFS and a 0.05 s clip: a model would answer
    some genre for each (it always does); the predictor says why it cannot judge instead, in
    text and JSON, and a real clip is still judged."""
    from genre_lib.serve import cannot_judge

    sr = 22050
    silence = audio.write_wav(tmp_path / "silence.wav", np.zeros(30 * sr, np.float32), sr)
    hiss = np.random.default_rng(0).normal(0, 10 ** (-70 / 20), 10 * sr).astype(np.float32)
    quiet = audio.write_wav(tmp_path / "quiet.wav", hiss, sr)
    tiny = audio.write_wav(tmp_path / "tiny.wav", 0.3 * np.sin(np.arange(int(0.05 * sr)) / 5), sr)
    assert main(["predict", str(silence), str(quiet), str(tiny), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["verdict"] for r in results] == ["silent", "silent", "too short"]
    assert all(r["genre"] is None and r["probabilities"] == {} for r in results)
    assert "digital silence" in results[0]["message"] and "-70 dBFS" in results[1]["message"]
    assert "0.05 s of audio" in results[2]["message"]
    assert main(["predict", str(silence)]) == 0
    assert "no answer, silent" in capsys.readouterr().out
    assert cannot_judge(3.0, -20.0, 3.0) is None and cannot_judge(1.4, -20.0, 3.0).startswith("too short")
    assert cannot_judge(1.6, -20.0, 3.0) is None


def test_a_predictor_with_a_threshold_says_not_sure_below_it(small_model, clips, cli_env, capsys):
    plain = Predictor(small_model).result(clips["wav"])
    top = max(plain["probabilities"].values())
    unsure = Predictor(small_model, abstain_below=top + 0.01).result(clips["wav"])
    assert unsure["verdict"] == "not sure" and unsure["genre"] is None
    assert unsure["probabilities"] == plain["probabilities"]  # still shown, with the reason
    assert f"probability {top:.2f}" in unsure["message"]
    sure = Predictor(small_model, abstain_below=top - 0.01).result(clips["wav"])
    assert sure["verdict"] == "ok" and sure["genre"] == plain["genre"]
    assert main(["predict", str(clips["wav"]), "--abstain-below", "1.0"]) == 0
    assert "no answer, not sure" in capsys.readouterr().out
