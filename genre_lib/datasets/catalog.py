"""The built-in datasets, each declared once: synth, gtzan, fma_small, fma_medium, mtat.

Loaders and the functions ``data status`` uses are named as ``"module:function"`` text, so
this catalogue imports no loader; :mod:`genre_lib.datasets.registry` registers every entry
of :data:`BUILTIN`. To add a dataset, see ``docs/extending.md``.

GTZAN's download is its audio archive only: the fault-filtered split lists it needs are
package data (``genre_lib/datasets/gtzan_filtered/``), so they are never fetched.

Notebook: none; ``docs/datasets.md`` lists the datasets and their downloads.
"""
from __future__ import annotations

from .specs import DatasetSpec, Remote, Source

_PKG = "genre_lib.datasets"

_MTAT = ("https://mirg.city.ac.uk/datasets/magnatagatune/", "http://mi.soi.city.ac.uk/datasets/magnatagatune/")
_FMA = "https://os.unil.cloud.switch.ch/fma/"

GTZAN = Source(
    "gtzan", "GTZAN genre collection (Tzanetakis and Cook 2002), 1000 clips of 30 s",
    "gtzan",
    (
        Remote("genres.tar.gz",
               ("http://opihi.cs.uvic.ca/sound/genres.tar.gz",
                "https://huggingface.co/datasets/marsyas/gtzan/resolve/main/data/genres.tar.gz"),
               known_hash="sha256:24347e0223d2ba798e0a558c4c172d9d4a19c00bb7963fe055d183dadb4ef2c6",
               provenance="URL: the Marsyas/UVic host named by torchaudio and mirdata; mirror: "
                          "the Hugging Face copy marsyas/gtzan. SHA-256: torchaudio "
                          "(pytorch/audio, torchaudio/datasets/gtzan.py); torchaudio's older "
                          "releases and mirdata give MD5 5b3d6dddb579ab49814ab86dba69e7c7 for "
                          "the same URL."),
    ),
    "1.2 GB", "http://marsyas.info/downloads/datasets.html",
    notes="The Kaggle copy (Data/genres_original/...) also works: unpack it anywhere under "
          "data/. Its jazz.00054.wav is not a valid WAV file and is skipped. The fault-filtered "
          "split lists ship with genre_lib, so nothing else is fetched.",
    locate=f"{_PKG}.gtzan:find_root", describe=f"{_PKG}.gtzan:describe_copy")

FMA_METADATA = Source(
    "fma_metadata", "FMA metadata: tracks.csv, genres.csv, features.csv, echonest.csv",
    "fma_metadata",
    (Remote("fma_metadata.zip", (_FMA + "fma_metadata.zip",),
            known_hash="sha1:f0df49ffe5f2a6008d7dc83c6915b31835dfe733",
            provenance="URL and SHA-1: README of mdeff/fma (the dataset's repository)"),),
    "342 MiB", "https://github.com/mdeff/fma", strip_top="fma_metadata",
    locate=f"{_PKG}.fma:find_metadata", describe=f"{_PKG}.fma:describe_metadata")

FMA_SMALL = Source(
    "fma_small", "FMA small: 8,000 clips of 30 s, 8 balanced genres", "fma_small",
    (Remote("fma_small.zip", (_FMA + "fma_small.zip",),
            known_hash="sha1:ade154f733639d52e35e32f5593efe5be76c6d70",
            provenance="URL and SHA-1: README of mdeff/fma"),),
    "7.2 GiB", "https://github.com/mdeff/fma", strip_top="fma_small",
    notes="Needs fma_metadata too.",
    locate=f"{_PKG}.fma:find_small_audio", describe=f"{_PKG}.fma:describe_audio")

FMA_MEDIUM = Source(
    "fma_medium", "FMA medium: 25,000 clips of 30 s, 16 unbalanced genres", "fma_medium",
    (Remote("fma_medium.zip", (_FMA + "fma_medium.zip",),
            known_hash="sha1:c67b69ea232021025fca9231fc1c7c1a063ab50b",
            provenance="URL and SHA-1: README of mdeff/fma"),),
    "22 GiB", "https://github.com/mdeff/fma", strip_top="fma_medium",
    notes="Needs fma_metadata too.",
    locate=f"{_PKG}.fma:find_medium_audio", describe=f"{_PKG}.fma:describe_audio")

MTAT = Source(
    "mtat", "MagnaTagATune (Law et al. 2009): 25,863 clips of 29 s, 188 tags", "mtat",
    (
        Remote("mp3.zip.001", tuple(u + "mp3.zip.001" for u in _MTAT),
               known_hash="md5:179c91c8c2a6e9b3da3d4e69d306fd3b", role="part",
               provenance="URLs: the MIRG (City, University of London) host, old and new "
                          "names. MD5s of the three parts: keunwoochoi/kapre "
                          "(kapre/datasets.py), also used by other public loaders"),
        Remote("mp3.zip.002", tuple(u + "mp3.zip.002" for u in _MTAT),
               known_hash="md5:acf8265ff2e35c6ff22210e46457a824", role="part",
               provenance="as mp3.zip.001"),
        Remote("mp3.zip.003", tuple(u + "mp3.zip.003" for u in _MTAT),
               known_hash="md5:582dc649cabb8cd991f09e14b99349a5", role="part",
               provenance="as mp3.zip.001"),
        Remote("annotations_final.csv", tuple(u + "annotations_final.csv" for u in _MTAT),
               known_hash="md5:f04fa01752a8cc64f6e1ca142a0fef1d", role="file",
               provenance="MD5: keunwoochoi/kapre (kapre/datasets.py)"),
        Remote("clip_info_final.csv", tuple(u + "clip_info_final.csv" for u in _MTAT),
               known_hash="md5:03ef3cb8ddcfe53fdcdb8e0cda005be2", role="file", optional=True,
               provenance="MD5: keunwoochoi/kapre (kapre/datasets.py)"),
    ),
    "3.0 GB", "https://mirg.city.ac.uk/codeapps/the-magnatagatune-dataset",
    extract_into="mp3",
    notes="The three parts are one zip archive cut in pieces; they are joined while unpacking.",
    locate=f"{_PKG}.mtat:find_folder", describe=f"{_PKG}.mtat:describe_copy")


def _synth_seconds(settings) -> float:
    return settings.profile.synth_seconds


BUILTIN: tuple[DatasetSpec, ...] = (
    DatasetSpec("synth", f"{_PKG}.synth:load_table",
                title="embedded synthetic dataset: ten generated genres, with tags",
                clip_seconds=_synth_seconds, crop_to_profile=False, has_genres=True,
                has_tags=True, status=f"{_PKG}.synth:status_line", random_split_note=""),
    DatasetSpec("gtzan", f"{_PKG}.gtzan:load_table", title=GTZAN.title, sources=(GTZAN,),
                clip_seconds=30.0),
    DatasetSpec("fma_small", f"{_PKG}.fma:load_table", title=FMA_SMALL.title,
                sources=(FMA_METADATA, FMA_SMALL), clip_seconds=30.0, has_tags=True,
                options={"subset": "small"}),
    DatasetSpec("fma_medium", f"{_PKG}.fma:load_table", title=FMA_MEDIUM.title,
                sources=(FMA_METADATA, FMA_MEDIUM), clip_seconds=30.0, has_tags=True,
                options={"subset": "medium"}),
    DatasetSpec("mtat", f"{_PKG}.mtat:load_table", title=MTAT.title, sources=(MTAT,),
                clip_seconds=29.1, has_genres=False, has_tags=True),
)

__all__ = ["BUILTIN", "GTZAN", "FMA_METADATA", "FMA_SMALL", "FMA_MEDIUM", "MTAT"]
