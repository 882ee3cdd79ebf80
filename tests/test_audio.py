import numpy as np
import pytest
import soundfile as sf

from genre_lib import audio
from genre_lib.audio import AudioError


def _tone(seconds=1.0, sr=22050, f=440.0):
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def test_load_mono_resample_crop_pad(tmp_path):
    stereo = np.stack([_tone(1.0, 44100), _tone(1.0, 44100, 220)], axis=1)
    p = tmp_path / "st.wav"
    sf.write(p, stereo, 44100)
    y = audio.load(p, sr=22050)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - 22050) <= 2
    padded = audio.load(p, sr=22050, duration=2.0)
    assert len(padded) == 44100 and np.all(padded[-1000:] == 0)
    cropped = audio.load(p, sr=22050, duration=0.5, offset=0.25)
    assert len(cropped) == 11025


def test_au_and_flac_load(tmp_path):
    for fmt, ext in (("AU", ".au"), ("FLAC", ".flac")):
        p = tmp_path / f"x{ext}"
        sf.write(p, _tone(0.5), 22050, format=fmt, subtype="PCM_16")
        y = audio.load(p)
        assert len(y) == 11025
        assert np.max(np.abs(y)) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"),
    (b"this is plainly not audio, just some text " * 20, "not a WAV file"),
    (b"RIFX1234WAVEfmt ", "not a WAV file"),
])
def test_bad_files_raise_named_errors(tmp_path, content, reason):
    p = tmp_path / "bad.wav"
    p.write_bytes(content)
    with pytest.raises(AudioError) as err:
        audio.load(p)
    assert str(p) in str(err.value) and reason in err.value.reason


@pytest.mark.parametrize("name", ["fake.mp3", "fake.au", "fake.flac"])
def test_non_audio_with_audio_extension(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(b"<html>404 not found</html>" * 10)
    with pytest.raises(AudioError, match=name) as err:
        audio.load(p)
    assert "cannot decode" in err.value.reason
    assert "does not exist" not in err.value.reason  # the file exists; say what is wrong


def test_truncated_wav_is_detected(tmp_path):
    p = tmp_path / "cut.wav"
    sf.write(p, _tone(1.0), 22050, subtype="PCM_16")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match="truncated"):
        audio.load(p)


def test_missing_file_and_too_short(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        audio.load(tmp_path / "nope.wav")
    p = tmp_path / "short.wav"
    sf.write(p, _tone(0.5), 22050)
    with pytest.raises(AudioError, match="too short"):
        audio.load(p, min_seconds=2.0)


def test_load_crops_or_pads_to_the_duration_with_the_pipelines_cutter(tmp_path):
    p = tmp_path / "tone.wav"
    sf.write(p, _tone(1.0), 22050)
    y = audio.load(p, sr=22050)
    padded = audio.load(p, sr=22050, duration=1.5)
    assert len(padded) == 33075 and np.array_equal(padded[:len(y)], y) and not padded[len(y):].any()
    assert np.array_equal(audio.load(p, sr=22050, duration=0.5), y[:11025])
    assert len(audio.load(p, sr=22050, duration=1.5, pad=False)) == len(y)


def test_write_wav_roundtrip(tmp_path):
    y = _tone(0.3)
    p = audio.write_wav(tmp_path / "sub" / "a.wav", y)
    assert not list(tmp_path.glob("sub/*.part"))
    back = audio.load(p, sr=None)
    assert np.allclose(back, y, atol=1e-3)


def test_unreadable_file_is_a_transient_audio_error(tmp_path, monkeypatch):
    """Tests run as root, where chmod 000 does not stop reads: make ``open`` refuse instead."""
    from fixtures_real import deny_reading

    p = tmp_path / "locked.wav"
    sf.write(p, _tone(1.0), 22050)
    deny_reading(monkeypatch, p)
    with pytest.raises(AudioError) as err:
        audio.load(p)
    assert err.value.transient and "Permission denied" in err.value.reason
    assert str(p) in str(err.value)


def test_symlink_loop_is_a_clear_audio_error(tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(AudioError) as err:
        audio.load(a)
    assert str(a) in str(err.value) and err.value.transient


def test_mp3_named_wav_is_decoded_and_named(tmp_path):
    p = tmp_path / "really_an.mp3"
    sf.write(p, _tone(1.0), 22050, format="MP3")
    disguised = tmp_path / "song.wav"
    disguised.write_bytes(p.read_bytes())
    with pytest.warns(UserWarning, match="MP3 stream in a file named .wav"):
        y = audio.load(disguised, sr=22050)
    assert abs(len(y) - 22050) < 3000 and np.abs(y).max() > 0.1


def test_default_rate_is_the_settings_rate():
    from genre_lib.config import Settings

    assert audio.DEFAULT_SR == Settings().sample_rate
