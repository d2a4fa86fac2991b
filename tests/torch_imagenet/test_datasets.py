"""imagesets.torch.ImageNet: ImageFolder's labels, PIL's pixels, torchvision's sampling,
DataLoader workers and DistributedSampler."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, DistributedSampler

import imagesets
from imagesets.errors import InvalidDataError, OutOfRangeError
from imagesets.torch import ImageNet
from imagesets.torch import decode as decoding
from imagesets.torch import transforms as T

from ..ilsvrc2012_raw256.images import (
    camera_like,
    cmyk_jpeg,
    encode,
    gray_jpeg,
    image_tree,
    jpeg,
    png,
    train_image,
)
from .helpers import full_tree, sorted_val, torchvision


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    root = tmp_path_factory.mktemp("full")
    tree = full_tree(root / "imagenet")
    home = root / "home"
    ds = imagesets.load("ilsvrc2012", data_dir=tree.root, home=home, verbose=False)
    return tree, ds


def test_labels_equal_imagefolder_on_train_and_sorted_val(full, tmp_path):
    tree, ds = full
    for set_name, folder in (("train", tree.root / "train"),
                             ("val", sorted_val(tree, tmp_path / "val_sorted"))):
        ours = ImageNet(ds, set_name)
        reference = torchvision("labels", str(folder))
        assert ours.classes == reference["classes"]
        ours_labels = {path.rsplit("/", 1)[1]: target for path, target in ours.samples}
        expected = {name: label for name, label in reference["labels"].items()
                    if name != "placeholder.JPEG"}
        assert ours_labels == expected
        assert len(set(ours_labels.values())) > 1  # the check can fail: labels differ
        image, target = ours[0]
        assert isinstance(image, Image.Image) and image.mode == "RGB"  # decode=auto, no transform
        assert target == ours.targets[0] == ours.class_to_idx[ours.classes[target]]


def test_raw256_dataset_reads_the_resized_copies(tmp_path):
    tree = image_tree(tmp_path / "imagenet", per_class=2, val_count=3)
    ds = imagesets.load("ilsvrc2012", task="raw256", data_dir=tree.root, home=tmp_path / "h",
                        verbose=False)
    data = ImageNet(ds, "val", transform=T.Compose([T.CenterCrop(224), T.ToTensor()]))
    image, target = data[-1]
    assert image.shape == (3, 224, 224) and image.dtype == torch.float32
    assert data.samples[-1][0].startswith(str(tree.root / "val256"))
    assert target == data.targets[-1]
    with pytest.raises(OutOfRangeError, match="out of range"):
        data[3]
    with pytest.raises(IndexError):
        data[-4]


@pytest.mark.parametrize("decoder", ["pyturbojpeg", "simplejpeg", "pillow"])
@pytest.mark.parametrize("kind", ["jpeg", "gray", "cmyk", "png"])
def test_decoded_pixels_equal_pil_within_one_grey_level(decoder, kind, monkeypatch):
    if decoder != "pyturbojpeg":
        monkeypatch.setattr(decoding, "_TURBO", decoding.LazyHandle(lambda: False))
    if decoder == "pillow":
        monkeypatch.setattr(decoding, "_simplejpeg", lambda: None)
    assert decoding.decoder_name() == decoder
    data = {"jpeg": jpeg, "gray": gray_jpeg, "cmyk": cmyk_jpeg, "png": png}[kind]()
    ours = decoding.decode_array(data).astype(np.int16)
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)
    assert ours.shape == expected.shape
    assert np.abs(ours - expected).max() <= 1


def test_dct_scaled_decoding_keeps_the_asked_short_side():
    data = encode(camera_like(1024, 768), quality=95)
    assert decoding.decode_array(data, min_size=256).shape == (288, 384, 3)  # 3/8
    assert decoding.decode_array(data, min_size=300).shape == (384, 512, 3)  # 1/2
    assert decoding.decode_array(data, min_size=150).shape == (192, 256, 3)  # 1/4
    assert decoding.decode_array(data).shape == (768, 1024, 3)


def test_corrupt_image_error_names_the_file(tmp_path):
    tree = image_tree(tmp_path / "imagenet", per_class=1, val_count=1)
    ds = imagesets.load("ilsvrc2012", data_dir=tree.root, home=tmp_path / "h", verbose=False)
    bad = train_image(tree, 0)
    bad.write_bytes(jpeg()[:5000])
    data = ImageNet(ds, "train", transform=T.ToTensor())
    with pytest.raises(InvalidDataError, match=f"cannot decode {bad}.*truncated"):
        data[0]


def test_random_crops_and_flips_are_torchvision_s_draws():
    expected = torchvision("crops", "7", "256", "341", "40")
    torch.manual_seed(7)
    crop, flip = T.RandomResizedCrop(224), T.RandomHorizontalFlip()
    marker = np.zeros((256, 341, 3), np.uint8)
    ours = [[*crop.get_params(256, 341), flip(marker) is not marker] for _ in range(40)]
    assert ours == expected
    assert len({tuple(box) for box in ours}) == 40 and 5 < sum(f for *_, f in ours) < 35


def test_transformed_pixels_are_close_to_torchvision_s(tmp_path):
    path = tmp_path / "photo.JPEG"
    path.write_bytes(encode(camera_like(341, 256), quality=95))
    torchvision("pixels", "3", str(path), str(tmp_path / "tv.npz"))
    reference = np.load(tmp_path / "tv.npz")
    pixels = decoding.decode_array(path.read_bytes())
    torch.manual_seed(3)
    train = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(False)])
    ours = np.stack([train(pixels).numpy() for _ in range(4)]).astype(np.float32)
    assert ours.shape == reference["train"].shape
    assert np.abs(ours - reference["train"]).mean() < 2.0
    evaluate = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(False)])
    assert np.abs(evaluate(pixels).numpy().astype(np.float32) - reference["eval"]).mean() < 1.0


def test_normalize_and_the_usual_pipelines():
    pixels = camera_like(341, 256)
    tensor = T.imagenet_eval()(pixels)
    assert tensor.shape == (3, 224, 224)
    manual = (torch.from_numpy(pixels[16:240, 58:282].transpose(2, 0, 1).copy()).float() / 255
              - torch.tensor(T.IMAGENET_MEAN).view(3, 1, 1)) / torch.tensor(T.IMAGENET_STD).view(
        3, 1, 1)
    assert torch.allclose(tensor, manual, atol=1e-5)
    assert T.imagenet_train()(pixels).shape == (3, 224, 224)
    assert T.imagenet_eval().decode_min_size == 256


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    tree = image_tree(root / "imagenet", per_class=4, val_count=4)
    return imagesets.load("ilsvrc2012", task="raw256", data_dir=tree.root, home=root / "h",
                          verbose=False)


def shift_target(target: int) -> int:
    return target + 1000


def test_dataloader_workers_persistent_and_pickled(small):
    data = ImageNet(small, "train", transform=T.Compose([T.CenterCrop(64), T.ToTensor()]),
                    target_transform=shift_target)
    assert pickle.loads(pickle.dumps(data)).targets == data.targets
    loader = DataLoader(data, batch_size=5, num_workers=2, persistent_workers=True)
    for _ in range(2):
        targets = torch.cat([t for _, t in loader]).tolist()
        assert targets == [t + 1000 for t in data.targets]


def test_distributed_sampler_gives_each_image_to_one_rank(small):
    data = ImageNet(small, "train", transform=T.Compose([T.CenterCrop(32), T.ToTensor(False)]))
    seen = []
    for rank in range(3):
        sampler = DistributedSampler(data, num_replicas=3, rank=rank, shuffle=True,
                                     drop_last=True)
        seen += [t for _, ts in DataLoader(data, sampler=sampler, batch_size=2)
                 for t in ts.tolist()]
    assert len(seen) == 12 and sorted(seen) == sorted(data.targets)


def test_torchvision_transform_gets_a_pil_image(small):
    data = ImageNet(small, "val", transform=lambda image: image.size)
    assert data[0][0][1] == 256
    with pytest.raises(InvalidDataError, match="decode must be one of"):
        ImageNet(small, "val", decode="tensor")


def test_importing_imagesets_torch_does_not_import_torch():
    code = ("import sys, imagesets, imagesets.torch, imagesets.torch.transforms; "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "False", done.stderr
