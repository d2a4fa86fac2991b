"""Inline grounding tags of PanoCaps ``caption_ann``: ``<0:white tiled wall>``, ``<0,3:chairs>``.

A tag is ``<`` mask positions (0-based, comma-separated) ``:`` text ``>``; spaces may appear
around the numbers, the commas and the colon, and the text is taken without its surrounding
spaces. The numbers are positions in the image's list of mask annotations (file order), not
annotation ids. The j-th tag of a caption corresponds to ``label_matched[j]``. Replacing every
tag by its text gives the clean caption; :func:`parse_tagged_caption` also returns each tag's
character span in that clean caption.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAG_PATTERN = re.compile(r"<\s*(\d+(?:\s*,\s*\d+)*)\s*:\s*([^<>]*?)\s*>")
_ANGLE_PATTERN = re.compile(r"<[^<>]*>?")


@dataclass(frozen=True)
class Tag:
    """One inline tag: its text, the masks it names, and where it sits in both captions.

    ``start``/``end`` index the clean caption (``caption[start:end] == text``);
    ``tag_start``/``tag_end`` index the tagged caption (the whole ``<...>``).
    """

    text: str
    mask_indices: tuple[int, ...]
    start: int
    end: int
    tag_start: int
    tag_end: int


@dataclass(frozen=True)
class ParsedCaption:
    """A tagged caption taken apart: the clean text, its tags in order, and malformed ``<...>``."""

    clean: str
    tags: tuple[Tag, ...]
    malformed: tuple[str, ...]


def parse_tagged_caption(caption_ann: str) -> ParsedCaption:
    """Split ``caption_ann`` into the clean caption and its tags (with spans in the clean text).

    Text in angle brackets that is not a well-formed tag is kept verbatim in the clean caption
    and listed in ``malformed`` (the validator reports it).
    """
    pieces: list[str] = []
    tags: list[Tag] = []
    malformed: list[str] = []
    length = 0
    position = 0
    for match in TAG_PATTERN.finditer(caption_ann):
        before = caption_ann[position:match.start()]
        malformed.extend(m.group(0) for m in _ANGLE_PATTERN.finditer(before))
        pieces.append(before)
        length += len(before)
        text = match.group(2)
        indices = tuple(int(n) for n in match.group(1).split(","))
        tags.append(Tag(text, indices, length, length + len(text), match.start(), match.end()))
        pieces.append(text)
        length += len(text)
        position = match.end()
    rest = caption_ann[position:]
    malformed.extend(m.group(0) for m in _ANGLE_PATTERN.finditer(rest))
    pieces.append(rest)
    return ParsedCaption("".join(pieces), tuple(tags), tuple(malformed))


def strip_tags(caption_ann: str) -> str:
    """The clean caption: every tag replaced by its text."""
    return parse_tagged_caption(caption_ann).clean
