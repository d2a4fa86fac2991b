"""The per-image resize: sizes, each ImageNet quirk, draft() decoding, fast-path quality."""

from __future__ import annotations

import io
import shutil
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from imagesets.errors import MissingDependencyError
from imagesets.ilsvrc2012 import raw256
from imagesets.ilsvrc2012.raw256 import (
    decode_rgb,
    draft_factor,
    resample_array,
    resize_bytes,
    target_size,
)

from .images import camera_like, cmyk_jpeg, decode, encode, gray_jpeg, jpeg, mad, naive, png

BACKENDS = ("fast", "pillow")


def reference(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Full-resolution Pillow Lanczos resize of the uncompressed pixels: the quality reference."""
    return np.asarray(Image.fromarray(pixels).resize(size, Image.LANCZOS), dtype=np.int16)


def assert_as_faithful_as_naive(out: bytes, data: bytes, pixels: np.ndarray,
                                quality: int = 90) -> None:
    """Our output is within 0.3 grey levels of the naive path's error against the reference;
    most of either error is the JPEG encoding of noisy content."""
    expected = reference(pixels, (341, 256))
    assert mad(decode(out), expected) < mad(naive(data, (341, 256), quality), expected) + 0.3


@pytest.mark.parametrize(("size", "expected"), [
    ((500, 375), (341, 256)), ((375, 500), (256, 341)), ((256, 256), (256, 256)),
    ((4288, 2848), (385, 256)), ((200, 150), (341, 256)), ((30, 900), (256, 7680))])
def test_target_size_short_side_256_long_side_truncated(size, expected):
    assert target_size(*size) == expected


@pytest.mark.parametrize(("size", "factor"), [
    ((500, 375), 1), ((1023, 600), 2), ((1024, 768), 2), ((1400, 1050), 4), ((4288, 2848), 8)])
def test_draft_factor_only_when_source_is_at_least_twice_the_target(size, factor):
    assert draft_factor(*size, target_size(*size)) == factor


@pytest.mark.parametrize("backend", BACKENDS)
def test_camera_jpeg_matches_lanczos_reference(backend):
    pixels = camera_like()
    data = encode(pixels, quality=95)
    out, decoded = resize_bytes(data, quality=95, backend=backend)
    assert decode(out).shape == (256, 341, 3)
    assert decoded.kind == "jpeg" and decoded.original == (500, 375)
    assert_as_faithful_as_naive(out, data, pixels, quality=95)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cmyk_jpeg_becomes_rgb_with_the_right_colours(backend):
    pixels = camera_like()
    data = cmyk_jpeg()
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    out, decoded = resize_bytes(data, backend=backend)
    result = decode(out)
    assert decoded.kind == "cmyk"
    assert_as_faithful_as_naive(out, data, pixels)
    red = result[10:80, 230:330].reshape(-1, 3).mean(axis=0)  # the red block, top right
    assert red[0] > 180 and red[1] < 90 and red[2] < 90


@pytest.mark.parametrize("backend", BACKENDS)
def test_png_named_jpeg_is_decoded_and_written_as_jpeg(backend):
    pixels = camera_like()
    data = png()
    out, decoded = resize_bytes(data, backend=backend)
    assert out[:2] == b"\xff\xd8"
    assert decoded.kind == "png"
    assert_as_faithful_as_naive(out, data, pixels)


def test_rgba_png_is_flattened_on_white():
    pixels = np.zeros((300, 400, 4), dtype=np.uint8)
    pixels[:, :200] = (0, 0, 255, 255)   # opaque blue left half, transparent right half
    out, _ = resize_bytes(encode(Image.fromarray(pixels, "RGBA"), "PNG"))
    result = decode(out)
    assert np.abs(result[:, :100] - (0, 0, 255)).max() < 12
    assert np.abs(result[:, -100:] - 255).max() < 12


@pytest.mark.parametrize("backend", BACKENDS)
def test_grayscale_becomes_three_equal_channels(backend):
    gray = np.asarray(Image.fromarray(camera_like()).convert("L"))
    data = gray_jpeg()
    out, decoded = resize_bytes(data, backend=backend)
    result = decode(out)
    assert decoded.kind == "grayscale" and result.shape == (256, 341, 3)
    assert np.abs(result[..., 0] - result[..., 1]).max() <= 3
    assert np.abs(result[..., 1] - result[..., 2]).max() <= 3
    assert_as_faithful_as_naive(out, data, np.repeat(gray[..., None], 3, axis=2))


@pytest.mark.parametrize("backend", BACKENDS)
def test_small_images_are_upscaled_to_256(backend):
    pixels = camera_like(200, 150)
    data = encode(pixels, quality=95)
    out, decoded = resize_bytes(data, quality=95, backend=backend)
    assert decode(out).shape == (256, 341, 3) and decoded.original == (200, 150)
    assert_as_faithful_as_naive(out, data, pixels, quality=95)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("data", "message"), [
    (jpeg()[:20000], "truncated"), (b"this is not an image", "cannot identify"),
    (b"", "cannot identify")])
def test_corrupt_files_raise(backend, data, message):
    with pytest.raises(OSError, match=message):
        resize_bytes(data, backend=backend)


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(("size", "reduced"), [((1600, 1200), (400, 300)),
                                               ((1024, 768), (512, 384))])
def test_draft_decoding_matches_full_decode_plus_resize(fast, size, reduced):
    data = encode(camera_like(*size, seed=3), quality=95)
    decoded = decode_rgb(data, fast=fast)
    small = np.asarray(decoded.image)
    assert (small.shape[1], small.shape[0]) == reduced  # decoded smaller, in the DCT domain
    target = target_size(*size)
    resized = (resample_array(small, target) if fast
               else np.asarray(Image.fromarray(small).resize(target, Image.LANCZOS)))
    full = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert mad(resized, reference(full, target)) < 1.5


def grating(period: float, width: int = 500, height: int = 375) -> np.ndarray:
    """Vertical stripes at ``period`` pixels: above the output's Nyquist rate when < 2.93."""
    row = 127.5 + 127.5 * np.cos(2 * np.pi * np.arange(width) / period)
    return np.repeat(np.clip(row, 0, 255).astype(np.uint8)[None, :, None], height, 0).repeat(3, 2)


@pytest.mark.parametrize("period", [2.0, 2.2, 2.5])
def test_fast_resample_attenuates_fine_gratings_that_sampling_passes(period):
    pixels = grating(period)
    ours = resample_array(pixels, (341, 256)).astype(np.float32)
    nearest = cv2.resize(pixels, (341, 256), interpolation=cv2.INTER_NEAREST).astype(np.float32)
    assert nearest.std() > 0.95 * pixels.std()  # the check can fail: sampling aliases
    assert ours.std() < 0.25 * pixels.std()


def test_fast_resample_keeps_what_the_output_can_show():
    pixels = grating(6.0)
    assert resample_array(pixels, (341, 256)).std() > 0.9 * pixels.std()


def test_fast_resample_is_within_a_grey_level_of_lanczos():
    errors = [mad(resample_array(p, (341, 256)), reference(p, (341, 256)))
              for p in (camera_like(seed=s) for s in range(4))]
    assert max(errors) < 1.0


def test_quality_option_trades_size_for_fidelity():
    pixels = camera_like()
    low, _ = resize_bytes(encode(pixels, quality=98), quality=60)
    high, _ = resize_bytes(encode(pixels, quality=98), quality=95)
    expected = reference(pixels, (341, 256))
    assert len(high) > len(low)
    assert mad(decode(high), expected) < mad(decode(low), expected)


@pytest.fixture()
def without_fast_extra(monkeypatch):
    """An environment where OpenCV cannot be imported (what a plain install sees)."""
    monkeypatch.setitem(sys.modules, "cv2", None)
    raw256._fast_modules.cache_clear()
    yield
    monkeypatch.undo()
    raw256._fast_modules.cache_clear()


def test_without_the_fast_extra_auto_falls_back_to_pillow(without_fast_extra):
    data = jpeg()
    assert not raw256.fast_available()
    with pytest.raises(MissingDependencyError, match=r"pip install 'imagesets\[fast\]'"):
        resize_bytes(data, backend="fast")
    out, decoded = resize_bytes(data)
    assert isinstance(decoded.image, Image.Image)  # decoded by Pillow
    assert out == resize_bytes(data, backend="pillow")[0]


@pytest.fixture()
def without_turbojpeg(monkeypatch):
    """PyTurboJPEG or libturbojpeg missing: the fast path decodes with simplejpeg to RGB."""
    monkeypatch.setattr(raw256, "_turbo", lambda: None)


@pytest.mark.parametrize("planes", [True, False])
@pytest.mark.parametrize("size", [(500, 375), (375, 500), (333, 499), (1024, 768), (200, 150)])
def test_yuv_plane_and_rgb_fast_paths_are_as_faithful_as_naive(planes, size, request):
    if not planes:
        request.getfixturevalue("without_turbojpeg")
    pixels = camera_like(*size, seed=size[0])
    data = encode(pixels, quality=95)
    out, decoded = resize_bytes(data, quality=95, backend="fast")
    assert (decoded.image is None) is planes  # None: resized on the YUV planes
    expected_size = target_size(*size)
    assert decode(out).shape == (expected_size[1], expected_size[0], 3)
    expected = reference(pixels, expected_size)
    assert mad(decode(out), expected) < mad(naive(data, expected_size, 95), expected) + 0.3


def test_yuv_plane_path_is_deterministic_and_keeps_gray_gray():
    data = jpeg(375, 500, seed=2)
    assert len({resize_bytes(data)[0] for _ in range(3)}) == 1
    out, decoded = resize_bytes(gray_jpeg())
    assert decoded.kind == "grayscale" and decoded.image is None
    result = decode(out)
    assert np.abs(result[..., 0] - result[..., 2]).max() <= 1


def sixteen_bit_png_rgb(pixels16: np.ndarray) -> bytes:
    """A 16-bit RGB PNG written with zlib and struct (Pillow cannot write one)."""
    import struct
    import zlib

    height, width, _ = pixels16.shape

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    rows = b"".join(b"\0" + row.astype(">u2").tobytes() for row in pixels16)
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["png-gray", "tiff-gray", "png-rgb"])
def test_16_bit_images_are_scaled_to_8_bits_not_clipped(backend, kind):
    pixels8 = camera_like(400, 300)
    gray8 = np.asarray(Image.fromarray(pixels8).convert("L"))
    if kind == "png-rgb":
        data = sixteen_bit_png_rgb(pixels8.astype(np.uint16) * 257)
        expected = pixels8
    else:
        image = Image.fromarray(gray8.astype(np.uint16) * 257)  # mode I;16
        assert image.mode == "I;16"
        data = encode(image, "PNG" if kind == "png-gray" else "TIFF")
        expected = np.repeat(gray8[..., None], 3, axis=2)
    if kind.startswith("png"):
        assert data[24] == 16  # IHDR bit depth: the file really is 16-bit
    else:
        with Image.open(io.BytesIO(data)) as check:
            assert check.mode == "I;16"
    out, _ = resize_bytes(data, backend=backend)
    result = decode(out)
    assert result.mean() < 200  # clipping made it white (255)
    assert mad(result, reference(expected, (341, 256))) < 6


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "the file is empty"), (b"GIF-ish but not", "not an image format Pillow reads")])
def test_unreadable_file_reason_names_no_python_object(data, reason):
    with pytest.raises(OSError, match=reason) as caught:
        resize_bytes(data)
    assert "BytesIO" not in str(caught.value) and "0x" not in str(caught.value)


def test_resize_file_remakes_a_folder_deleted_between_calls(tmp_path):
    from imagesets.ilsvrc2012.raw256 import ResizeJob, resize_file

    source = tmp_path / "a.JPEG"
    source.write_bytes(jpeg())
    target = tmp_path / "out" / "n01440764" / "a.JPEG"
    for _ in range(2):  # the same process (a notebook, a reused Ray worker) after rm -r out
        resize_file(ResizeJob(str(source), str(target)))
        assert decode(target.read_bytes()).shape == (256, 341, 3)
        assert [p.name for p in target.parent.iterdir()] == ["a.JPEG"]
        shutil.rmtree(tmp_path / "out")


@pytest.mark.parametrize("source", [(500, 375), (333, 499), (1001, 257), (257, 256), (200, 150)])
def test_chroma_planes_sample_the_luma_grid_as_an_affine_warp_does(source):
    """The chroma plane of an odd-sized output covers half a pixel more than its size says:
    pixel x samples (x + ½)·scale − ½, as an independently written affine warp does."""
    size = target_size(*source)
    chroma = (-(-size[0] // 2), -(-size[1] // 2))
    plane = cv2.GaussianBlur(np.random.default_rng(0).integers(
        0, 256, (-(-source[1] // 2), -(-source[0] // 2)), dtype=np.uint8), (0, 0), 2)
    scale = (source[0] / size[0], source[1] / size[1])
    blurred = cv2.sepFilter2D(plane, -1, raw256.lanczos_kernel(scale[0]),
                              raw256.lanczos_kernel(scale[1]), borderType=cv2.BORDER_REFLECT)
    matrix = np.float32([[scale[0], 0, scale[0] / 2 - 0.5], [0, scale[1], scale[1] / 2 - 0.5]])
    expected = cv2.warpAffine(blurred, matrix, chroma, borderMode=cv2.BORDER_REPLICATE,
                              flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
    ours = raw256._resample_scaled(plane, chroma, scale)
    assert ours.shape == expected.shape
    assert np.abs(ours.astype(int) - expected).max() <= 1
