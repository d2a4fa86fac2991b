"""A PanoCaps split follows the split contract (imagesets.contract) and its samples are Mappings;
image ids (strings) and positions (ints) coexist as keys."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping

import numpy as np
import pytest

from imagesets.contract import Split
from imagesets.errors import ImagesetsError, NotFoundError
from imagesets.panocaps import FIELDS, CaptionMismatchWarning, load


def test_indexing_follows_the_contract(sample_root):
    split = load(sample_root, "val")
    ids = ["00000101", "00000102", "00000103"]
    assert isinstance(split, Split) and len(split) == 3
    assert split[-1].image_id == ids[2] and split[0].image_id == ids[0]
    assert [s.image_id for s in split[1:]] == ids[1:]
    assert [s.image_id for s in split[[2, 0, 2]]] == [ids[2], ids[0], ids[2]]
    assert [s.image_id for s in split[np.array([1, -1])]] == [ids[1], ids[2]]
    assert [s.image_id for s in split[np.array([False, True, True])]] == ids[1:]
    for bad in (3, -4, [0, 5], np.array([True, False])):
        with pytest.raises(IndexError) as info:
            split[bad]
        assert isinstance(info.value, ImagesetsError)
    assert [s.image_id for s in split] == ids


def test_string_keys_are_image_ids(sample_root):
    split = load(sample_root, "val")
    assert split["00000102"] is split[1]
    assert "00000102" in split and 1 not in split and "102" not in split
    with pytest.raises(NotFoundError) as info:
        split["102"]
    assert isinstance(info.value, KeyError) and "00000101" in str(info.value)


def test_samples_are_mappings_with_the_same_keys(sample_root):
    split = load(sample_root, "val")
    assert tuple(split.fields) == FIELDS
    for sample in split:
        assert isinstance(sample, Mapping) and tuple(sample) == FIELDS
        assert sample["image_id"] == sample.image_id and sample["caption"] == sample.caption
        assert "masks" in sample and "nope" not in sample
    first = split[0]
    assert first["masks"].shape == (7, 256, 384)
    assert dict(first)["phrases"] == first.phrases
    with pytest.raises(NotFoundError, match="no field 'nope'"):
        first["nope"]
    assert first == load(sample_root, "val")[0] and first != split[1]
    with pytest.raises(IndexError) as info:
        first.mask(7)
    assert isinstance(info.value, ImagesetsError)


def test_column(sample_root):
    split = load(sample_root, "val")
    assert split.column("image_id") == ["00000101", "00000102", "00000103"]
    assert split.column("data_source") == [s.data_source for s in split]
    assert [len(p) for p in split.column("phrases")] == [len(s.phrases) for s in split]
    with pytest.raises(NotFoundError, match="fields: image_id"):
        split.column("labels_x")


def test_load_warns_once_when_tags_and_captions_disagree(sample_root):
    path = sample_root / "annotations" / "val_caption.json"
    document = json.loads(path.read_text())
    document["annotations"][0]["caption"] += " Extra."
    document["annotations"][2]["label_matched"].pop()
    path.write_text(json.dumps(document))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        split = load(sample_root, "val")
        split[0], split[2]
    assert len(caught) == 1 and caught[0].category is CaptionMismatchWarning
    message = str(caught[0].message)
    assert "2 caption(s)" in message and "00000101, 00000103" in message
    assert "imagesets validate panocaps" in message
