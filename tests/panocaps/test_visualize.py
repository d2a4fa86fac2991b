"""Rendered pictures (pixel checks) and the HTML report opened in headless Chromium."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from imagesets.panocaps import load, render_sample, show, write_report
from imagesets.panocaps.visualize import (
    NEUTRAL,
    PALETTE,
    caption_segments,
    colour_slots,
    render_overlay,
)

from .builders import caption_annotation, image_info, mask_annotation, write_pair


def two_squares(root: Path) -> Path:
    """A 40 × 60 image: a 20 × 20 square named by phrase 0, a second unnamed square, void."""
    a = np.zeros((40, 60), bool)
    a[5:25, 5:25] = True
    b = np.zeros((40, 60), bool)
    b[10:30, 35:55] = True
    write_pair(root, "val", [image_info("7", 40, 60)],
               [caption_annotation("7", "A <0:red square> on grey.", "A red square on grey.",
                                   [([0], "red square")])],
               [mask_annotation(a, "7", 1), mask_annotation(b, "7", 2)])
    return root


def test_overlay_blends_named_masks_and_outlines_every_mask(tmp_path: Path) -> None:
    sample = load(two_squares(tmp_path), "val")[0]
    pixels = np.asarray(render_overlay(sample)).astype(int)
    colour = np.array(PALETTE[0])
    grey = np.array(NEUTRAL)
    blend = np.round(0.5 * grey + 0.5 * colour).astype(int)
    a = sample.mask(0).astype(bool)
    interior = ndimage.binary_erosion(a, iterations=2, border_value=1)
    assert (np.abs(pixels[interior] - blend) <= 1).all()
    assert (pixels[a & ~interior] == colour).all()                # outline in the phrase colour
    b = sample.mask(1).astype(bool)
    b_inner = ndimage.binary_erosion(b, iterations=2, border_value=1)
    assert (pixels[b & ~b_inner] == 255).all()                    # unnamed: white outline
    assert (pixels[b_inner] == grey).all()                        # and no fill
    assert (pixels[~(a | b)] == grey).all()                       # void stays neutral


def test_rendered_picture_has_caption_panel_in_phrase_colours(sample_root: Path,
                                                              photos_dir: Path) -> None:
    sample = load(sample_root, "val", photos_dir)["00000101"]
    picture = render_sample(sample)
    assert picture.width == 640
    top_height = round(sample.height * 640 / sample.width)
    expected_top = render_overlay(sample).resize((640, top_height), Image.Resampling.LANCZOS)
    np.testing.assert_array_equal(np.asarray(picture)[:top_height], np.asarray(expected_top))
    panel = np.asarray(picture)[top_height:].reshape(-1, 3)
    colours = {tuple(int(v) for v in c) for c in np.unique(panel, axis=0)}
    assert (255, 255, 255) in colours
    for slot in set(colour_slots(sample)[0]):
        assert PALETTE[slot] in colours                          # each phrase's underline
    photo = np.asarray(Image.open(photos_dir / "coffee.jpg").convert("RGB")).astype(int)
    overlay = np.asarray(render_overlay(sample)).astype(int)
    floor = sample.mask(6).astype(bool)                          # unnamed: photo shows through
    inner = ndimage.binary_erosion(floor, iterations=2, border_value=1)
    assert (overlay[inner] == photo[inner]).all()


def test_many_to_one_phrases_share_a_colour_and_segments_cover_the_caption(
        chairs_root: Path) -> None:
    sample = load(chairs_root, "val")["00000006"]
    assert colour_slots(sample) == ([0, 1, 1], {0: 0, 1: 1, 2: 1})
    pieces = caption_segments(sample)
    assert "".join(text for text, _ in pieces) == sample.caption
    assert [text for text, colour in pieces if colour] == ["A white wall", "two red chairs",
                                                           "the left chair"]


def test_show_writes_a_png_and_uses_grey_without_the_photo(sample_root: Path,
                                                           tmp_path: Path) -> None:
    sample = load(sample_root, "val")["00000103"]
    path = show(sample, tmp_path / "rocket.png", images_dir=tmp_path / "no-images-here")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width == 640
        pixels = np.asarray(image.convert("RGB"))
    top = pixels[: round(256 * 640 / 384)]
    assert (top == NEUTRAL).all(axis=-1).sum() == 0        # every pixel is covered by a mask
    sky_blend = np.round(0.5 * np.array(NEUTRAL) + 0.5 * np.array(PALETTE[4]))
    assert (np.abs(top[5, 320].astype(int) - sky_blend) <= 2).all()


def test_wrong_size_photo_falls_back_to_grey(tmp_path: Path) -> None:
    root = two_squares(tmp_path / "data")
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (10, 10), (0, 255, 0)).save(images / "7.jpg")
    overlay = np.asarray(render_overlay(load(root, "val", images)[0]))
    assert tuple(overlay[39, 0]) == NEUTRAL


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    command = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def test_html_report_in_headless_chromium(sample_root: Path, photos_dir: Path,
                                          tmp_path: Path) -> None:
    split = load(sample_root, "val", photos_dir)
    page = write_report(split, tmp_path / "report.html", summary=[("errors", 0)])
    html = page.read_text()
    assert "http://" not in html and "https://" not in html          # self-contained
    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile").stdout
    sections = re.findall(r'<section class="sample" id="(\d+)">', dom)
    assert sections == ["00000101", "00000102", "00000103"]
    assert len(re.findall(r'<img alt="masks of \d+" src="data:image/png;base64,', dom)) == 3
    spans = re.findall(r'<span class="phrase" style="color: rgb\((\d+), (\d+), (\d+)\);[^"]*">'
                       r"([^<]*)</span>", dom)
    assert [s[3] for s in spans][:6] == ["A wooden table", "a red saucer", "a red and white cup",
                                         "dark espresso", "a small silver spoon", "the saucer"]
    assert spans[1][:3] == spans[5][:3]                      # "the saucer" shares the colour
    assert "<title>PanoCaps val: 3 of 3 images</title>" in dom
    shot = tmp_path / "shot.png"
    chromium("--window-size=1200,900", f"--screenshot={shot}", page.as_uri(),
             profile=tmp_path / "profile")
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    present = {tuple(int(v) for v in c) for c in np.unique(pixels, axis=0)}
    assert PALETTE[0] in present and PALETTE[1] in present      # mask outlines were painted


def test_samples_without_masks_or_caption_still_render(tmp_path: Path) -> None:
    ones = np.ones((8, 10), bool)
    write_pair(tmp_path, "val", [image_info("a", 8, 10), image_info("b", 8, 10)],
               [caption_annotation("a", "<0:nothing>", "nothing", [([0], "nothing")])],
               [mask_annotation(ones, "b", 1)])
    split = load(tmp_path, "val")
    no_masks, no_caption = split["a"], split["b"]
    assert no_masks.masks().shape == (0, 8, 10)
    assert (no_masks.panoptic_map() == -1).all()
    assert (np.asarray(render_overlay(no_masks)) == NEUTRAL).all()
    assert no_caption.phrases == [] and (no_caption.panoptic_map() == 0).all()
    for sample in (no_masks, no_caption):
        with Image.open(show(sample, tmp_path / f"{sample.image_id}.png")) as image:
            assert image.width == 640
