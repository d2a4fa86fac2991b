"""The command line verbs, the catalog entry and dataset contract, and the demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

import imagesets
from imagesets.cli.main import main
from imagesets.demo import demo_panocaps
from imagesets.errors import NotFoundError
from imagesets.panocaps import LICENSE, PanoCapsDataset


def test_validate_ok_and_json(sample_root: Path, photos_dir: Path,
                              capsys: pytest.CaptureFixture) -> None:
    assert main(["validate", "panocaps", "--root", str(sample_root), "--images-dir",
                 str(photos_dir)]) == 0
    out = capsys.readouterr().out
    assert out.count("OK: no errors") == 2 and "grounded fraction  0.9524" in out
    assert main(["validate", "panocaps", "--root", str(sample_root), "--split", "val",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert [s["split"] for s in report["splits"]] == ["val"]
    assert report["splits"][0]["stats"]["masks"] == 21


def test_validate_fails_with_problems_listed(chairs_root: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    path = chairs_root / "annotations" / "val_mask.json"
    document = json.loads(path.read_text())
    document["annotations"][2]["bbox"] = [1, 1, 1, 1]
    path.write_text(json.dumps(document))
    assert main(["validate", "panocaps", "--root", str(chairs_root)]) == 1
    out = capsys.readouterr().out
    assert "FAILED: 1 error(s)" in out
    line = next(x for x in out.splitlines() if "bbox_mismatch" in x and "error" in x)
    assert "00000006" in line and "mask 2 (id 13)" in line


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["validate", "panocaps", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("imagesets: error: no PanoCaps split 'val'") and err.count("\n") == 1
    assert main(["show", "panocaps", "--root", str(tmp_path), "-o", str(tmp_path / "x.png")]) == 1
    assert "no PanoCaps split" in capsys.readouterr().err
    assert main(["validate", "panocaps"]) == 1
    assert "pass --data-dir PATH" in capsys.readouterr().err


def test_convert_show_report(sample_root: Path, photos_dir: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture) -> None:
    assert main(["convert", "panocaps", "--root", str(sample_root), "--format", "json",
                 "--to", "parquet", "-o", str(tmp_path / "pq"), "--split", "val"]) == 0
    assert "val: 3 images" in capsys.readouterr().out
    assert imagesets.panocaps.load(tmp_path / "pq", "val").data.format == "parquet"
    assert main(["show", "panocaps", "--root", str(sample_root), "--image-id", "00000102",
                 "--images-dir", str(photos_dir), "-o", str(tmp_path / "one.png")]) == 0
    assert "val/00000102: 7 phrases, 6 masks" in capsys.readouterr().out
    with Image.open(tmp_path / "one.png") as image:
        assert image.width == 640 and image.height > 640
    assert main(["report", "panocaps", "--root", str(sample_root), "--split", "train",
                 "--image-id", "00000002", "-o", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert html.count('<section class="sample"') == 1 and 'id="00000002"' in html
    assert "<td>grounded fraction</td><td>0.9167</td>" in html


def test_catalog_load_contract_and_license_notice(sample_root: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    dataset = imagesets.load("panocaps", data_dir=sample_root, verbose=False)
    assert LICENSE in capsys.readouterr().err                  # shown when prepared
    assert isinstance(dataset, PanoCapsDataset)
    assert dataset.sets == ("train", "val")
    assert len(dataset["val"]) == 3 and dataset["val"]["00000101"].caption.startswith("A wooden")
    info = dataset.info()
    assert info["sets"] == {"train": 2, "val": 3} and "non-commercial" in info["license"]
    with pytest.raises(NotFoundError, match="no prepared split 'test'"):
        dataset["test"]
    again = imagesets.load("panocaps", verbose=False)
    assert again.sets == ("train", "val")
    assert capsys.readouterr().err == ""                       # not prepared twice
    summary = imagesets.info("panocaps")
    assert summary["downloadable"] and "non-commercial" in summary["license"]
    assert "HuggingSara/PanoCaps" in summary["setup"] and "ADE20K" in summary["setup"]


def test_prepare_one_split_and_images_dir(sample_root: Path, photos_dir: Path) -> None:
    dataset = imagesets.load("panocaps", data_dir=sample_root, verbose=False, sets=["val"],
                             images_dir=str(photos_dir))
    assert dataset.sets == ("val",)
    assert dataset["val"][0].image_path() == photos_dir / "coffee.jpg"


def test_prepare_empty_folder_explains_setup(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="imagesets download panocaps"):
        imagesets.load("panocaps", data_dir=tmp_path, verbose=False)


def test_demo_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    demo_panocaps(tmp_path / "home", tmp_path)
    out = capsys.readouterr().out
    assert "val: 3 images, 21 masks, 21 phrases, grounded fraction 0.9524, 0 errors" in out
    assert "112-122 'the saucer' -> masks [1]" in out
    with Image.open(tmp_path / "panocaps_00000101.png") as image:
        assert image.size[0] == 640
