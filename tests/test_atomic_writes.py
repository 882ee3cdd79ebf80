"""Every file the package writes outside the feature store goes through the one atomic write,
:func:`genre_lib.store.files.atomic_write`: a WAV, a results row, the audio-check cache, the
synthetic dataset's table and manifest, and a saved model with its sidecar. A write that fails
half-way leaves the previous file as it was and no temporary file behind."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genre_lib.store import files


@pytest.fixture
def writes(monkeypatch):
    """Record the paths written through atomic_write, in order, wherever it was imported."""
    from genre_lib import audio, evaluation
    from genre_lib.datasets import local, synth
    from genre_lib.models import saving

    seen, fail_on = [], set()

    def spy(path, write):
        seen.append(Path(path).name)
        if Path(path).name in fail_on:
            def broken(fh):
                write(fh)
                raise OSError("the disk went away half-way")
            return files.atomic_write(path, broken)
        return files.atomic_write(path, write)

    for module in (audio, evaluation, local, synth, saving):
        monkeypatch.setattr(module, "atomic_write", spy)
    return seen, fail_on


def _only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_wav(writes, tmp_path):
    from genre_lib import audio

    seen, fail_on = writes
    path = audio.write_wav(tmp_path / "a.wav", np.zeros(100, np.float32), 8000)
    before = path.read_bytes()
    fail_on.add("a.wav")
    with pytest.raises(OSError, match="half-way"):
        audio.write_wav(path, np.ones(200, np.float32) * 0.5, 8000)
    assert seen == ["a.wav", "a.wav"] and path.read_bytes() == before and _only(tmp_path) == ["a.wav"]


def test_results_row(writes, tmp_path):
    from genre_lib import evaluation
    from genre_lib.config import get_settings

    seen, fail_on = writes
    s = get_settings(work_dir=tmp_path, profile="ci", dataset="synth")
    row = evaluation.result_row("m", "test", {"accuracy": 0.5}, settings=s)
    path = evaluation.save_result(row, settings=s)
    assert json.loads(path.read_text())["accuracy"] == 0.5
    fail_on.add(path.name)
    with pytest.raises(OSError):
        evaluation.save_result(evaluation.result_row("m", "test", {"accuracy": 0.9}, settings=s), settings=s)
    assert seen == [path.name] * 2 and json.loads(path.read_text())["accuracy"] == 0.5
    assert _only(path.parent) == [path.name]
    assert evaluation.load_results(settings=s)["accuracy"].tolist() == [0.5]


def test_audio_check_cache(writes, tmp_path):
    import soundfile as sf

    from genre_lib.datasets import local

    seen, fail_on = writes
    wav = tmp_path / "x.wav"
    sf.write(wav, np.zeros(8000, np.float32), 8000)
    cache = tmp_path / "cache" / "checks.csv"
    first = local.validate_audio([wav], cache, jobs=1, progress=False)
    assert seen == ["checks.csv"] and not first["error"].fillna("").any()
    before = cache.read_bytes()
    wav.write_bytes(b"not audio at all")                       # changed: probed again, rewritten
    fail_on.add("checks.csv")
    with pytest.raises(OSError):
        local.validate_audio([wav], cache, jobs=1, progress=False)
    assert cache.read_bytes() == before and _only(cache.parent) == ["checks.csv"]


def test_synth_table_and_manifest(writes, tmp_path, monkeypatch):
    """The table first, the manifest (which marks the copy complete) last."""
    from genre_lib.config import get_settings
    from genre_lib.datasets import synth

    seen, fail_on = writes

    def fake_clip(root, gi, c, seconds, seed):
        return {"track_id": f"g{gi}c{c}", "path": f"audio/{gi}/{c}.wav", "genre": synth.GENRE_NAMES[gi],
                "tags": "[]"}

    monkeypatch.setattr(synth, "_write_one", fake_clip)
    s = get_settings(dataset="synth", profile="ci", data_dir=tmp_path / "data", jobs=1)
    root = synth.build(progress=False, settings=s)
    assert seen == ["metadata.csv", "manifest.json"]
    table = pd.read_csv(root / "metadata.csv")
    assert (root / "metadata.csv").read_bytes() == table.to_csv(index=False).encode()
    assert json.loads((root / "manifest.json").read_text())["seed"] == s.seed
    assert _only(root) == ["manifest.json", "metadata.csv"]


def test_model_and_sidecar_pair(writes, tmp_path):
    """Model first, then the sidecar; a sidecar that fails to land leaves a pair whose hashes
    disagree, which loading refuses."""
    import keras

    from genre_lib.models import saving

    seen, fail_on = writes

    def model(units):
        inp = keras.Input((3,))
        return keras.Model(inp, keras.layers.Dense(units, name="out")(inp))

    model_path, meta_path = tmp_path / "m.keras", tmp_path / "m.json"
    meta = saving.save_pair(model(2), {"version": 1, "classes": ["a", "b"]}, model_path, meta_path)
    assert seen == ["m.keras", "m.json"] and _only(tmp_path) == ["m.json", "m.keras"]
    assert meta[saving.MODEL_HASH_KEY] == saving.file_sha256(model_path)
    loaded, again = saving.load_pair(model_path, meta_path, 1)
    assert again == meta and loaded.get_layer("out").units == 2
    fail_on.add("m.json")
    with pytest.raises(OSError):
        saving.save_pair(model(4), {"version": 1, "classes": list("abcd")}, model_path, meta_path)
    assert seen[2:] == ["m.keras", "m.json"] and _only(tmp_path) == ["m.json", "m.keras"]
    assert json.loads(meta_path.read_text()) == meta                  # the old sidecar ...
    with pytest.raises(saving.SavedModelError, match="do not belong together"):
        saving.load_pair(model_path, meta_path, 1)                      # ... refuses the new model
