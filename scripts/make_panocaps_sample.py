"""Build the embedded PanoCaps-format sample from the sample photos (deterministic).

    python scripts/make_panocaps_sample.py

For each photo a label map is painted in a fixed order: hand-specified polygons, ellipses and
lines (PIL ``ImageDraw``, coordinates in pixels of the 384-px photos), plus threshold +
connected-component steps on the pixels (``scipy.ndimage``) where the photo allows it (dark
person, bright floodlights). A later step overwrites an earlier one, so the regions never
overlap and cover every pixel: a true panoptic segmentation. Each region becomes a COCO RLE
(pycocotools via ``imagesets.masks``) with its exact area and bbox. Captions are hand-written,
with inline tags (one-to-many and many-to-one links included). Output: both published layouts,
``annotations/{split}_caption.json`` + ``{split}_mask.json`` and ``data/{split}-*.parquet``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from imagesets import masks
from imagesets.panocaps.formats import SplitData, write_json_pair, write_parquet
from imagesets.panocaps.tags import parse_tagged_caption

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "imagesets" / "sample_data"
PHOTOS = SAMPLE / "photos"
OUT = SAMPLE / "panocaps"

CATEGORIES = ["wall", "table", "floor", "plate", "cup", "coffee", "spoon", "sky", "building",
              "grass", "person", "camera", "tripod", "ground", "tower", "rocket", "light",
              "cat", "eye", "nose", "flag", "helmet", "airplane", "pedestal", "badge"]
CATEGORY_IDS = {name: i + 1 for i, name in enumerate(CATEGORIES)}
STUFF = {"wall", "table", "floor", "sky", "building", "grass", "ground"}


def _polygon(size: tuple[int, int], points: list[tuple[float, float]]) -> np.ndarray:
    canvas = Image.new("L", size, 0)
    ImageDraw.Draw(canvas).polygon(points, fill=1)
    return np.asarray(canvas, dtype=bool)


def _ellipse(size: tuple[int, int], box: tuple[float, float, float, float]) -> np.ndarray:
    canvas = Image.new("L", size, 0)
    ImageDraw.Draw(canvas).ellipse(box, fill=1)
    return np.asarray(canvas, dtype=bool)


def _lines(size: tuple[int, int], segments: list[tuple[float, ...]], width: int) -> np.ndarray:
    canvas = Image.new("L", size, 0)
    draw = ImageDraw.Draw(canvas)
    for segment in segments:
        draw.line(segment, fill=1, width=width)
    return np.asarray(canvas, dtype=bool)


def _component_at(mask: np.ndarray, x: int, y: int) -> np.ndarray:
    labels, _ = ndimage.label(mask)
    if not labels[y, x]:
        raise SystemExit(f"seed ({x}, {y}) is not inside the thresholded mask")
    return labels == labels[y, x]


def coffee(size: tuple[int, int], gray: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Table, saucer, cup, handle, espresso, spoon, dark floor corner (regions 0-6)."""
    return [
        ("table", np.ones(size[::-1], dtype=bool)),
        ("plate", _ellipse(size, (48, 46, 307, 250))),
        ("cup", _ellipse(size, (110, 10, 262, 135))
         | _polygon(size, [(114, 70), (260, 70), (248, 150), (215, 170), (160, 172),
                           (124, 150)])),
        ("cup", _ellipse(size, (123, 150, 163, 196))),
        ("coffee", _ellipse(size, (130, 62, 237, 122))),
        ("spoon", _ellipse(size, (207, 152, 260, 208))
         | _polygon(size, [(256, 44), (272, 46), (262, 80), (250, 152), (236, 152), (250, 80)])),
        ("floor", _polygon(size, [(0, 0), (92, 0), (60, 18), (25, 40), (0, 52)])),
    ]


def camera(size: tuple[int, int], gray: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Sky, buildings, grass, person (dark threshold), camera, tripod (regions 0-5)."""
    rows = np.arange(size[1])[:, None]
    person = _component_at(gray < 60, 100, 250)
    person = ndimage.binary_fill_holes(ndimage.binary_closing(person, iterations=3))
    person |= _ellipse(size, (128, 48, 202, 142))
    tripod = _lines(size, [(220, 145, 220, 360), (218, 238, 178, 384), (220, 238, 300, 384),
                           (222, 238, 232, 380), (224, 242, 252, 226)], 5)
    return [
        ("sky", np.ones(size[::-1], dtype=bool)),
        ("building", (rows >= 118) & (rows < 180) & (gray < 200)),
        ("grass", np.broadcast_to(rows >= 178, gray.shape).copy()),
        ("person", person),
        ("camera", _polygon(size, [(193, 103), (244, 103), (248, 140), (195, 141)])),
        ("tripod", tripod & ~person),
    ]


def rocket(size: tuple[int, int], gray: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Sky, ground, two lattice towers, two masts, rocket, floodlights (regions 0-7)."""
    rows = np.arange(size[1])[:, None]
    lights = ndimage.binary_dilation((gray > 235) & (rows > 195), iterations=2)
    return [
        ("sky", np.ones(size[::-1], dtype=bool)),
        ("ground", np.broadcast_to(rows >= 222, gray.shape).copy()),
        ("tower", _polygon(size, [(22, 0), (53, 0), (50, 232), (0, 232), (0, 150)])),
        ("tower", _polygon(size, [(338, 0), (384, 0), (384, 240), (345, 240)])),
        ("tower", _polygon(size, [(117, 74), (121, 74), (123, 120), (126, 232), (102, 232),
                                  (112, 120)])),
        ("tower", _polygon(size, [(265, 72), (270, 72), (273, 115), (284, 240), (258, 240),
                                  (264, 115)])),
        ("rocket", _polygon(size, [(193, 76), (199, 85), (201, 100), (201, 245), (186, 245),
                                   (186, 100), (188, 85)])),
        ("light", lights),
    ]


def chelsea(size: tuple[int, int], gray: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Background, cat, two eyes, nose (regions 0-4)."""
    return [
        ("wall", np.ones(size[::-1], dtype=bool)),
        ("cat", _polygon(size, [(0, 0), (300, 0), (322, 30), (312, 120), (300, 200),
                                (262, 255), (0, 255)])),
        ("eye", _ellipse(size, (115, 72, 178, 122))),
        ("eye", _ellipse(size, (250, 92, 292, 140))),
        ("nose", _polygon(size, [(204, 195), (240, 192), (236, 212), (221, 222), (208, 211)])),
    ]


def astronaut(size: tuple[int, int], gray: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Backdrop, flag, astronaut, helmet, shuttle model, pedestal, mission patch (0-6)."""
    return [
        ("wall", np.ones(size[::-1], dtype=bool)),
        ("flag", _polygon(size, [(0, 0), (38, 0), (60, 110), (72, 165), (40, 230), (20, 384),
                                 (0, 384)])),
        ("person", _ellipse(size, (115, 10, 225, 140))
         | _polygon(size, [(40, 230), (85, 170), (100, 140), (120, 120), (200, 115),
                           (232, 150), (270, 200), (272, 270), (220, 280), (208, 384),
                           (20, 384)])),
        ("helmet", _ellipse(size, (207, 258, 395, 440))),
        ("airplane", _polygon(size, [(290, 5), (330, 5), (345, 130), (345, 200), (330, 210),
                                     (280, 205), (265, 170), (285, 140)])),
        ("pedestal", _polygon(size, [(272, 206), (384, 200), (384, 384), (276, 384)])),
        ("badge", _ellipse(size, (100, 262, 157, 318))),
    ]


# Paint order differs from region order where an object lies in front of another.
PAINT_ORDER = {"coffee": [0, 6, 1, 2, 3, 4, 5], "camera": [0, 1, 2, 3, 4, 5],
               "rocket": [0, 1, 2, 3, 4, 5, 6, 7], "chelsea": [0, 1, 2, 3, 4],
               "astronaut": [0, 1, 4, 5, 2, 6, 3]}

IMAGES = [  # split, image id, photo, data_source (placeholder), region builder, tagged caption
    ("val", "00000101", "coffee", "COCONut", coffee,
     "<0:A wooden table> holds <1:a red saucer> with <2,3:a red and white cup> of "
     "<4:dark espresso> and <5:a small silver spoon> resting on < 1 : the saucer >."),
    ("val", "00000102", "camera", "ADE20K", camera,
     "<3:A man in a dark coat> looks through <4:a video camera> mounted on <5:a tripod> in "
     "<2:a wide grassy field>, with <1:low buildings> under <0:a pale sky>; <4, 5:his gear> "
     "is silver."),
    ("val", "00000103", "rocket", "VIPSeg", rocket,
     "<6:A white rocket> stands between <2,3:two tall lattice towers> and <4,5:two thin "
     "masts>, lit by <7:bright floodlights> against <0:a deep blue evening sky> above "
     "<1:the dark ground>. <7:The lights> glow around <6:the rocket>."),
    ("train", "00000001", "chelsea", "COCONut", chelsea,
     "<1:A tabby cat> stares with <2,3:two green eyes> above <4:a pink nose>, in front of "
     "<0:a soft blurred background>; <1:its striped fur> fills the picture."),
    ("train", "00000002", "astronaut", "ADE20K", astronaut,
     "<2:A smiling astronaut> in <2:an orange flight suit> poses before <0:a grey backdrop> "
     "with <1:an American flag> on the left and <4:a model space shuttle> behind her; "
     "<3:a white helmet> rests in front, and <6:a round mission patch> is sewn on her chest."),
]


def build_image(split: str, image_id: str, photo: str, source: str, builder, caption_ann: str,
                next_mask_id: int, caption_id: int) -> tuple[dict, dict, list[dict]]:
    image = Image.open(PHOTOS / f"{photo}.jpg")
    size = image.size
    gray = np.asarray(image.convert("L"), dtype=np.int32)
    regions = builder(size, gray)
    label_map = np.full(gray.shape, -1, dtype=np.int32)
    for index in PAINT_ORDER[photo]:
        label_map[regions[index][1]] = index
    mask_annotations = []
    for index, (category, _) in enumerate(regions):
        mask = label_map == index
        if not mask.any():
            raise SystemExit(f"{photo}: region {index} ({category}) ended up empty")
        rle = masks.encode(mask)
        mask_annotations.append({
            "id": next_mask_id + index, "image_id": image_id,
            "category_id": CATEGORY_IDS[category], "segmentation": rle,
            "area": masks.area(rle), "bbox": masks.bbox(rle), "iscrowd": 0,
            "thing_or_stuff": "stuff" if category in STUFF else "thing"})
    parsed = parse_tagged_caption(caption_ann)
    caption = {
        "id": caption_id, "image_id": image_id, "caption": parsed.clean,
        "caption_ann": caption_ann,
        "label_matched": [{"mask_ids": list(t.mask_indices), "txt_desc": t.text}
                          for t in parsed.tags],
        "labels": [category for category, _ in regions]}
    info = {"file_name": f"{photo}.jpg", "height": size[1], "width": size[0], "id": image_id,
            "data_source": source}
    return info, caption, mask_annotations


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    categories = [{"id": CATEGORY_IDS[n], "name": n} for n in CATEGORIES]
    for split in ("train", "val"):
        images, captions, mask_annotations = [], [], []
        for number, (image_split, image_id, photo, source, builder, caption_ann) in enumerate(
                IMAGES):
            if image_split != split:
                continue
            info, caption, annotations = build_image(split, image_id, photo, source, builder,
                                                     caption_ann, 100 * (number + 1), number + 1)
            images.append(info)
            captions.append(caption)
            mask_annotations.extend(annotations)
        data = SplitData(split, images, captions, mask_annotations, categories, list(images))
        write_json_pair(data, OUT, indent=1)
        write_parquet(data, OUT)
        print(f"{split}: {len(images)} images, {len(mask_annotations)} masks")


if __name__ == "__main__":
    main()
