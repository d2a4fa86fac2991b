"""Pictures of grounded captions: each phrase's masks in its own colour, outlined, with the caption
below in the same colours (``render_sample``/``show``); a self-contained HTML page for many
samples (``write_report``). Without the source image the masks are drawn on a neutral grey.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from ..errors import InvalidDataError
from ..fsutil import atomic_path, atomic_write_text
from .split import PanoCapsSplit, Sample

PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 200, 210), (240, 50, 230), (170, 110, 40), (128, 128, 0), (0, 0, 128),
           (255, 200, 0), (0, 128, 128), (128, 0, 0), (100, 100, 255), (80, 160, 0),
           (200, 80, 120)]
NEUTRAL = (128, 128, 128)
UNGROUNDED = (255, 255, 255)
ALPHA = 0.5
MIN_WIDTH = 640
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def phrase_colour(index: int) -> tuple[int, int, int]:
    """Palette colour number ``index`` (the palette repeats after 16 colours)."""
    return PALETTE[index % len(PALETTE)]


def load_base_image(sample: Sample, images_dir: str | os.PathLike | None = None
                    ) -> tuple[Image.Image, bool]:
    """The sample's image as RGB, or a neutral grey canvas of its size; True if the photo was used.

    A photo whose size differs from the annotations is not used (the masks would not fit).
    """
    path = sample.image_path(images_dir)
    if path is not None and path.is_file():
        try:
            with Image.open(path) as image:
                if image.size == (sample.width, sample.height):
                    return image.convert("RGB"), True
        except (UnidentifiedImageError, OSError):
            pass
    return Image.new("RGB", (sample.width, sample.height), NEUTRAL), False


def colour_slots(sample: Sample) -> tuple[list[int], dict[int, int]]:
    """Palette slots of phrases and regions: a phrase naming an already-coloured region reuses
    that region's slot (many-to-one links read as one colour); each other phrase gets a new one.
    """
    phrase_slots: list[int] = []
    region_slots: dict[int, int] = {}
    for phrase in sample.phrases:
        known = [region_slots[i] for i in phrase.mask_indices if i in region_slots]
        slot = known[0] if known else len(set(phrase_slots))
        phrase_slots.append(slot)
        for index in phrase.mask_indices:
            if 0 <= index < len(sample.mask_annotations):
                region_slots.setdefault(index, slot)
    return phrase_slots, region_slots


def _region_colours(sample: Sample) -> dict[int, tuple[int, int, int]]:
    return {i: phrase_colour(slot) for i, slot in colour_slots(sample)[1].items()}


def paint(base: Image.Image, labels: np.ndarray,
          colours: dict[int, tuple[int, int, int]]) -> Image.Image:
    """``base`` with label ``k`` (≥ 1; 0 = nothing) filled in ``colours[k]`` at 50 % and outlined
    (pixels within 2 px of another label); labels without a colour get a white outline only.
    """
    pixels = np.asarray(base, dtype=np.float32)
    count = int(labels.max(initial=0))
    fill = np.zeros((count + 1, 3), dtype=np.float32)
    alpha = np.zeros(count + 1, dtype=np.float32)
    line = np.tile(np.asarray(UNGROUNDED, dtype=np.float32), (count + 1, 1))
    for label, colour in colours.items():
        if 0 < label <= count:
            fill[label] = colour
            alpha[label] = ALPHA
            line[label] = colour
    weight = alpha[labels][..., None]
    blended = (1 - weight) * pixels + weight * fill[labels]
    from scipy import ndimage

    diamond = ndimage.iterate_structure(ndimage.generate_binary_structure(2, 1), 2)
    edge = (labels > 0) & (ndimage.maximum_filter(labels, footprint=diamond, mode="nearest")
                           != ndimage.minimum_filter(labels, footprint=diamond, mode="nearest"))
    blended[edge] = line[labels[edge]]
    return Image.fromarray(np.clip(blended, 0, 255).astype(np.uint8))


def render_overlay(sample: Sample, images_dir: str | os.PathLike | None = None) -> Image.Image:
    """The image (or grey) with phrase-coloured masks and outlines (unnamed regions: white).

    Works on the panoptic map (where masks overlap, the earlier one is drawn).
    """
    base, _ = load_base_image(sample, images_dir)
    colours = {index + 1: colour for index, colour in _region_colours(sample).items()}
    return paint(base, sample.panoptic_map() + 1, colours)


def caption_segments(sample: Sample) -> list[tuple[str, tuple[int, int, int] | None]]:
    """The clean caption cut into (text, colour) pieces: phrases coloured, the rest None."""
    text = sample.parsed_caption.clean
    pieces: list[tuple[str, tuple[int, int, int] | None]] = []
    position = 0
    for phrase, slot in zip(sample.phrases, colour_slots(sample)[0], strict=True):
        if phrase.start > position:
            pieces.append((text[position:phrase.start], None))
        pieces.append((text[phrase.start:phrase.end], phrase_colour(slot)))
        position = phrase.end
    if position < len(text):
        pieces.append((text[position:], None))
    return pieces


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _layout_words(segments: Sequence[tuple[str, tuple[int, int, int] | None]],
                  font: ImageFont.ImageFont | ImageFont.FreeTypeFont, width: int,
                  ) -> list[list[tuple[str, tuple[int, int, int] | None, float]]]:
    """Greedy word wrap keeping each word's colour; returns lines of (word, colour, x)."""
    lines: list[list[tuple[str, tuple[int, int, int] | None, float]]] = [[]]
    x = 0.0
    space = font.getlength(" ")
    for text, colour in segments:
        words = text.split(" ")
        for k, word in enumerate(words):
            if k > 0:
                x += space
            if not word:
                continue
            length = font.getlength(word)
            if x + length > width and lines[-1]:
                lines.append([])
                x = 0.0
            lines[-1].append((word, colour, x))
            x += length
    return lines


def render_caption(sample: Sample, width: int, font_size: int = 18) -> Image.Image:
    """A white panel with the title line and the caption wrapped, phrases in their colours."""
    font = _font(font_size)
    small = _font(max(10, font_size - 4))
    margin = 12
    line_height = int(font_size * 1.45)
    segments = (caption_segments(sample) if sample.caption_ann is not None
                else [("(no caption)", None)])
    lines = _layout_words(segments, font, width - 2 * margin)
    height = margin * 2 + line_height * (len(lines) + 1)
    panel = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(panel)
    title = (f"{sample.split} / {sample.image_id}  {sample.file_name}  "
             f"{sample.data_source or ''}  {len(sample.regions)} masks, "
             f"{len(sample.phrases)} phrases")
    draw.text((margin, margin), title, fill=(90, 90, 90), font=small)
    for row, line in enumerate(lines, start=1):
        y = margin + row * line_height
        for word, colour, x in line:
            if colour is None:
                draw.text((margin + x, y), word, fill=(20, 20, 20), font=font)
            else:
                draw.text((margin + x, y), word, fill=colour, font=font)
                underline_y = y + font_size + 2
                draw.line((margin + x, underline_y, margin + x + font.getlength(word),
                           underline_y), fill=colour, width=2)
    return panel


def render_sample(sample: Sample, images_dir: str | os.PathLike | None = None,
                  min_width: int = MIN_WIDTH) -> Image.Image:
    """Overlay on top, caption panel below; scaled up so the picture is at least ``min_width``."""
    overlay = render_overlay(sample, images_dir)
    if overlay.width < min_width:
        scale = min_width / overlay.width
        overlay = overlay.resize((min_width, round(overlay.height * scale)),
                                 Image.Resampling.LANCZOS)
    panel = render_caption(sample, overlay.width)
    picture = Image.new("RGB", (overlay.width, overlay.height + panel.height), (255, 255, 255))
    picture.paste(overlay, (0, 0))
    picture.paste(panel, (0, overlay.height))
    return picture


def image_format(output: str | os.PathLike) -> str:
    """The Pillow format for ``output``'s suffix (PNG or JPEG), or a clear error."""
    suffix = Path(output).suffix.lower()
    if suffix not in IMAGE_FORMATS:
        raise InvalidDataError(f"cannot write {output}: the file name must end in "
                               f"{', '.join(IMAGE_FORMATS)} (PNG or JPEG)")
    return IMAGE_FORMATS[suffix]


def save_picture(picture: Image.Image, output: str | os.PathLike) -> Path:
    """Write ``picture`` as PNG or JPEG (by suffix), atomically."""
    output = Path(output)
    kind = image_format(output)
    with atomic_path(output) as tmp:
        picture.save(tmp, format=kind, **({"quality": 92} if kind == "JPEG" else {}))
    return output


def show(sample: Sample, output: str | os.PathLike,
         images_dir: str | os.PathLike | None = None) -> Path:
    """Render one sample to ``output``: PNG or JPEG by its suffix (written atomically)."""
    image_format(output)
    return save_picture(render_sample(sample, images_dir), output)


def _png_data_uri(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _caption_html(sample: Sample) -> str:
    if sample.caption_ann is None:
        return '<p class="caption missing">(no caption)</p>'
    parts = []
    for text, colour in caption_segments(sample):
        if colour is None:
            parts.append(html.escape(text))
        else:
            parts.append(f'<span class="phrase" style="color: rgb{colour}; border-color: '
                         f'rgb{colour}">{html.escape(text)}</span>')
    return f'<p class="caption">{"".join(parts)}</p>'


def _phrase_rows(sample: Sample) -> str:
    rows = []
    for phrase, slot in zip(sample.phrases, colour_slots(sample)[0], strict=True):
        names = ", ".join(
            f"{i}: {html.escape(str(sample.regions[i].category_name))}"
            if 0 <= i < len(sample.regions) else f"{i}: (out of range)"
            for i in phrase.mask_indices)
        rows.append(f'<tr><td><span class="swatch" style="background: rgb'
                    f'{phrase_colour(slot)}"></span>{phrase.index}</td>'
                    f'<td>{html.escape(phrase.text)}</td><td>{phrase.start}–{phrase.end}</td>'
                    f'<td>{names}</td></tr>')
    return "".join(rows)


def _region_rows(sample: Sample) -> str:
    return "".join(
        f"<tr><td>{r.index}</td><td>{html.escape(str(r.id))}</td>"
        f"<td>{html.escape(str(r.category_name))}</td><td>{html.escape(str(r.thing_or_stuff))}"
        f"</td><td>{r.area}</td><td>{html.escape(str(r.bbox))}</td>"
        f"<td>{', '.join(map(str, r.phrase_indices)) or '—'}</td></tr>"
        for r in sample.regions)


STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }
.sample { border-top: 1px solid #ccc; padding: 1em 0; }
.sample img { max-width: 100%; display: block; }
.caption { font-size: 1.15em; line-height: 1.6; }
.phrase { font-weight: bold; border-bottom: 2px solid; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 4px; }
.summary td:first-child { font-weight: bold; }
details.problems summary h2 { display: inline; }
"""


def problems_html(problems: Sequence[dict[str, str]], title: str, limit: int = 200,
                  open_up_to: int = 10) -> str:
    """A collapsible table of problems (``image_id``, ``kind``/``code``, ``message``), the first
    ``limit`` of them; open when there are at most ``open_up_to``."""
    if not problems:
        return ""
    rows = "".join(f"<tr><td>{html.escape(p.get('image_id', ''))}</td>"
                   f"<td>{html.escape(p.get('kind') or p.get('code', ''))}</td>"
                   f"<td>{html.escape(p['message'])}</td></tr>" for p in problems[:limit])
    more = (f"<p>… and {len(problems) - limit} more</p>" if len(problems) > limit else "")
    state = " open" if len(problems) <= open_up_to else ""
    return (f'<details class="problems"{state}><summary><h2>{html.escape(title)} '
            f"({len(problems)})</h2></summary><table><tr><th>image</th><th>kind</th>"
            f"<th>message</th></tr>{rows}</table>{more}</details>")


def report_html(samples: Iterable[Sample], title: str,
                images_dir: str | os.PathLike | None = None,
                summary: Sequence[tuple[str, object]] = (),
                problems: Sequence[dict[str, str]] = ()) -> str:
    """A self-contained HTML page (pictures inlined as data URIs) for ``samples``, after the
    summary and the listed validation ``problems`` (``Problem.to_dict()`` rows)."""
    sections = []
    for sample in samples:
        overlay = render_overlay(sample, images_dir)
        sections.append(
            f'<section class="sample" id="{html.escape(sample.image_id)}">'
            f"<h2>{html.escape(sample.image_id)} <small>{html.escape(sample.file_name)} · "
            f"{html.escape(str(sample.data_source))} · {sample.width}×{sample.height}</small></h2>"
            f'<img alt="masks of {html.escape(sample.image_id)}" src="{_png_data_uri(overlay)}">'
            f"{_caption_html(sample)}"
            "<table class=\"phrases\"><tr><th>phrase</th><th>text</th><th>span</th>"
            f"<th>masks</th></tr>{_phrase_rows(sample)}</table>"
            "<table class=\"regions\"><tr><th>mask</th><th>id</th><th>category</th>"
            "<th>thing/stuff</th><th>area</th><th>bbox</th><th>phrases</th></tr>"
            f"{_region_rows(sample)}</table></section>")
    summary_rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td>"
                           "</tr>" for k, v in summary)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><table class=\"summary\">{summary_rows}</table>"
            f"{problems_html(problems, 'Validation errors')}"
            f"{''.join(sections)}</body></html>\n")


def select_samples(split: PanoCapsSplit, image_ids: Sequence[str] | None = None,
                   limit: int | None = None) -> list[Sample]:
    """The samples named by ``image_ids`` (in that order), or the first ``limit`` of the split."""
    if image_ids:
        return [split[image_id] for image_id in image_ids]
    count = len(split) if limit is None else min(limit, len(split))
    if count == 0:
        raise InvalidDataError(f"PanoCaps split '{split.name}' has no images to show")
    return [split[i] for i in range(count)]


def write_report(split: PanoCapsSplit, output: str | os.PathLike,
                 image_ids: Sequence[str] | None = None, limit: int | None = 50,
                 images_dir: str | os.PathLike | None = None,
                 summary: Sequence[tuple[str, object]] = (),
                 problems: Sequence[dict[str, str]] = ()) -> Path:
    """Write the HTML report of a split's samples (atomically); return its path."""
    samples = select_samples(split, image_ids, limit)
    title = f"PanoCaps {split.name}: {len(samples)} of {len(split)} images"
    output = Path(output)
    atomic_write_text(output, report_html(samples, title, images_dir, summary, problems))
    return output
