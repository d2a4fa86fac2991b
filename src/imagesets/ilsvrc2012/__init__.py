"""ILSVRC2012 (ImageNet classification), prepared from images the user already has."""

from __future__ import annotations

from pathlib import Path

from ..catalog import DatasetEntry, Option, PreparedTask, PrepareRequest, Task, register
from ..engine import ENGINE_OPTIONS
from .classification import (
    FORMAT_VERSION,
    Ilsvrc2012Loader,
    build_classification_metadata,
    classification_fields,
    write_classification_file,
)
from .inputs import input_stamp
from .raw256 import DEFAULT_QUALITY, FORMATS, prepare_raw256, resize_ilsvrc2012
from .scan import SETS, scan_ilsvrc2012
from .shards import DEFAULT_SEED

NAME = "ilsvrc2012"

SETUP = """\
ImageNet cannot be downloaded by imagesets: its terms require each user to request access at
https://image-net.org (Download -> ILSVRC2012). Get the training images
(ILSVRC2012_img_train.tar, 138 GB), the validation images (ILSVRC2012_img_val.tar, 6.3 GB) and
the development kit (ILSVRC2012_devkit_t12.tar.gz), or the Kaggle 'ImageNet Object Localization
Challenge' copy. Extract them so one folder holds:
  train/n01440764/n01440764_10026.JPEG ...  (or ILSVRC2012_img_train/; extract each class .tar)
  val/ILSVRC2012_val_00000001.JPEG ...      (flat, or already sorted into wnid folders)
  ILSVRC2012_devkit_t12.tar.gz              (or meta.mat and
                                            ILSVRC2012_validation_ground_truth.txt)
The Kaggle layout ILSVRC/Data/CLS-LOC/{train,val} with LOC_val_solution.csv and
LOC_synset_mapping.txt works as it is. Then run:
  imagesets prepare ilsvrc2012 --data-dir /path/to/that/folder"""


def _prepare(request: PrepareRequest) -> PreparedTask:
    if request.task == "raw256":
        return prepare_raw256(request)
    sets = tuple(request.options.get("sets") or SETS)
    output = request.metadata_dir / f"{request.task}.h5"
    scanned = build_classification_metadata(request.data_dir, output, sets=sets,
                                            verbose=request.verbose)
    return PreparedTask(NAME, request.task, str(scanned.data_dir), str(output),
                        {}, scanned.fingerprint())


SETS_OPTION = Option("sets", "only these sets", multiple=True, default=list(SETS), choices=SETS,
                     aliases=("--split",), metavar="SET")
RAW256_OPTIONS = (
    SETS_OPTION,
    Option("output_dir", "where train256/ and val256/ (or the shard folders) go (default: the "
           "data dir)",
           type=Path, remembered=True, metavar="DIR"),
    Option("quality", "JPEG quality of the resized images (1-100)", type=int,
           default=DEFAULT_QUALITY, minimum=1, remembered=True),
    Option("exclude_corrupt", "leave images that cannot be decoded out of the metadata "
           "(listed in it) instead of stopping", type=bool, default=False),
    Option("format", "folders: JPEG files in train256/ val256/; shards: WebDataset tar shards "
           "in train_shards/ val_shards/ with an index", choices=FORMATS, default="folders",
           remembered=True),
    Option("shard_size", "with --format shards: about this many bytes per shard (e.g. 1GB, "
           "500MB)", default="1GB", remembered=True, metavar="SIZE"),
    Option("seed", "with --format shards: seed of the fixed shuffled sample order", type=int,
           default=DEFAULT_SEED, remembered=True),
    *ENGINE_OPTIONS,
)


def _open(prepared: PreparedTask) -> Ilsvrc2012Loader:
    return Ilsvrc2012Loader(prepared.metadata_file, NAME, prepared.task, Path(prepared.data_dir),
                            ENTRY.license)


ENTRY = register(DatasetEntry(
    name=NAME,
    title="ImageNet Large Scale Visual Recognition Challenge 2012 (classification)",
    description="1.28M training and 50,000 validation images of 1000 WordNet classes.",
    keywords=("image_processing", "classification"),
    size="~150 GB of images (user-provided); metadata ~70 MB",
    downloadable=False,
    tasks=(Task("classification", "image paths and class labels of train and val",
                (SETS_OPTION,), FORMAT_VERSION),
           Task("raw256", "images resized to a 256-pixel short side in train256/ and val256/, "
                "with the classification fields", RAW256_OPTIONS, FORMAT_VERSION)),
    default_task="classification",
    sets=SETS,
    fields=("image_filenames", "classes", "labels", "descriptions", "object_fields",
            "object_ids", "list_image_filenames_per_class", "ilsvrc2012_ids"),
    setup=SETUP,
    license="ImageNet terms of access: non-commercial research and educational use only.",
    homepage="https://image-net.org/challenges/LSVRC/2012/",
    prepare=_prepare,
    open=_open,
    inputs=input_stamp,
))

__all__ = ["ENTRY", "Ilsvrc2012Loader", "build_classification_metadata",
           "classification_fields", "resize_ilsvrc2012", "scan_ilsvrc2012",
           "write_classification_file"]
