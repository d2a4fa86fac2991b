"""The tag syntax: positions, spaces, spans in the clean caption, malformed tags."""

from __future__ import annotations

import pytest

from imagesets.panocaps import parse_tagged_caption, strip_tags


def test_single_and_multi_index_tags_give_text_indices_and_spans() -> None:
    parsed = parse_tagged_caption("<0:white tiled wall> and <0,3:two wooden chairs> here")
    assert parsed.clean == "white tiled wall and two wooden chairs here"
    assert [t.text for t in parsed.tags] == ["white tiled wall", "two wooden chairs"]
    assert [t.mask_indices for t in parsed.tags] == [(0,), (0, 3)]
    for tag in parsed.tags:
        assert parsed.clean[tag.start:tag.end] == tag.text
    assert (parsed.tags[1].start, parsed.tags[1].end) == (21, 38)
    assert parsed.malformed == ()


@pytest.mark.parametrize("tag", ["< 0 , 3 : two chairs >", "<0 ,3: two chairs>",
                                 "<0, 3 :two chairs>", "<  0,3  :  two chairs  >"])
def test_spaces_around_numbers_commas_and_colon(tag: str) -> None:
    parsed = parse_tagged_caption(f"See {tag}.")
    assert parsed.clean == "See two chairs."
    assert parsed.tags[0].mask_indices == (0, 3)
    assert (parsed.tags[0].start, parsed.tags[0].end) == (4, 14)
    assert parsed.tags[0].tag_start == 4
    assert parsed.tags[0].tag_end == 4 + len(tag)


def test_tag_spans_computed_independently_for_a_long_caption() -> None:
    texts = ["a grey sky", "three tall trees", "the road", "a red car", "the road"]
    indices = [[0], [1, 2, 5], [3], [4], [3]]
    parts = [f"<{','.join(map(str, i))}:{t}>" for i, t in zip(indices, texts, strict=True)]
    caption_ann = "Under " + " over ".join(parts) + " at dusk."
    expected_clean = "Under " + " over ".join(texts) + " at dusk."
    parsed = parse_tagged_caption(caption_ann)
    assert parsed.clean == expected_clean
    position = len("Under ")
    for tag, text, ids in zip(parsed.tags, texts, indices, strict=True):
        assert (tag.start, tag.end) == (position, position + len(text))
        assert tag.mask_indices == tuple(ids)
        position += len(text) + len(" over ")


def test_leading_zero_and_large_indices_are_integers() -> None:
    parsed = parse_tagged_caption("<007,12:x>")
    assert parsed.tags[0].mask_indices == (7, 12)


@pytest.mark.parametrize("text", ["a <b> c", "<0 wall>", "<:wall>", "<a,1:x>", "<0:unclosed"])
def test_malformed_angle_text_is_kept_and_listed(text: str) -> None:
    parsed = parse_tagged_caption(text)
    assert parsed.tags == ()
    assert parsed.clean == text
    assert len(parsed.malformed) == 1


def test_strip_tags_and_untagged_caption() -> None:
    assert strip_tags("no tags at all") == "no tags at all"
    assert strip_tags("<1:a>-<2:b>") == "a-b"
    assert parse_tagged_caption("").tags == ()
