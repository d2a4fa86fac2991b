"""``imagesets download panocaps`` through huggingface_hub against a loopback stand-in hub."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

import imagesets
from imagesets.cli.main import main
from imagesets.downloads import DownloadManifest, UnverifiedDownloadError, VerificationError
from imagesets.errors import ImagesetsError, NotFoundError, OfflineError
from imagesets.panocaps.download import REPO_ID, allow_patterns

from .builders import SAMPLE
from .hub_server import HubServer


@pytest.fixture
def hub_repo(tmp_path: Path) -> Path:
    """The repository as published: README, Parquet shards, annotation JSON pairs."""
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE / "panocaps", repo)
    (repo / "README.md").write_text("# PanoCaps\nlicense: research only, non-commercial\n")
    (repo / "unrelated.bin").write_bytes(b"\0" * 100)
    return repo


def same_files(a: Path, b: Path, names: list[str]) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_download_through_hf_endpoint_then_rerun_fetches_nothing(
        hub_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "data"
    with HubServer(hub_repo, REPO_ID) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        folder = imagesets.download("panocaps", data_dir=target, verbose=False)
        expected = ["README.md", "annotations/train_caption.json", "annotations/train_mask.json",
                    "annotations/val_caption.json", "annotations/val_mask.json",
                    "data/train-00000-of-00001.parquet", "data/val-00000-of-00001.parquet"]
        assert sorted(hub.fetched()) == expected          # nothing outside the patterns
        assert any(path.startswith(f"/api/datasets/{REPO_ID}") for _, path in hub.requests)
        same_files(hub_repo, target, expected)
        assert not (target / "unrelated.bin").exists()
        first = len(hub.fetched())
        imagesets.download("panocaps", data_dir=target, verbose=False)
        assert len(hub.fetched()) == first                # up-to-date files are kept
    assert folder == target.resolve()
    split = imagesets.panocaps.load(target, "val")
    assert split.image_ids == ["00000101", "00000102", "00000103"]
    dataset = imagesets.load("panocaps", verbose=False)     # data dir remembered by download
    assert dataset.sets == ("train", "val")


def test_cli_download_with_endpoint_option_and_parquet_only(
        hub_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    target = tmp_path / "pq"
    with HubServer(hub_repo, REPO_ID) as hub:
        code = main(["download", "panocaps", "--data-dir", str(target), "--what", "parquet",
                     "--endpoint", hub.endpoint, "--quiet"])
        assert code == 0
        assert sorted(hub.fetched()) == ["README.md", "data/train-00000-of-00001.parquet",
                                         "data/val-00000-of-00001.parquet"]
    assert not (target / "annotations").exists()
    assert f"files in {target.resolve()}" in capsys.readouterr().out
    assert len(imagesets.panocaps.load(target, "train")) == 2


def test_offline_mode_uses_local_files_or_says_why_not(
        hub_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with HubServer(hub_repo, REPO_ID) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        with pytest.raises(OfflineError, match="HF_HUB_OFFLINE is set.*holds no PanoCaps split"):
            imagesets.download("panocaps", data_dir=tmp_path / "empty", verbose=False)
        shutil.copytree(SAMPLE / "panocaps", tmp_path / "have")
        with pytest.raises(NotFoundError, match="split.s. test missing .* .found: train, val"):
            imagesets.download("panocaps", data_dir=tmp_path / "have", verbose=False)
        code = main(["download", "panocaps", "--data-dir", str(tmp_path / "have"), "--quiet"])
        assert code == 1 and "split(s) test missing" in capsys.readouterr().err
        assert hub.requests == []                               # offline: no request at all


def test_files_are_verified_and_recorded_then_trusted_offline_only_if_unchanged(
        hub_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    target = tmp_path / "data"
    with HubServer(hub_repo, REPO_ID) as hub:
        imagesets.download("panocaps", data_dir=target, endpoint=hub.endpoint, verbose=False)
        entries = DownloadManifest(target).read()
        assert sorted(entries) == sorted(hub.fetched())
        for name, entry in entries.items():
            data = (hub_repo / name).read_bytes()
            assert entry["verified"] == "sha256" and entry["size"] == len(data)
            assert entry["sha256"] == entry["validator"] == hashlib.sha256(data).hexdigest()
        imagesets.download("panocaps", data_dir=target, endpoint=hub.endpoint, verbose=True)
        assert "7 file(s): 7 already complete; verified by sha256 7" in capsys.readouterr().err
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert imagesets.download("panocaps", data_dir=target, verbose=False) == target.resolve()
    (target / "annotations" / "extra_caption.json").write_text("[]")     # not from the Hub
    with pytest.raises(UnverifiedDownloadError, match="extra_caption.json .offline and not in"):
        imagesets.download("panocaps", data_dir=target, verbose=False)
    imagesets.download("panocaps", data_dir=target, verbose=False, allow_unverified=True)
    (target / "annotations" / "extra_caption.json").unlink()
    shard = target / "data" / "val-00000-of-00001.parquet"
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(OfflineError, match="val-00000-of-00001.parquet does not match the "
                                           "download manifest"):
        imagesets.download("panocaps", data_dir=target, verbose=False, allow_unverified=True)
    shard.unlink()
    with pytest.raises(NotFoundError, match="split.s. val missing"):
        imagesets.download("panocaps", data_dir=target, verbose=False, what=["parquet"])


def test_unknown_repository_and_server_errors(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    other = tmp_path / "other"
    other.mkdir()
    with HubServer(other, "someone/else") as hub:
        with pytest.raises(NotFoundError, match=f"{REPO_ID} was not found on {hub.endpoint}"):
            imagesets.download("panocaps", data_dir=tmp_path / "d", endpoint=hub.endpoint,
                               verbose=False)
    (other / "README.md").write_text("x")
    with HubServer(other, REPO_ID) as hub:
        with pytest.raises(NotFoundError, match="had no files matching data/"):
            imagesets.download("panocaps", data_dir=tmp_path / "e", endpoint=hub.endpoint,
                               verbose=False)
    shutil.copytree(SAMPLE / "panocaps", tmp_path / "repo2")
    with HubServer(tmp_path / "repo2", REPO_ID) as hub:
        hub.fail_resolve = True
        with pytest.raises(OfflineError, match="rerun"):
            imagesets.download("panocaps", data_dir=tmp_path / "f", endpoint=hub.endpoint,
                               verbose=False)


def test_unreachable_endpoint_is_a_clear_error(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with HubServer(tmp_path, REPO_ID) as hub:
        endpoint = hub.endpoint                                 # closed after the block
    with pytest.raises(OfflineError, match=r"127\.0\.0\.1"):
        imagesets.download("panocaps", data_dir=tmp_path / "g", endpoint=endpoint,
                           verbose=False)


def test_parts_are_checked() -> None:
    assert allow_patterns(None) == ["data/*.parquet", "annotations/*.json", "README.md"]
    assert allow_patterns(["json"]) == ["annotations/*.json", "README.md"]
    with pytest.raises(ImagesetsError, match="unknown PanoCaps part"):
        allow_patterns(["images"])


def test_verify_rehashes_and_a_file_not_matching_its_hub_etag_is_deleted(
        hub_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    target = tmp_path / "data"
    shard = target / "data" / "train-00000-of-00001.parquet"
    with HubServer(hub_repo, REPO_ID) as hub:
        imagesets.download("panocaps", data_dir=target, endpoint=hub.endpoint, verbose=False)
        stat = shard.stat()
        damaged = bytearray(shard.read_bytes())
        damaged[100] ^= 0xFF
        shard.write_bytes(bytes(damaged))
        os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns))   # looks untouched
        imagesets.download("panocaps", data_dir=target, endpoint=hub.endpoint, verbose=False)
        with pytest.raises(VerificationError, match="train-00000-of-00001.parquet from .* does "
                                                    "not match the ETag the Hub sent"):
            imagesets.download("panocaps", data_dir=target, endpoint=hub.endpoint,
                               verbose=False, verify=True)
        assert not shard.exists()
        imagesets.download("panocaps", data_dir=target, endpoint=hub.endpoint, verbose=False)
    assert shard.read_bytes() == (hub_repo / "data" / "train-00000-of-00001.parquet").read_bytes()
