"""LAION-fMRI fixtures: a format-exact sample built from the real stimulus names, a clean
configuration, and a moto S3 server on loopback holding the sample as bucket ``laion-fmri``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imagesets.testing.laion_fmri import SampleDataset, write_sample_dataset

from ..paths import TEST_DATA
from .servers import FileServer, start_moto_server

NAMES_CSV = TEST_DATA / "laion_fmri" / "stimulus_names.csv"
EXAMPLE_IMAGE = "shared_12rep_LAION_cluster_1003_i0.jpg"


def real_names() -> pd.DataFrame:
    """All 25,052 stimulus names with unique_or_shared and subject."""
    return pd.read_csv(NAMES_CSV, keep_default_na=False, na_values={"subject": [""]})


def pick_names(names: pd.DataFrame) -> pd.DataFrame:
    """A small real selection: every shared pool, names with spaces, PNGs, two subjects."""
    shared = names[names["unique_or_shared"] == "shared"]
    pool = shared["image_name"].str.extract(r"^shared_\d+rep_([A-Za-z+]+)")[0]
    return pd.concat([
        shared.groupby(pool).head(8),
        shared[shared["image_name"].str.contains(" ")],
        shared[shared["image_name"].str.endswith(".png")].head(3),
        names[names["subject"] == "sub-01"].head(40),
        names[names["subject"] == "sub-03"].head(10),
    ]).drop_duplicates("image_name")


@pytest.fixture(autouse=True)
def clean_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No data directory configured anywhere, and no real S3 endpoint from the environment."""
    for var in ("LAION_FMRI_DATA_DIR", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                "LAION_FMRI_EXAMPLE_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    config = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleDataset:
    """The sample dataset (read-only for tests: copy it before changing anything)."""
    return write_sample_dataset(tmp_path_factory.mktemp("laion_fmri"), pick_names(real_names()))


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a moto S3 server on loopback (standalone process)."""
    process, url = start_moto_server(tmp_path_factory.mktemp("moto") / "moto.log")
    yield url
    process.terminate()
    process.wait(timeout=10)


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-west-2",
                        aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture(scope="session")
def bucket(moto_s3: str, sample: SampleDataset) -> str:
    """Bucket ``laion-fmri`` on the moto server holding the sample's files (public-read)."""
    client = s3_client(moto_s3)
    client.create_bucket(Bucket="laion-fmri",
                         CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    for path in sample.files:
        key = path.relative_to(sample.root).as_posix()
        if key.startswith("stimuli/task-images_desc-"):
            client.put_object(Bucket="laion-fmri", Key=key, Body=path.read_bytes(),
                              ACL="public-read")
    return moto_s3


@pytest.fixture
def files() -> Iterator[FileServer]:
    """A loopback HTTP file server of the tests' own (Range, If-Range, HEAD)."""
    server = FileServer().start()
    yield server
    server.stop()


def payload(size: int, seed: int = 1) -> bytes:
    """``size`` random bytes, the same for the same seed."""
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
