"""The dataset contract (imagesets.contract), checked the same way on every catalog entry.

Each dataset is prepared from its embedded sample, copied to a temporary folder whose image
data is then deleted: nothing the contract promises (sets, records, info, iteration) may need
the images.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import imagesets
from imagesets.catalog import entries
from imagesets.contract import INFO_KEYS, Dataset, Split
from imagesets.demo import sample_path
from imagesets.errors import ImagesetsError
from imagesets.testing.laion_fmri import write_sample_dataset

from .paths import TEST_DATA


def _ilsvrc2012(folder: Path) -> Path:
    shutil.copytree(sample_path("ilsvrc2012"), folder)
    return folder


def _panocaps(folder: Path) -> Path:
    shutil.copytree(sample_path("panocaps"), folder)
    return folder


def _laion_fmri(folder: Path) -> Path:
    names = pd.read_csv(TEST_DATA / "laion_fmri" / "stimulus_names.csv",
                        keep_default_na=False, na_values={"subject": [""]})
    chosen = pd.concat([names[names["unique_or_shared"] == "shared"].head(6),
                        names[names["subject"] == "sub-01"].head(6)])
    write_sample_dataset(folder, chosen, sessions=2, trials_per_session=5, models=("CLIP",),
                         mask_size=16)
    return folder


SAMPLES = {"ilsvrc2012": _ilsvrc2012, "panocaps": _panocaps, "laion_fmri": _laion_fmri}
IMAGE_DATA = {"ilsvrc2012": ("train", "val"), "panocaps": (),
              "laion_fmri": ("stimuli/task-images_stimuli.h5",)}


def test_every_catalog_entry_has_a_sample() -> None:
    assert sorted(SAMPLES) == [e.name for e in entries()]


def _remove_image_data(name: str, root: Path) -> None:
    for relative in IMAGE_DATA[name]:
        path = root / relative
        assert path.exists(), path
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def _signature(record: Mapping[str, Any]) -> str:
    """What tells records apart: their plain values (text, numbers, small dicts)."""
    plain = {k: v for k, v in record.items()
             if v is None or isinstance(v, (str, int, float, bool, dict, np.integer))}
    return json.dumps(plain, sort_keys=True, default=str)


def _plain(value: Any) -> str:
    return json.dumps(value.item() if isinstance(value, np.generic) else value, default=str)


def _check_split(split: Any, where: str) -> None:
    assert isinstance(split, Split), f"{where} lacks part of the Split protocol"
    n = len(split)
    assert n >= 2, f"{where}: the sample needs 2 records to tell indexing bugs apart"
    records = list(split)
    assert len(records) == n
    keys = set(split.fields)
    for record in records:
        assert isinstance(record, Mapping), f"{where}: a record is {type(record).__name__}"
        assert set(record.keys()) == keys, f"{where}: record keys differ from .fields"
    expected = [_signature(r) for r in records]
    assert len(set(expected)) == n, f"{where}: records are not distinguishable"

    def sig(items: Any) -> list[str]:
        return [_signature(r) for r in items]

    assert _signature(split[0]) == expected[0]
    assert _signature(split[-1]) == expected[-1]
    assert _signature(split[-n]) == expected[0]
    for bad in (n, -n - 1, 10**9):
        with pytest.raises(IndexError) as raised:
            split[bad]
        assert isinstance(raised.value, ImagesetsError)
    assert isinstance(split[1:3], list) and sig(split[1:3]) == expected[1:3]
    assert sig(split[::-1]) == expected[::-1]
    last = n - 1
    assert sig(split[[last, 0, last, -2]]) == [expected[last], expected[0], expected[last],
                                                expected[-2]]
    assert sig(split[np.array([1, 1, 0])]) == [expected[1], expected[1], expected[0]]
    assert split[[]] == []
    mask = np.zeros(n, dtype=bool)
    mask[-2:] = True
    assert sig(split[mask]) == expected[-2:]
    assert sig(split[mask.tolist()]) == expected[-2:]
    for wrong in (np.ones(n + 1, dtype=bool), np.ones(n - 1, dtype=bool)):
        with pytest.raises(IndexError) as raised:
            split[wrong]
        assert isinstance(raised.value, ImagesetsError)
    with pytest.raises(IndexError):
        split[[0, n]]
    for field in split.fields:
        column = list(split.column(field))
        assert len(column) == n, f"{where}.column({field!r})"
        assert _plain(column[-1]) == _plain(records[-1][field]), f"{where}.column({field!r})"
    with pytest.raises(KeyError):
        split.column("no such field")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_dataset_contract(name: str, tmp_path: Path) -> None:
    data_dir = SAMPLES[name](tmp_path / name)
    ds = imagesets.load(name, data_dir=data_dir, verbose=False)
    entry = imagesets.catalog.get_entry(name)
    with imagesets.load(name, verbose=False) as again:  # reopened from the registry, closed
        assert again.sets == ds.sets
    _remove_image_data(name, data_dir)

    assert isinstance(ds, Dataset), f"{name} lacks part of the Dataset protocol"
    assert ds.name == name and ds.task == entry.default_task
    assert isinstance(ds.sets, tuple) and ds.sets and all(isinstance(s, str) for s in ds.sets)
    assert tuple(iter(ds)) == ds.sets and len(ds) == len(ds.sets)
    for set_name in ds.sets:
        assert set_name in ds
    for other in ("no-such-set", 3, None, ("train",), b"val"):
        assert other not in ds

    info = ds.info()
    assert tuple(info) == INFO_KEYS
    assert info["name"] == name and info["task"] == ds.task
    assert info["sets"] == {s: len(ds[s]) for s in ds.sets}
    assert Path(info["data_dir"]) == data_dir.resolve()
    assert info["files"] and all(Path(f).is_file() for f in info["files"])
    assert info["license"] == entry.license

    for set_name in ds.sets:
        _check_split(ds[set_name], f"{name}[{set_name!r}]")
    with pytest.raises(KeyError):
        ds["no-such-set"]
    ds.close()
