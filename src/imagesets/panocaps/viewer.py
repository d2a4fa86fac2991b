"""The prediction viewer: ground truth and prediction side by side, per image, from the evaluator.

:func:`compare` runs :func:`~imagesets.panocaps.evaluation.evaluate` and pairs each image's
score with its sample and its aligned predicted masks. Ground-truth entity ``i`` gets palette
colour ``i``; a predicted entity matched to it (a true positive) gets the same colour, other
predictions are false positives (drawn in :data:`FP_COLOUR`, labelled ``FP``); an entity
without a true positive is missed. :func:`write_prediction_report` writes one self-contained
HTML page (inline JPEGs, loaded as they scroll into view; filters in plain JavaScript, kept in
the address's ``#source=…&kind=…&number=…&failures=1``), worst image first by per-image gPQ;
:func:`show_prediction` draws one image's comparison to a file.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from .. import masks as mask_ops
from ..fsutil import atomic_write_text
from .evaluation import EvaluationResult, ImageScore, evaluate
from .evaluation.predictions import (
    PredictionProblem,
    PredictionSource,
    check_prediction,
    open_predictions,
    read_prediction,
)
from .evaluation.protocol import expand_phrases
from .split import PanoCapsSplit, Sample, first_wins_map, resize_nearest
from .visualize import (
    _font,
    _layout_words,
    image_format,
    load_base_image,
    paint,
    phrase_colour,
    problems_html,
    save_picture,
)

FP_COLOUR = (255, 0, 0)
MISSED_STYLE = "missed"
THUMB_WIDTH = 480
EAGER_CARDS = 3
"""Cards whose pictures are in the page's ``src`` from the start; later ones load when they
scroll near the view (``data-src``), so a 980-image page opens at once."""


@dataclass
class Comparison:
    """One image: its sample, its score, and the kept predicted masks (``score.kept`` order)."""

    sample: Sample
    score: ImageScore
    pred_rles: list[dict[str, Any]]

    @property
    def gpq(self) -> float | None:
        """Per-image gPQ (sum of IoU·sim over TPs / (TP + (FP + FN)/2)); None if not scored."""
        if not self.score.evaluated:
            return None
        score = self.score
        denominator = score.tp + 0.5 * (score.fp + score.fn)
        if denominator == 0:
            return 1.0
        return sum(iou * sim for _, _, iou, sim, ok in score.matches if ok) / denominator

    def entity_status(self) -> list[dict[str, Any]]:
        """Per ground-truth entity: phrases, kind, single/plural, its assigned prediction."""
        gt = self.score.gt
        assigned = {g: (d, iou, sim, ok) for g, d, iou, sim, ok in self.score.matches}
        rows = []
        for entity, (phrases, kind, plural) in enumerate(zip(
                gt.labels, gt.kinds, gt.plural or [False] * len(gt.labels), strict=True)):
            d, iou, sim, ok = assigned.get(entity, (None, None, None, False))
            rows.append({"entity": entity, "phrases": phrases, "kind": kind or "unknown",
                         "number": "plural" if plural else "single", "pred": d, "iou": iou,
                         "sim": sim, "matched": ok})
        return rows

    def pred_status(self) -> list[dict[str, Any]]:
        """Per kept prediction: phrases and the entity it matched (None = false positive)."""
        matched = {d: g for g, d, _, _, ok in self.score.matches if ok}
        return [{"pred": d, "phrases": labels, "entity": matched.get(d)}
                for d, labels in enumerate(self.score.kept_labels)]

    def pred_colours(self) -> list[tuple[int, int, int]]:
        return [FP_COLOUR if row["entity"] is None else phrase_colour(row["entity"])
                for row in self.pred_status()]


def _aligned_masks(source: PredictionSource, image_id: str) -> list[dict[str, Any]]:
    """The predicted masks the evaluator aligned with phrases (cut to the shorter list)."""
    located = source.locate(image_id)
    if located is None:
        return []
    try:
        _, phrases, counts, rles = check_prediction(read_prediction(located, image_id),
                                                    source.where(image_id))
    except PredictionProblem:
        return []
    return list(rles[:min(len(expand_phrases(phrases, counts)), len(rles))])


def compare(split: PanoCapsSplit, predictions: str | os.PathLike,
            result: EvaluationResult | None = None, **evaluate_options: Any
            ) -> tuple[EvaluationResult, list[Comparison]]:
    """Evaluate ``predictions`` on ``split`` (or take ``result``) and pair every image's score
    with its sample and kept predicted masks, in split order."""
    if result is None:
        result = evaluate(ground_truth=split, predictions=predictions, **evaluate_options)
    source = open_predictions(predictions, split.image_ids)
    comparisons = []
    for score in result.images:
        sample = split[score.gt.image_id]
        aligned = _aligned_masks(source, sample.image_id) if score.evaluated else []
        comparisons.append(Comparison(sample, score, [aligned[d] for d in score.kept
                                                      if d < len(aligned)]))
    return result, comparisons


def _draw_labels(picture: Image.Image, stack: np.ndarray, names: Sequence[str]) -> None:
    """Write each mask's name at its point farthest from the mask's edge (black on white)."""
    draw = ImageDraw.Draw(picture)
    font = _font(max(12, picture.width // 40))
    from scipy import ndimage

    for mask, name in zip(stack, names, strict=True):
        found = ndimage.find_objects(mask.astype(np.uint8))
        if not found:
            continue
        rows, cols = found[0]
        inside = ndimage.distance_transform_edt(np.pad(mask[rows, cols], 1))[1:-1, 1:-1]
        y, x = np.unravel_index(int(np.argmax(inside)), inside.shape)
        x, y = x + cols.start, y + rows.start                # the point deepest inside the mask
        box = draw.textbbox((x, y), name, font=font, anchor="mm")
        draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(255, 255, 255))
        draw.text((x, y), name, fill=(0, 0, 0), font=font, anchor="mm")


def _canvas(sample: Sample, images_dir: str | os.PathLike | None, width: int | None
            ) -> tuple[Image.Image, tuple[int, int] | None]:
    """The base picture, scaled down to ``width`` when wider, and the size masks must take."""
    base, _ = load_base_image(sample, images_dir)
    if width is None or base.width <= width:
        return base, None
    size = (max(1, round(base.height * width / base.width)), width)
    return base.resize((size[1], size[0]), Image.Resampling.BILINEAR), size


def _fit(array: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    return array if size is None else resize_nearest(array, size)


def render_ground_truth(comparison: Comparison, images_dir: str | os.PathLike | None = None,
                        width: int | None = None) -> Image.Image:
    """The image with ground-truth entity ``i`` in colour ``i`` and labelled with its number;
    masks no entity uses are outlined in white. ``width``: draw at most this wide."""
    sample = comparison.sample
    base, size = _canvas(sample, images_dir, width)
    stack = _fit(sample.masks(), size)
    labels = first_wins_map(stack) + 1 if len(stack) else np.zeros(
        (base.height, base.width), dtype=np.int32)
    indices = comparison.score.gt.mask_indices
    picture = paint(base, labels, {m + 1: phrase_colour(e) for e, m in enumerate(indices)})
    if indices:
        _draw_labels(picture, stack[indices], [str(e) for e in range(len(indices))])
    return picture


def render_prediction(comparison: Comparison, images_dir: str | os.PathLike | None = None,
                      width: int | None = None) -> Image.Image:
    """The image with each kept predicted mask in its matched entity's colour (labelled with
    that entity's number), false positives in red labelled ``FP``."""
    sample = comparison.sample
    base, size = _canvas(sample, images_dir, width)
    if not comparison.pred_rles:
        return base
    stack = _fit(mask_ops.decode_stack(comparison.pred_rles,
                                       f"predictions for {sample.image_id}"), size)
    colours = comparison.pred_colours()
    picture = paint(base, first_wins_map(stack) + 1,
                    {d + 1: colour for d, colour in enumerate(colours)})
    _draw_labels(picture, stack, ["FP" if row["entity"] is None else str(row["entity"])
                                  for row in comparison.pred_status()])
    return picture


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def gt_caption_pieces(comparison: Comparison) -> list[tuple[str, tuple[int, int, int] | None]]:
    """The ground-truth caption cut into (text, colour): each tagged phrase in the colour of
    the entity of its first mask, the rest uncoloured."""
    sample = comparison.sample
    entity_of = {m: e for e, m in enumerate(comparison.score.gt.mask_indices)}
    text = sample.parsed_caption.clean
    pieces: list[tuple[str, tuple[int, int, int] | None]] = []
    position = 0
    for phrase in sample.phrases:
        entity = next((entity_of[m] for m in phrase.mask_indices if m in entity_of), None)
        if phrase.start < position:
            continue
        pieces.append((text[position:phrase.start], None))
        pieces.append((text[phrase.start:phrase.end],
                       None if entity is None else phrase_colour(entity)))
        position = phrase.end
    pieces.append((text[position:], None))
    return [p for p in pieces if p[0]]


def pred_caption_pieces(comparison: Comparison) -> list[tuple[str, tuple[int, int, int] | None]]:
    """The predicted caption with each kept prediction's first phrase found in it (left to
    right) coloured like its masks."""
    text = comparison.score.pred_caption or ""
    colours = comparison.pred_colours()
    found: list[tuple[int, int, tuple[int, int, int]]] = []
    position = 0
    for row, colour in zip(comparison.pred_status(), colours, strict=True):
        for phrase in row["phrases"]:
            start = text.find(phrase, position)
            if start >= 0:
                found.append((start, start + len(phrase), colour))
                position = start + len(phrase)
                break
    pieces: list[tuple[str, tuple[int, int, int] | None]] = []
    position = 0
    for start, end, colour in found:
        pieces += [(text[position:start], None), (text[start:end], colour)]
        position = end
    pieces.append((text[position:], None))
    return [p for p in pieces if p[0]]


def _thumbnail(picture: Image.Image) -> str:
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _pieces_html(pieces: Sequence[tuple[str, tuple[int, int, int] | None]]) -> str:
    return "".join(html.escape(text) if colour is None else
                   f'<span class="phrase" style="color: rgb{colour}; border-color: '
                   f'rgb{colour}">{html.escape(text)}</span>' for text, colour in pieces)


def _swatch(colour: tuple[int, int, int]) -> str:
    return f'<span class="swatch" style="background: rgb{colour}"></span>'


def _card_html(comparison: Comparison, images_dir: str | os.PathLike | None,
               eager: bool = False) -> str:
    sample, score = comparison.sample, comparison.score
    gpq = comparison.gpq
    status = comparison.entity_status()
    preds = comparison.pred_status()
    kinds = sorted({row["kind"] for row in status})
    numbers = sorted({row["number"] for row in status})
    rows = []
    for row in status:
        pred_phrases = ("" if row["pred"] is None
                        else "; ".join(score.kept_labels[row["pred"]]))
        state = "matched" if row["matched"] else MISSED_STYLE
        rows.append(
            f'<tr class="{state}" data-kind="{html.escape(row["kind"])}" '
            f'data-number="{row["number"]}"><td>{_swatch(phrase_colour(row["entity"]))}'
            f'{row["entity"]}</td><td>{html.escape("; ".join(row["phrases"]))}</td>'
            f'<td>{html.escape(row["kind"])}</td><td>{row["number"]}</td>'
            f"<td>{html.escape(pred_phrases)}</td><td>{_fmt(row['iou'])}</td>"
            f"<td>{_fmt(row['sim'])}</td><td>{state}</td></tr>")
    for row in preds:
        if row["entity"] is None:
            rows.append(f'<tr class="fp" data-kind="" data-number=""><td>{_swatch(FP_COLOUR)}'
                        f'FP</td><td>–</td><td></td><td></td>'
                        f'<td>{html.escape("; ".join(row["phrases"]))}</td><td></td><td></td>'
                        "<td>false positive</td></tr>")
    problem = (f'<p class="problem">{html.escape(score.problem)}</p>' if score.problem
               else "")
    tp, fp, fn = (score.tp, score.fp, score.fn) if score.evaluated else (0, 0, 0)
    source = "src" if eager else "data-src"
    pictures = (
        f'<figure><img alt="ground truth of {html.escape(sample.image_id)}" '
        f'{source}="{_thumbnail(render_ground_truth(comparison, images_dir, THUMB_WIDTH))}">'
        "<figcaption>ground truth</figcaption></figure>"
        f'<figure><img alt="prediction for {html.escape(sample.image_id)}" '
        f'{source}="{_thumbnail(render_prediction(comparison, images_dir, THUMB_WIDTH))}">'
        "<figcaption>prediction</figcaption></figure>")
    sample.release_masks()                 # a 980-image page keeps no decoded masks around
    return (
        f'<section class="card" id="img-{html.escape(sample.image_id)}" '
        f'data-source="{html.escape(str(sample.data_source))}" '
        f'data-kinds="{" ".join(kinds)}" data-numbers="{" ".join(numbers)}" '
        f'data-failed="{int(bool(fp or fn) or not score.evaluated)}" '
        f'data-tp="{tp}" data-fp="{fp}" data-fn="{fn}">'
        f"<h2>{html.escape(sample.image_id)} <small>{html.escape(sample.file_name)} · "
        f"{html.escape(str(sample.data_source))} · gPQ {_fmt(gpq)} · "
        f'<span class="count">matched <b class="tp">{tp}</b> · missed <b class="fn">{fn}</b>'
        f' · false positives <b class="fp">{fp}</b></span></small></h2>{problem}'
        f'<div class="pair">{pictures}</div>'
        f'<p class="caption"><b>GT:</b> {_pieces_html(gt_caption_pieces(comparison))}</p>'
        f'<p class="caption"><b>Pred:</b> {_pieces_html(pred_caption_pieces(comparison))}</p>'
        "<table class=\"entities\"><tr><th>entity</th><th>GT phrases</th><th>thing/stuff</th>"
        "<th>single/plural</th><th>predicted phrases</th><th>IoU</th><th>sim</th>"
        f"<th>status</th></tr>{''.join(rows)}</table></section>")


STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
.card { border-top: 1px solid #ccc; padding: 0.8em 0; content-visibility: auto;
        contain-intrinsic-size: auto 700px; }
.card[hidden] { display: none; }
.pair { display: flex; gap: 12px; flex-wrap: wrap; }
figure { margin: 0; } figure img { width: 480px; max-width: 100%; min-height: 60px;
         background: #eee; display: block; }
figcaption { font-size: 0.85em; color: #666; }
.caption { line-height: 1.6; max-width: 980px; }
.phrase { font-weight: bold; border-bottom: 2px solid; }
table { border-collapse: collapse; margin: 0.4em 0; font-size: 0.88em; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; }
tr.missed td:last-child { color: #b00; font-weight: bold; }
tr.fp td:last-child { color: #f00; font-weight: bold; }
tr.matched td:last-child { color: #070; }
tr[hidden] { display: none; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 4px; }
.filters { position: sticky; top: 0; background: #fff; padding: 0.5em 0; z-index: 1;
           border-bottom: 1px solid #ccc; }
.problem { color: #b00; }
.summary td:first-child { font-weight: bold; }
details.problems summary h2 { display: inline; font-size: 1.2em; }
"""

SCRIPT = """
(function () {
  var cards = Array.prototype.slice.call(document.querySelectorAll('section.card'));
  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (!entry.isIntersecting) { return; }
      entry.target.querySelectorAll('img[data-src]').forEach(function (img) {
        img.src = img.getAttribute('data-src'); img.removeAttribute('data-src');
      });
      observer.unobserve(entry.target);
    });
  }, {rootMargin: '800px'});
  cards.forEach(function (card) { observer.observe(card); });
  function value(id) { return document.getElementById(id).value; }
  function apply() {
    var source = value('f-source'), kind = value('f-kind'), number = value('f-number');
    var failures = document.getElementById('f-failures').checked;
    var shown = 0, tp = 0, fn = 0, fp = 0;
    cards.forEach(function (card) {
      var ok = (!source || card.dataset.source === source)
        && (!kind || card.dataset.kinds.split(' ').indexOf(kind) >= 0)
        && (!number || card.dataset.numbers.split(' ').indexOf(number) >= 0)
        && (!failures || card.dataset.failed === '1');
      card.hidden = !ok;
      card.querySelectorAll('tr[data-kind]').forEach(function (row) {
        row.hidden = (kind && row.dataset.kind !== kind)
          || (number && row.dataset.number !== number);
      });
      if (ok) {
        shown += 1; tp += +card.dataset.tp; fn += +card.dataset.fn; fp += +card.dataset.fp;
      }
    });
    document.getElementById('shown').textContent =
      shown + ' of ' + cards.length + ' images shown: matched ' + tp + ', missed ' + fn +
      ', false positives ' + fp;
  }
  var keys = {source: 'f-source', kind: 'f-kind', number: 'f-number'};
  new URLSearchParams(location.hash.slice(1)).forEach(function (v, k) {
    if (keys[k]) { document.getElementById(keys[k]).value = v; }
    if (k === 'failures') { document.getElementById('f-failures').checked = v === '1'; }
  });
  function remember() {
    var state = new URLSearchParams();
    Object.keys(keys).forEach(function (k) {
      if (value(keys[k])) { state.set(k, value(keys[k])); }
    });
    if (document.getElementById('f-failures').checked) { state.set('failures', '1'); }
    history.replaceState(null, '', '#' + state.toString());
    apply();
  }
  ['f-source', 'f-kind', 'f-number', 'f-failures'].forEach(function (id) {
    document.getElementById(id).addEventListener('change', remember);
  });
  apply();
})();
"""


def _options(element_id: str, label: str, values: Sequence[str]) -> str:
    options = "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>'
                      for v in values)
    return (f'<label>{label} <select id="{element_id}"><option value="">all</option>'
            f"{options}</select></label> ")


def prediction_report_html(result: EvaluationResult, comparisons: Sequence[Comparison],
                           title: str, images_dir: str | os.PathLike | None = None,
                           validation: Sequence[dict[str, str]] = ()) -> str:
    """The self-contained viewer page: summary, problems, filters, then one card per image,
    worst gPQ first (images that were not scored last)."""
    ordered = sorted(comparisons, key=lambda c: (c.gpq is None, c.gpq if c.gpq is not None
                                                 else 0.0))
    counts = result.counts
    summary = [("split", result.settings.get("split")),
               ("predictions", result.settings.get("predictions")),
               ("mode", result.settings.get("mode")),
               ("text similarity", result.settings.get("text_similarity")),
               *((name, f"{value:.4f}") for name, value in result.metrics.items()),
               ("matched (TP)", counts["TP"]), ("missed (FN)", counts["FN"]),
               ("false positives (FP)", counts["FP"]),
               ("ground-truth entities", counts["gt_entities"]),
               ("evaluated images", f"{counts['evaluated_images']} of {counts['images']}")]
    summary_rows = "".join(
        f'<tr><td>{html.escape(str(k))}</td><td class="value" data-key="{html.escape(str(k))}">'
        f"{html.escape(str(v))}</td></tr>" for k, v in summary)
    sources = sorted({str(c.sample.data_source) for c in comparisons})
    kinds = sorted({row["kind"] for c in comparisons for row in c.entity_status()})
    filters = ('<div class="filters">' + _options("f-source", "source", sources)
               + _options("f-kind", "thing/stuff", kinds)
               + _options("f-number", "single/plural", ["single", "plural"])
               + '<label><input type="checkbox" id="f-failures"> only failures</label> '
               '<span id="shown"></span></div>')
    cards = "".join(_card_html(c, images_dir, eager=n < EAGER_CARDS)
                    for n, c in enumerate(ordered))
    data = html.escape(json.dumps({"counts": counts, "metrics": result.metrics}))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f'<h1>{html.escape(title)}</h1><table class="summary" data-result="{data}">'
            f"{summary_rows}</table>"
            f"{problems_html(result.problems, 'Evaluation problems')}"
            f"{problems_html(list(validation), 'Validation errors')}"
            f"{filters}{cards}<script>{SCRIPT}</script></body></html>\n")


def write_prediction_report(split: PanoCapsSplit, predictions: str | os.PathLike,
                            output: str | os.PathLike,
                            images_dir: str | os.PathLike | None = None,
                            result: EvaluationResult | None = None,
                            validation: Sequence[dict[str, str]] = (),
                            **evaluate_options: Any) -> Path:
    """Evaluate ``predictions`` on ``split`` and write the viewer page to ``output``
    (atomically). ``evaluate_options`` go to :func:`evaluate` (``text_sim``, ``mode``, …);
    ``validation`` lists problems to show (``Problem.to_dict()`` rows)."""
    result, comparisons = compare(split, predictions, result, **evaluate_options)
    title = (f"PanoCaps {split.name}: predictions {Path(predictions).name} "
             f"({len(comparisons)} images)")
    output = Path(output)
    atomic_write_text(output, prediction_report_html(result, comparisons, title, images_dir,
                                                     validation))
    return output


def render_comparison(comparison: Comparison, images_dir: str | os.PathLike | None = None,
                      width: int = 1280) -> Image.Image:
    """Ground truth | prediction side by side, the two captions and one line per entity."""
    half = width // 2 - 6
    left = render_ground_truth(comparison, images_dir, half)
    right = render_prediction(comparison, images_dir, half)
    if left.width < half:
        size = (half, round(left.height * half / left.width))
        left, right = (p.resize(size, Image.Resampling.LANCZOS) for p in (left, right))
    size = left.size
    font, small = _font(18), _font(15)
    lines: list[tuple[list[tuple[str, tuple[int, int, int] | None]], Any]] = [
        ([("Ground truth: ", None), *gt_caption_pieces(comparison)], font),
        ([("Prediction: ", None), *pred_caption_pieces(comparison)], font)]
    score = comparison.score
    for row in comparison.entity_status():
        state = "matched" if row["matched"] else "MISSED"
        pred = ("" if row["pred"] is None
                else " <-> " + "; ".join(score.kept_labels[row["pred"]]))
        lines.append(([(f"{row['entity']} {'; '.join(row['phrases'])}",
                        phrase_colour(row["entity"])),
                       (f"{pred}  IoU {_fmt(row['iou'])} sim {_fmt(row['sim'])}  {state}",
                        None)], small))
    for row in comparison.pred_status():
        if row["entity"] is None:
            lines.append(([(f"FP {'; '.join(row['phrases'])}", FP_COLOUR)], small))
    laid = [(_layout_words(pieces, f, width - 24), f) for pieces, f in lines]
    text_height = sum(len(rows) * int(f.size * 1.45) for rows, f in laid) + 60
    picture = Image.new("RGB", (width, size[1] + text_height), (255, 255, 255))
    picture.paste(left, (0, 0))
    picture.paste(right, (width - half, 0))
    draw = ImageDraw.Draw(picture)
    gpq = comparison.gpq
    title = (f"{comparison.sample.split} / {comparison.sample.image_id}  gPQ {_fmt(gpq)}  "
             f"matched {score.tp if score.evaluated else 0}  missed "
             f"{score.fn if score.evaluated else 0}  false positives "
             f"{score.fp if score.evaluated else 0}   (left: ground truth, right: prediction)")
    y = size[1] + 12
    draw.text((12, y), title, fill=(90, 90, 90), font=small)
    y += 28
    for rows, f in laid:
        for row in rows:
            for word, colour, x in row:
                draw.text((12 + x, y), word, fill=colour or (20, 20, 20), font=f)
            y += int(f.size * 1.45)
    return picture


def show_prediction(split: PanoCapsSplit, predictions: str | os.PathLike, image_id: str,
                    output: str | os.PathLike, images_dir: str | os.PathLike | None = None,
                    **evaluate_options: Any) -> tuple[Path, Comparison]:
    """Draw the comparison of one image (scored within the whole split) to a PNG/JPEG."""
    image_format(output)
    split[image_id]                                 # a clear error for an unknown id, first
    _, comparisons = compare(split, predictions, **evaluate_options)
    comparison = next(c for c in comparisons if c.sample.image_id == image_id)
    return save_picture(render_comparison(comparison, images_dir), output), comparison
