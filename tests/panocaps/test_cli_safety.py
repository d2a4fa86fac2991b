"""No silent or half-done results: validate --json on fatal input, convert's own-input refusal,
clean failure and consistent isthing, show's output formats."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from imagesets.cli.main import main
from imagesets.errors import InvalidDataError
from imagesets.panocaps import convert


@pytest.mark.parametrize("breakage", ["missing", "corrupt"])
def test_validate_json_always_writes_json(tmp_path: Path, sample_root: Path, breakage: str,
                                          capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "nothing" if breakage == "missing" else sample_root
    if breakage == "corrupt":
        (sample_root / "annotations" / "val_caption.json").write_text('{"images": ["ab')
    code = main(["validate", "panocaps", "--root", str(root), "--split", "val", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["ok"] is False and report["splits"] == []
    assert report["error"]["type"] in ("NotFoundError", "InvalidDataError")
    message = report["error"]["message"]
    assert ("no PanoCaps split 'val'" if breakage == "missing" else
            "not valid JSON (Unterminated string starting at; line 1, column 13)") in message
    assert "at at" not in message


def test_convert_refuses_to_overwrite_its_input(sample_root: Path) -> None:
    before = (sample_root / "annotations" / "val_caption.json").read_bytes()
    with pytest.raises(InvalidDataError, match="would overwrite its own input"):
        convert(sample_root, "json", sample_root, format="json")
    assert (sample_root / "annotations" / "val_caption.json").read_bytes() == before
    with pytest.raises(InvalidDataError, match="val-00000-of-00001.parquet"):
        convert(sample_root, "parquet", sample_root, splits=["val"], format="parquet")


def test_failed_conversion_leaves_nothing_behind(sample_root: Path, tmp_path: Path) -> None:
    path = sample_root / "annotations" / "val_mask.json"
    document = json.loads(path.read_text())
    document["annotations"][-1]["segmentation"]["counts"] = "0"       # not h × w pixels
    path.write_text(json.dumps(document))
    out = tmp_path / "out"
    with pytest.raises(InvalidDataError, match="invalid COCO RLE"):
        convert(sample_root, "coco-panoptic", out, format="json")     # train first, then val
    assert not out.exists()
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InvalidDataError):
        convert(sample_root, "coco-panoptic", out, format="json")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_coco_panoptic_isthing_is_the_same_in_every_split(sample_root: Path,
                                                          tmp_path: Path) -> None:
    convert(sample_root, "coco-panoptic", tmp_path / "coco", format="json")
    train, val = (json.loads((tmp_path / "coco" / "annotations" / f"panoptic_{s}.json")
                             .read_text())["categories"] for s in ("train", "val"))
    assert train == val
    assert {c["name"]: c["isthing"] for c in val}["sky"] == 0   # sky has stuff masks in val only
    for split in ("train", "val"):
        path = sample_root / "annotations" / f"{split}_mask.json"
        document = json.loads(path.read_text())
        for category in document["categories"]:
            category["isthing"] = int(category["name"] == "sky")
        path.write_text(json.dumps(document))
    convert(sample_root, "coco-panoptic", tmp_path / "listed", format="json")
    listed = json.loads((tmp_path / "listed" / "annotations" / "panoptic_train.json")
                        .read_text())["categories"]
    assert {c["name"] for c in listed if c["isthing"]} == {"sky"}


def test_show_writes_png_or_jpeg_or_refuses(sample_root: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    for name, kind in (("x.jpg", "JPEG"), ("x.PNG", "PNG"), ("x.jpeg", "JPEG")):
        assert main(["show", "panocaps", "--root", str(sample_root), "-o",
                     str(tmp_path / name)]) == 0
        with Image.open(tmp_path / name) as picture:
            assert picture.format == kind
    assert main(["show", "panocaps", "--root", str(sample_root), "-o",
                 str(tmp_path / "x.gif")]) == 1
    err = capsys.readouterr().err
    assert "must end in .png, .jpg, .jpeg" in err and "Traceback" not in err
    assert not (tmp_path / "x.gif").exists()


def test_report_lists_the_validation_errors_it_counts(chairs_root: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    path = chairs_root / "annotations" / "val_mask.json"
    document = json.loads(path.read_text())
    document["annotations"][2]["bbox"] = [1, 1, 1, 1]
    path.write_text(json.dumps(document))
    page = tmp_path / "report.html"
    assert main(["report", "panocaps", "--root", str(chairs_root), "-o", str(page)]) == 0
    assert "1 validation errors listed" in capsys.readouterr().out
    text = page.read_text()
    assert "<h2>Validation errors (1)</h2>" in text
    assert re.search(r"<tr><td>\w+</td><td>bbox_mismatch</td><td>[^<]*bbox", text)
