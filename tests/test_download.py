"""Downloads against a local HTTP server on 127.0.0.1: success, checksum mismatch, server gone."""
from __future__ import annotations

import dataclasses
import functools
import http.server
import shutil
import socket
import threading
from pathlib import Path

import fixtures_real as fr
import pytest

from genre_lib.config import get_settings
from genre_lib.datasets import DatasetError, catalog, download, fma, gtzan, mtat, status
from genre_lib.datasets.download import Remote


class _Quiet(http.server.SimpleHTTPRequestHandler):
    hits: list = []

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        _Quiet.hits.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """Serve ``tmp_path/'www'`` on a free port of 127.0.0.1; yields (base url, folder)."""
    www = tmp_path / "www"
    www.mkdir()
    _Quiet.hits = []
    handler = functools.partial(_Quiet, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", www
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def gtzan_archive(tmp_path_factory):
    """A GTZAN-layout ``genres.tar.gz`` (top folder ``genres``), like the original release."""
    root = tmp_path_factory.mktemp("gtzan_src")
    fr.build_gtzan_original(root, per_genre=1, seconds=3.2)
    return fr.make_tar_gz(root / "genres", root / "genres.tar.gz", "genres")


def settings_in(tmp_path):
    return get_settings(dataset="gtzan", profile="ci", data_dir=tmp_path / "data",
                        work_dir=tmp_path / "work", jobs=2)


def replaced_source(base, remotes, **changes):
    """A built-in download declaration with its files replaced (it still finds its copy)."""
    return dataclasses.replace(base, title="test", remotes=tuple(remotes), size_hint="1 MB",
                               homepage="http://example.invalid", **changes)


def gtzan_source(url: str, known_hash: str | None, size=None, extra=(), **changes):
    return replaced_source(catalog.GTZAN,
                           (Remote("genres.tar.gz", (url,), known_hash=known_hash, size=size), *extra),
                           **changes)


def leftovers(data: Path) -> list[str]:
    """Temporary folders or files a download must never leave behind."""
    if not data.exists():
        return []
    found = [p.name for p in data.iterdir() if ".partial" in p.name or ".old" in p.name]
    dl = data / "downloads"
    if dl.exists():
        found += [p.name for p in dl.iterdir() if p.name.startswith("tmp")]
    return found


def test_sources_are_the_documented_names():
    assert set(download.SOURCES) == {"gtzan", "fma_metadata", "fma_small", "fma_medium", "mtat"}
    for src in download.SOURCES.values():
        for r in src.remotes:
            assert r.urls and all(u.startswith(("https://", "http://")) for u in r.urls)
            assert r.known_hash or r.size or r.check, f"{r.fname} is not verified at all"
            assert r.provenance
    assert download.SOURCES["fma_small"].remotes[0].known_hash.startswith("sha1:")


def test_download_verifies_and_unpacks(server, gtzan_archive, tmp_path, monkeypatch, capsys):
    url, www = server
    shutil.copy(gtzan_archive, www / "genres.tar.gz")
    settings = settings_in(tmp_path)
    monkeypatch.setitem(download.SOURCES, "gtzan",
                        gtzan_source(url + "genres.tar.gz", fr.sha256(gtzan_archive)))
    target = download.download("gtzan", progress=False, retries=0, settings=settings)
    assert target == settings.data_dir / "gtzan"
    first = fr.gtzan_fixture_ids(1)["ids"][0]                  # blues.00029, a listed clip
    assert (target / "genres" / "blues" / f"{first}.au").exists()
    assert gtzan.locate(settings=settings)["n_files"] == 10
    assert (settings.data_dir / "downloads" / "genres.tar.gz").exists()   # kept for re-runs
    assert leftovers(settings.data_dir) == []
    # a second run finds it and touches neither the network nor the files
    hits = len(_Quiet.hits)
    assert download.download("gtzan", progress=False, retries=0, settings=settings) == target / "genres"
    assert len(_Quiet.hits) == hits
    assert "already present" in capsys.readouterr().out


def test_checksum_mismatch_leaves_nothing(server, gtzan_archive, tmp_path, monkeypatch):
    url, www = server
    shutil.copy(gtzan_archive, www / "genres.tar.gz")
    settings = settings_in(tmp_path)
    wrong = "sha256:" + "0" * 64
    monkeypatch.setitem(download.SOURCES, "gtzan", gtzan_source(url + "genres.tar.gz", wrong))
    with pytest.raises(DatasetError, match="did not match its published checksum") as err:
        download.download("gtzan", progress=False, retries=0, settings=settings)
    assert "nothing was unpacked" in str(err.value)
    assert not (settings.data_dir / "gtzan").exists()
    assert not (settings.data_dir / "downloads" / "genres.tar.gz").exists()
    assert leftovers(settings.data_dir) == []


def test_server_gone_is_a_clear_error(gtzan_archive, tmp_path, monkeypatch):
    with socket.socket() as s:          # a port on 127.0.0.1 that nothing listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    settings = settings_in(tmp_path)
    monkeypatch.setitem(download.SOURCES, "gtzan",
                        gtzan_source(f"http://127.0.0.1:{dead_port}/genres.tar.gz",
                                     fr.sha256(gtzan_archive)))
    with pytest.raises(DatasetError, match="could not reach the server") as err:
        download.download("gtzan", progress=False, retries=1, timeout=5, settings=settings)
    text = str(err.value)
    assert "by hand" in text and str(settings.data_dir / "downloads" / "genres.tar.gz") in text
    assert not (settings.data_dir / "gtzan").exists() and leftovers(settings.data_dir) == []


def test_http_error_tries_the_next_mirror(server, gtzan_archive, tmp_path, monkeypatch):
    url, www = server
    shutil.copy(gtzan_archive, www / "genres.tar.gz")
    settings = settings_in(tmp_path)
    src = replaced_source(catalog.GTZAN,
                      (Remote("genres.tar.gz", (url + "gone/genres.tar.gz", url + "genres.tar.gz"),
                              known_hash=fr.sha256(gtzan_archive)),))
    monkeypatch.setitem(download.SOURCES, "gtzan", src)
    download.download("gtzan", progress=False, retries=0, settings=settings)
    assert _Quiet.hits == ["/gone/genres.tar.gz", "/genres.tar.gz"]
    assert gtzan.locate(settings=settings)["n_files"] == 10


def test_manual_archive_is_used_offline(gtzan_archive, tmp_path, monkeypatch, capsys):
    settings = settings_in(tmp_path)
    (settings.data_dir / "downloads").mkdir(parents=True)
    shutil.copy(gtzan_archive, settings.data_dir / "downloads" / "genres.tar.gz")
    monkeypatch.setitem(download.SOURCES, "gtzan",
                        gtzan_source("http://127.0.0.1:9/genres.tar.gz", fr.sha256(gtzan_archive)))
    download.download("gtzan", progress=False, retries=0, settings=settings)
    assert "already downloaded, verified" in capsys.readouterr().out
    assert gtzan.locate(settings=settings)["n_files"] == 10


def test_corrupt_manual_archive_is_refused(tmp_path, monkeypatch):
    settings = settings_in(tmp_path)
    (settings.data_dir / "downloads").mkdir(parents=True)
    (settings.data_dir / "downloads" / "genres.tar.gz").write_bytes(b"half a download")
    monkeypatch.setitem(download.SOURCES, "gtzan",
                        gtzan_source("http://127.0.0.1:9/genres.tar.gz", "sha256:" + "1" * 64))
    with pytest.raises(DatasetError, match="--force"):
        download.download("gtzan", progress=False, retries=0, settings=settings)
    assert (settings.data_dir / "downloads" / "genres.tar.gz").exists()   # the user's file stays


def test_unreadable_archive_leaves_no_half_extraction(server, tmp_path, monkeypatch):
    url, www = server
    bad = www / "genres.tar.gz"
    bad.write_bytes(b"this is not an archive" * 100)
    settings = settings_in(tmp_path)
    monkeypatch.setitem(download.SOURCES, "gtzan", gtzan_source(url + "genres.tar.gz", fr.sha256(bad)))
    with pytest.raises(DatasetError, match="not a readable zip or tar"):
        download.download("gtzan", progress=False, retries=0, settings=settings)
    assert not (settings.data_dir / "gtzan").exists() and leftovers(settings.data_dir) == []


def test_size_only_verification_warns(server, gtzan_archive, tmp_path, monkeypatch, capsys):
    url, www = server
    shutil.copy(gtzan_archive, www / "genres.tar.gz")
    settings = settings_in(tmp_path)
    size = gtzan_archive.stat().st_size
    monkeypatch.setitem(download.SOURCES, "gtzan",
                        gtzan_source(url + "genres.tar.gz", None, size=size + 1))
    with pytest.raises(DatasetError, match="size mismatch"):
        download.download("gtzan", progress=False, retries=0, settings=settings)
    assert not (settings.data_dir / "downloads" / "genres.tar.gz").exists()
    monkeypatch.setitem(download.SOURCES, "gtzan",
                        gtzan_source(url + "genres.tar.gz", None, size=size))
    download.download("gtzan", progress=False, retries=0, settings=settings)
    assert "no checksum is published" in capsys.readouterr().err


def test_gtzan_download_is_the_archive_only(server, gtzan_archive, tmp_path, monkeypatch, capsys):
    """The fault-filtered split lists ship with genre_lib: the download fetches the audio
    archive alone, and the copy it unpacks loads with the filtered split straight away."""
    assert [r.fname for r in catalog.GTZAN.remotes] == ["genres.tar.gz"]
    assert catalog.GTZAN.complete is None and "ship with genre_lib" in catalog.GTZAN.notes
    url, www = server
    shutil.copy(gtzan_archive, www / "genres.tar.gz")
    settings = settings_in(tmp_path)
    monkeypatch.setitem(download.SOURCES, "gtzan",
                        gtzan_source(url + "genres.tar.gz", fr.sha256(gtzan_archive)))
    download.download("gtzan", progress=False, retries=0, settings=settings)
    download.download("gtzan", progress=False, retries=0, settings=settings)      # present: nothing added
    assert _Quiet.hits == ["/genres.tar.gz"]
    assert not list(settings.data_dir.rglob("*_filtered.txt"))
    table = gtzan.load_table(progress=False, verbose=False, settings=settings)
    assert "shipped with genre_lib" in table.attrs["split_source"]
    lists = fr.gtzan_shipped_split()
    assert all(lists[t] == s for t, s in zip(table["track_id"], table["split"]))
    assert "lists shipped with genre_lib" in status.status_report(settings=settings)


def test_optional_file_remotes(server, gtzan_archive, tmp_path, monkeypatch, capsys):
    """Small ``file`` remotes beside an archive: an optional one that fails is reported and the
    download goes on; ``complete`` adds missing ones beside a copy that is already present."""
    url, www = server
    shutil.copy(gtzan_archive, www / "genres.tar.gz")
    (www / "notes.txt").write_text("blues.00000\n")
    (www / "extra.txt").write_text("not what the check wants\n")
    good = lambda p: None if "blues" in p.read_text() else "no clip named"   # noqa: E731
    extra = (Remote("notes.txt", (url + "notes.txt",), role="file", check=good, optional=True,
                    provenance="test"),
             Remote("extra.txt", (url + "extra.txt",), role="file", check=good, optional=True,
                    provenance="test"))
    settings = settings_in(tmp_path)
    monkeypatch.setitem(download.SOURCES, "gtzan",
                        gtzan_source(url + "genres.tar.gz", fr.sha256(gtzan_archive), extra=extra))
    download.download("gtzan", progress=False, retries=0, settings=settings)
    err = capsys.readouterr().err
    assert "extra.txt" in err and "no clip named" in err              # failed check: reported
    assert (settings.data_dir / "gtzan" / "notes.txt").exists()
    assert not (settings.data_dir / "gtzan" / "extra.txt").exists()
    # a present copy lacking its file remotes gets them added by `complete`
    (settings.data_dir / "gtzan" / "notes.txt").unlink()
    (settings.data_dir / "downloads" / "notes.txt").unlink()
    done = lambda settings: (settings.data_dir / "gtzan" / "notes.txt").exists()   # noqa: E731
    monkeypatch.setitem(download.SOURCES, "gtzan", gtzan_source(
        url + "genres.tar.gz", fr.sha256(gtzan_archive), extra=extra[:1], complete=done))
    download.download("gtzan", progress=False, retries=0, settings=settings)
    assert (settings.data_dir / "gtzan" / "notes.txt").exists()
    assert "notes.txt added in" in capsys.readouterr().out


def test_zip_with_top_folder_is_unpacked_flat(server, tmp_path, monkeypatch):
    url, www = server
    meta = tmp_path / "src"
    meta.mkdir()
    fr.write_genres_csv(meta / "genres.csv")
    fr.write_tracks_csv(meta / "tracks.csv", {})
    fr.make_zip(meta, www / "fma_metadata.zip", top="fma_metadata")
    settings = settings_in(tmp_path)
    src = replaced_source(catalog.FMA_METADATA,
                      (Remote("fma_metadata.zip", (url + "fma_metadata.zip",),
                              known_hash=fr.sha256(www / "fma_metadata.zip")),))
    monkeypatch.setitem(download.SOURCES, "fma_metadata", src)
    download.download("fma_metadata", progress=False, retries=0, settings=settings)
    assert (settings.data_dir / "fma_metadata" / "tracks.csv").exists()
    assert fma.find_metadata(settings=settings) == settings.data_dir / "fma_metadata"


def test_multipart_zip_is_joined(server, tmp_path, monkeypatch):
    """MagnaTagATune ships one zip cut into three parts, plus the annotations file."""
    url, www = server
    src_root = tmp_path / "mtat_src"
    fr.build_mtat(src_root, per_dir=1, seconds=3.2)
    whole = fr.make_zip(src_root / "mp3", tmp_path / "mp3.zip")
    parts = fr.split_file(whole, 3)
    for p in parts:
        shutil.copy(p, www / p.name)
    shutil.copy(src_root / "annotations_final.csv", www / "annotations_final.csv")
    remotes = tuple(Remote(p.name, (url + p.name,), known_hash=fr.sha256(p), role="part")
                    for p in parts)
    remotes += (Remote("annotations_final.csv", (url + "annotations_final.csv",),
                       known_hash=fr.sha256(src_root / "annotations_final.csv"), role="file"),)
    monkeypatch.setitem(download.SOURCES, "mtat", replaced_source(catalog.MTAT, remotes))
    settings = settings_in(tmp_path)
    download.download("mtat", progress=False, retries=0, settings=settings)
    info = mtat.locate(settings=settings)
    assert info["mp3_root"] == settings.data_dir / "mtat" / "mp3"
    assert info["n_files"] == 16 and leftovers(settings.data_dir) == []


def test_status_report(tmp_path, monkeypatch, capsys):
    settings = settings_in(tmp_path)
    text = status.status_report(settings=settings)
    assert text == download.status_report(settings=settings)      # the old import path still works
    for name in download.SOURCES:
        assert f"[missing] {name}" in text
        assert f"python -m genre_lib data download {name}" in text
    assert str(settings.data_dir / "downloads") in text
    fr.build_gtzan_original(settings.data_dir / "gtzan", per_genre=1, seconds=3.2)
    fr.build_mtat(settings.data_dir / "mtat", per_dir=1, seconds=3.2)
    text = status.status_report(settings=settings)
    assert "[present] gtzan" in text and "10 clips" in text
    assert "[present] mtat" in text and "[missing] fma_small" in text
    # the command line prints the same report
    from genre_lib.__main__ import main

    monkeypatch.setenv("GENRE_DATA_DIR", str(settings.data_dir))
    assert main(["data", "status"]) == 0
    assert "[present] gtzan" in capsys.readouterr().out


def test_archive_member_outside_the_target_is_refused(server, tmp_path, monkeypatch):
    import io
    import tarfile

    url, www = server
    evil = www / "genres.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        member = tarfile.TarInfo("../../escaped.txt")
        member.size = 3
        tar.addfile(member, io.BytesIO(b"bad"))
    settings = settings_in(tmp_path)
    monkeypatch.setitem(download.SOURCES, "gtzan", gtzan_source(url + "genres.tar.gz", fr.sha256(evil)))
    with pytest.raises(DatasetError, match="outside the destination"):
        download.download("gtzan", progress=False, retries=0, settings=settings)
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not (settings.data_dir / "gtzan").exists() and leftovers(settings.data_dir) == []
