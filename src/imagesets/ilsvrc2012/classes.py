"""The 1000 ILSVRC2012 classes: from the devkit's ``meta.mat`` (file or archive) or packaged."""

from __future__ import annotations

import csv
import io
import re
import tarfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import InvalidDataError

NUM_CLASSES = 1000
WNID_PATTERN = re.compile(r"^n\d{8}$")
META_FIELDS = ("ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children",
               "wordnet_height", "num_train_images")


@dataclass(frozen=True)
class ClassTable:
    """The classes sorted by wnid, with the devkit id, words and gloss of each."""

    wnids: tuple[str, ...]
    ilsvrc2012_ids: tuple[int, ...]
    words: tuple[str, ...]
    glosses: tuple[str, ...]
    source: str

    def index_of_wnid(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.wnids)}

    def index_of_devkit_id(self) -> np.ndarray:
        """Array mapping devkit ``ILSVRC2012_ID`` (1..1000) → class index (−1 where unused)."""
        lookup = np.full(max(self.ilsvrc2012_ids) + 1, -1, dtype=np.int64)
        lookup[list(self.ilsvrc2012_ids)] = np.arange(len(self.wnids))
        return lookup


def _from_rows(rows: list[tuple[int, str, str, str]], source: str) -> ClassTable:
    rows = sorted(rows, key=lambda r: r[1])
    wnids = [r[1] for r in rows]
    ids = [r[0] for r in rows]
    if len(rows) != NUM_CLASSES or len(set(wnids)) != NUM_CLASSES:
        raise InvalidDataError(f"{source} lists {len(set(wnids))} distinct classes with "
                               f"ILSVRC2012_ID 1..1000; expected {NUM_CLASSES}. Use the meta.mat "
                               "of the ILSVRC2012 devkit (ILSVRC2012_devkit_t12.tar.gz).")
    if sorted(ids) != list(range(1, NUM_CLASSES + 1)):
        raise InvalidDataError(f"{source}: the class ids are not exactly 1..1000")
    return ClassTable(tuple(wnids), tuple(ids), tuple(r[2] for r in rows),
                      tuple(r[3] for r in rows), source)


def packaged_classes() -> ClassTable:
    """The class table shipped with imagesets (see DATA_PROVENANCE.md)."""
    text = resources.files(__package__).joinpath("ilsvrc2012_synsets.tsv").read_text("utf-8")
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    rows = [(int(r["ilsvrc2012_id"]), r["wnid"], r["words"], r["gloss"]) for r in reader]
    return _from_rows(rows, "packaged class list")


def _scalar(value: object) -> object:
    array = np.asarray(value)
    while array.dtype == object and array.size == 1:
        array = np.asarray(array.ravel()[0])
    return array.ravel()[0] if array.size else ""


def classes_from_meta_mat(source: str | Path | io.BytesIO, name: str) -> ClassTable:
    """Read the leaf classes (``ILSVRC2012_ID`` 1..1000) of a devkit ``meta.mat``."""
    from scipy.io import loadmat

    try:
        content = loadmat(source, squeeze_me=True)
    except Exception as exc:  # scipy raises many types for a damaged file
        raise InvalidDataError(
            f"cannot read the ILSVRC2012 devkit meta.mat at {name}: {exc}. Replace it with the "
            "data/meta.mat of ILSVRC2012_devkit_t12.tar.gz, or delete it to use the class "
            "list shipped with imagesets.") from exc
    if "synsets" not in content:
        held = ", ".join(k for k in content if not k.startswith("__")) or "nothing"
        raise InvalidDataError(
            f"{name} is a MATLAB file without the 'synsets' variable the ILSVRC2012 devkit's "
            f"meta.mat has (it holds: {held}); replace it with data/meta.mat of "
            "ILSVRC2012_devkit_t12.tar.gz, or delete it to use the class list shipped with "
            "imagesets.")
    try:
        synsets = content["synsets"]
        names = synsets.dtype.names or ()
        missing = [f for f in ("ILSVRC2012_ID", "WNID", "words", "gloss") if f not in names]
        if missing:
            raise KeyError(f"fields {missing} missing from 'synsets'")
        rows = []
        for entry in np.atleast_1d(synsets):
            devkit_id = int(_scalar(entry["ILSVRC2012_ID"]))
            if 1 <= devkit_id <= NUM_CLASSES:
                rows.append((devkit_id, str(_scalar(entry["WNID"])), str(_scalar(entry["words"])),
                             str(_scalar(entry["gloss"]))))
    except Exception as exc:  # scipy raises many types for a damaged file
        raise InvalidDataError(
            f"cannot read the ILSVRC2012 devkit meta.mat at {name}: {exc}. Replace it with the "
            "data/meta.mat of ILSVRC2012_devkit_t12.tar.gz, or delete it to use the class "
            "list shipped with imagesets.") from exc
    return _from_rows(rows, f"meta.mat at {name}")


def read_devkit_archive(path: Path) -> tuple[ClassTable, bytes | None]:
    """Classes and ground-truth text from a devkit ``.tar.gz``, read without extracting it."""
    try:
        with tarfile.open(path, "r:*") as archive:
            members = {Path(m.name).name: m for m in archive.getmembers() if m.isfile()}
            if "meta.mat" not in members:
                raise InvalidDataError(f"devkit archive {path} has no data/meta.mat; is it the "
                                       "ILSVRC2012 classification devkit?")
            meta = io.BytesIO(archive.extractfile(members["meta.mat"]).read())
            truth_member = members.get("ILSVRC2012_validation_ground_truth.txt")
            truth = archive.extractfile(truth_member).read() if truth_member else None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InvalidDataError(f"cannot read the devkit archive {path}: {exc}. Download it "
                               "again (ILSVRC2012_devkit_t12.tar.gz).") from exc
    return classes_from_meta_mat(meta, f"{path}:data/meta.mat"), truth


def read_kaggle_synset_mapping(path: Path) -> list[str]:
    """Wnids listed in Kaggle's ``LOC_synset_mapping.txt`` (``n01440764 tench, Tinca tinca``)."""
    wnids = [line.split(maxsplit=1)[0] for line in path.read_text("utf-8-sig").splitlines()
             if line.strip()]
    if len(wnids) != NUM_CLASSES or not all(WNID_PATTERN.match(w) for w in wnids):
        raise InvalidDataError(f"{path} should list 1000 lines 'n######## words'; found "
                               f"{len(wnids)} lines")
    return wnids
