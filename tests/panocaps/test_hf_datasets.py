"""The documented recipe: PanoCaps Parquet shards load with Hugging Face ``datasets``, offline,
row for row the same as imagesets reads them."""

from __future__ import annotations

import datasets
import pyarrow.parquet as pq

from imagesets.panocaps import PARQUET_SCHEMA, load


def test_load_dataset_parquet_recipe_offline(sample_root, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    files = {"train": str(sample_root / "data" / "train-*.parquet"),
             "validation": str(sample_root / "data" / "val-*.parquet")}
    loaded = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "hf"))
    assert loaded["validation"].column_names == PARQUET_SCHEMA.names
    ours = load(sample_root, "val", format="parquet")
    assert loaded["validation"]["image_id"] == ours.image_ids
    table = pq.read_table(next((sample_root / "data").glob("val-*.parquet"))).to_pylist()
    assert loaded["validation"].to_list() == table
    row = loaded["validation"][0]
    sample = ours[0]
    assert row["caption_info"]["caption_ann"] == sample.caption_ann
    assert [m["segmentation"] for m in row["mask_annotations"]] == [
        r.segmentation for r in sample.regions]
    assert len(loaded["train"]) == len(load(sample_root, "train"))
