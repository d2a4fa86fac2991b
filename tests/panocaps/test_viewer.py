"""The prediction viewer, in headless chromium: worst-first cards, counts equal to the
evaluator's, filters, lazy images, no console errors; and the one-image comparison picture."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagesets.cli.main import main
from imagesets.panocaps import load, write_prediction
from imagesets.panocaps.evaluation import evaluate
from imagesets.panocaps.viewer import FP_COLOUR, compare
from imagesets.panocaps.visualize import PALETTE

from ..panocaps_eval.builders import box, image, write_split

CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--enable-logging=stderr", "--v=0"]


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    run = subprocess.run([*CHROMIUM, f"--user-data-dir={profile}", *args],
                         capture_output=True, text=True, timeout=120, check=True)
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console                       # no JavaScript errors or logs
    return run


def predict(root: Path, folder: Path) -> None:
    """Per image: the first four phrases' true masks, the second shifted 40 px, and a ghost."""
    for sample in load(root, "val"):
        phrases = [p.text for p in sample.phrases][:4]
        masks = [sample.phrase_mask(i) for i in range(len(phrases))]
        masks[1] = np.roll(masks[1], 40, axis=1)
        ghost = np.zeros((sample.height, sample.width), dtype=np.uint8)
        ghost[:20, :20] = 1
        write_prediction(folder, sample.image_id, "predicted: " + ", ".join(phrases),
                         [*phrases, "a ghost"], [*masks, ghost])


@pytest.fixture
def page(sample_root: Path, photos_dir: Path, tmp_path: Path,
         capsys: pytest.CaptureFixture) -> Path:
    predict(sample_root, tmp_path / "pred")
    output = tmp_path / "viewer.html"
    assert main(["report", "panocaps", "--root", str(sample_root), "--pred",
                 str(tmp_path / "pred"), "--text-sim", "exact", "--mode", "corrected",
                 "--images-dir", str(photos_dir), "-o", str(output)]) == 0
    assert "wrote" in capsys.readouterr().out
    return output


def test_viewer_page_counts_order_and_filters(page: Path, sample_root: Path, tmp_path: Path
                                              ) -> None:
    result = evaluate(sample_root, "val", tmp_path / "pred", text_sim="exact",
                      mode="corrected")
    counts = result.counts
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and "<link" not in text
    dom = chromium("--virtual-time-budget=10000", "--dump-dom", page.as_uri(),
                   profile=tmp_path / "profile").stdout
    shown = re.search(r'<span id="shown">([^<]*)</span>', dom).group(1)
    assert shown == (f"3 of 3 images shown: matched {counts['TP']}, missed {counts['FN']}, "
                     f"false positives {counts['FP']}")
    cards = re.findall(r'<section class="card" id="img-(\d+)"[^>]*data-tp="(\d+)" '
                       r'data-fp="(\d+)" data-fn="(\d+)"', dom)
    by_id = {s.gt.image_id: s for s in result.images}
    assert sorted((int(tp), int(fp), int(fn)) for _, tp, fp, fn in cards) == sorted(
        (s.tp, s.fp, s.fn) for s in result.images)
    for image_id, tp, fp, fn in cards:
        assert (int(tp), int(fp), int(fn)) == (by_id[image_id].tp, by_id[image_id].fp,
                                               by_id[image_id].fn)
    _, comparisons = compare(load(sample_root, "val"), tmp_path / "pred", result=result)
    worst_first = [c.sample.image_id for c in sorted(comparisons, key=lambda c: c.gpq)]
    assert [c[0] for c in cards] == worst_first
    assert dom.count('class="missed"') == counts["FN"]
    assert dom.count('class="fp"') >= counts["FP"]        # one row each, plus the counts
    loaded = re.findall(r'<img alt="(?:ground truth|prediction)[^"]*" src="data:image/jpeg', dom)
    assert len(loaded) >= 4 and len(loaded) + dom.count('data-src="data:image/jpeg') == 6
    for key, value in (("matched (TP)", counts["TP"]), ("missed (FN)", counts["FN"])):
        assert f'data-key="{key}">{value}</td>' in dom
    filtered = chromium("--virtual-time-budget=10000", "--dump-dom",
                        page.as_uri() + "#source=VIPSeg&kind=stuff&failures=1",
                        profile=tmp_path / "profile").stdout
    visible = [m.group(1) for m in re.finditer(r'<section class="card" id="img-(\d+)"[^>]*>',
                                               filtered) if "hidden" not in m.group(0)]
    assert visible == ["00000103"]
    rocket = by_id["00000103"]
    stuff = [k for k in rocket.gt.kinds if k == "stuff"]
    assert re.search(r'<span id="shown">1 of 3 images shown: matched ' + str(rocket.tp),
                     filtered)
    card = re.search(r'<section class="card" id="img-00000103".*?</section>', filtered).group(0)
    rows = re.findall(r'<tr class="(?:missed|matched)" data-kind="(\w+)"[^>]*>', card)
    assert [kind for kind in rows if kind == "stuff"] == stuff
    shown_rows = [r for r in re.findall(r'<tr class="(?:missed|matched)"[^>]*>', card)
                  if "hidden" not in r]
    assert len(shown_rows) == len(stuff) and all('data-kind="stuff"' in r for r in shown_rows)


def test_viewer_screenshot_shows_both_sides(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "viewer.png"
    chromium("--window-size=1200,1600", "--virtual-time-budget=10000", f"--screenshot={shot}",
             page.as_uri(), profile=tmp_path / "profile")
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    colours = {tuple(int(v) for v in c) for c in np.unique(pixels.reshape(-1, 3), axis=0)}
    assert FP_COLOUR in colours and PALETTE[0] in colours and PALETTE[2] in colours
    assert (pixels[700:1000, 100:900].std(axis=(0, 1)) > 20).all()   # pictures, not blank


def test_viewer_loads_images_lazily(tmp_path: Path) -> None:
    top, bottom = box(32, 48, (0, 16), (0, 48)), box(32, 48, (16, 32), (0, 48))
    ids = [f"{i:08d}" for i in range(40)]
    write_split(tmp_path / "data", "val", [image(i, [(top, "stuff"), (bottom, "thing")],
                                                 [([0], "the sky"), ([1], "a field")],
                                                 size=(32, 48)) for i in ids])
    for i in ids:
        write_prediction(tmp_path / "pred", i, "the sky", ["sky"], [top])
    page = tmp_path / "lazy.html"
    assert main(["report", "panocaps", "--root", str(tmp_path / "data"), "--pred",
                 str(tmp_path / "pred"), "--text-sim", "exact", "-o", str(page)]) == 0
    dom = chromium("--window-size=1200,900", "--virtual-time-budget=10000", "--dump-dom",
                   page.as_uri(), profile=tmp_path / "profile").stdout
    loaded = len(re.findall(r'<img [^>]*(?<!-)src="data:', dom))
    waiting = len(re.findall(r'<img [^>]*data-src="data:', dom))
    assert loaded + waiting == 80 and 0 < loaded < 20
    assert "40 of 40 images shown: matched 40, missed 40, false positives 0" in dom


def test_show_pred_draws_the_comparison(sample_root: Path, photos_dir: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    predict(sample_root, tmp_path / "pred")
    output = tmp_path / "compare.png"
    assert main(["show", "panocaps", "--root", str(sample_root), "--split", "val",
                 "--images-dir", str(photos_dir), "--pred", str(tmp_path / "pred"),
                 "--image-id", "00000101", "--text-sim", "exact", "--mode", "corrected",
                 "-o", str(output)]) == 0
    result = evaluate(sample_root, "val", tmp_path / "pred", text_sim="exact",
                      mode="corrected")
    score = next(s for s in result.images if s.gt.image_id == "00000101")
    assert (f"matched {score.tp}, missed {score.fn}, false positives {score.fp}"
            in capsys.readouterr().out)
    picture = np.asarray(Image.open(output).convert("RGB"))
    assert picture.shape[1] == 1280 and picture.shape[0] > 427
    left, right = picture[:400, 40:600], picture[:400, 680:1240]
    assert not np.array_equal(left, right)                 # ground truth ≠ prediction
    red = np.all(right == FP_COLOUR, axis=-1).sum()
    assert red > 50 and np.all(left == FP_COLOUR, axis=-1).sum() < red
