"""Downloads against real loopback servers: moto's S3 server (bucket ``laion-fmri``) and a file
server that cuts, slows down or corrupts transfers."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import imagesets
from imagesets.cli.main import main
from imagesets.downloads import (
    Remote,
    S3Bucket,
    UnverifiedDownloadError,
    VerificationError,
    download_file,
    download_files,
    partial_path,
    probe,
)
from imagesets.errors import ImagesetsError, NotFoundError, OfflineError
from imagesets.laion_fmri import (
    Stimuli,
    download_captions,
    download_embeddings,
    download_segmentations,
    load_embeddings,
)

from .conftest import payload, s3_client
from .servers import FileServer

DERIVATIVES = ["stimuli/task-images_desc-CLIP_embeddings.h5",
               "stimuli/task-images_desc-DINOv2_embeddings.h5",
               "stimuli/task-images_desc-PEcore_embeddings.h5",
               "stimuli/task-images_desc-SigLIP2_embeddings.h5",
               "stimuli/task-images_desc-segmentations.h5",
               "stimuli/task-images_desc-segmentations_metadata.csv",
               "stimuli/task-images_desc-captions.csv"]


def test_s3_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "stimuli/task-images_desc-CLIP_embeddings.h5"
    assert S3Bucket("laion-fmri", "us-west-2").url(key) == \
        "https://laion-fmri.s3.us-west-2.amazonaws.com/" + key
    assert S3Bucket("laion-fmri", "us-west-2", "http://127.0.0.1:9000/").url("a b/c.jpg") == \
        "http://127.0.0.1:9000/laion-fmri/a%20b/c.jpg"
    assert S3Bucket("laion-fmri", "us-west-2", "mirror.example.org", path_style=False).url(
        key) == "https://laion-fmri.mirror.example.org/" + key
    assert S3Bucket("my.bucket", "eu-west-1").url("k") == \
        "https://s3.eu-west-1.amazonaws.com/my.bucket/k"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1234")
    assert S3Bucket("laion-fmri").url("k") == "http://127.0.0.1:1234/laion-fmri/k"
    with pytest.raises(ImagesetsError, match="not an http"):
        S3Bucket("laion-fmri", endpoint="ftp://host")


def test_downloads_from_s3_are_byte_identical_and_md5_checked(bucket: str, sample, tmp_path: Path
                                                                ) -> None:
    target = tmp_path / "data"
    download_embeddings(data_dir=target, n_jobs=3, endpoint=bucket, verbose=False)
    download_segmentations(data_dir=target, n_jobs=2, endpoint=bucket, verbose=False)
    download_captions(data_dir=target, endpoint=bucket, verbose=False)
    for key in DERIVATIVES:
        assert (target / key).read_bytes() == (sample.root / key).read_bytes(), key
    assert not list(target.rglob("*.part"))
    remote = S3Bucket("laion-fmri", "us-west-2", bucket).remote(DERIVATIVES[-1])
    assert remote.checks() == ["size", "md5", "checksum-crc32"]   # boto3 sends CRC32 now
    assert remote.md5 == hashlib.md5((target / DERIVATIVES[-1]).read_bytes()).hexdigest()
    stim = Stimuli(target)
    assert stim.embeddings.models == ["CLIP", "DINOv2", "PEcore", "SigLIP2"]
    assert stim.captions.human(sample.names[0])[1] == "NA"


def test_one_model_only(bucket: str, tmp_path: Path) -> None:
    paths = download_embeddings("SigLIP2", data_dir=tmp_path, endpoint=bucket, verbose=False)
    assert [p.name for p in paths] == ["task-images_desc-SigLIP2_embeddings.h5"]
    assert load_embeddings("SigLIP2", tmp_path)["SigLIP2"].shape[1] == 1152
    with pytest.raises(FileNotFoundError, match="CLIP embeddings not found"):
        load_embeddings("CLIP", tmp_path)


def test_rerun_skips_complete_files_and_repairs_damaged_ones(bucket: str, sample, tmp_path: Path
                                                             ) -> None:
    download_captions(data_dir=tmp_path, endpoint=bucket, verbose=False)
    download_segmentations(data_dir=tmp_path, endpoint=bucket, verbose=False)
    captions = tmp_path / DERIVATIVES[-1]
    masks = tmp_path / DERIVATIVES[4]
    before = captions.stat()
    data = bytearray(masks.read_bytes())
    data[len(data) // 2] ^= 0xFF
    masks.write_bytes(bytes(data))
    damaged = masks.stat().st_ino
    download_captions(data_dir=tmp_path, endpoint=bucket, verbose=False)
    download_segmentations(data_dir=tmp_path, endpoint=bucket, verbose=False)
    after = captions.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert masks.stat().st_ino != damaged
    assert masks.read_bytes() == (sample.root / DERIVATIVES[4]).read_bytes()


def test_cli_download_then_load_through_the_catalog(bucket: str, sample, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    home, target = tmp_path / "home", tmp_path / "data"
    code = main(["--home", str(home), "download", "laion_fmri", "--data-dir", str(target),
                 "--what", "captions", "segmentations", "--n-jobs", "2", "--endpoint", bucket])
    out = capsys.readouterr()
    assert code == 0
    assert "CC0 1.0" in out.err and f"files in {target}" in out.out
    assert sorted(p.name for p in (target / "stimuli").iterdir()) == [
        "task-images_desc-captions.csv", "task-images_desc-segmentations.h5",
        "task-images_desc-segmentations_metadata.csv"]
    dataset = imagesets.load("laion_fmri", home=home, verbose=False)
    stim = dataset.stimuli
    assert isinstance(stim, Stimuli) and stim.data_dir == target.resolve()
    assert len(dataset["stimuli"]) == len(stim.captions.images()) == len(sample.names)
    assert stim.segmentations.nouns("shared_12rep_LAION_cluster_1003_i0.jpg")[:2] == [
        "fingers", "hand"]
    code = main(["--home", str(home), "download", "laion_fmri", "--what", "images",
                 "--endpoint", bucket])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "--what takes embeddings" in err


def test_multipart_object_is_checked_against_recorded_sha256(moto_s3: str, bucket: str,
                                                             tmp_path: Path) -> None:
    data = payload(6 * 1024 * 1024 + 123)
    client = s3_client(moto_s3)
    upload = client.create_multipart_upload(
        Bucket="laion-fmri", Key="big/part.bin", ACL="public-read",
        Metadata={"sha256": hashlib.sha256(data).hexdigest()})
    parts = []
    for number, chunk in enumerate((data[: 5 * 1024 * 1024], data[5 * 1024 * 1024:]), 1):
        etag = client.upload_part(Bucket="laion-fmri", Key="big/part.bin", PartNumber=number,
                                  UploadId=upload["UploadId"], Body=chunk)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    client.complete_multipart_upload(Bucket="laion-fmri", Key="big/part.bin",
                                     UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": parts})
    s3 = S3Bucket("laion-fmri", "us-west-2", moto_s3)
    remote = s3.remote("big/part.bin")
    assert remote.md5 is None and remote.etag.endswith('-2"')
    assert remote.sha256 == hashlib.sha256(data).hexdigest()
    assert download_file(remote, tmp_path / "ok.bin", progress=False).read_bytes() == data
    wrong = s3.remote("big/part.bin", sha256=hashlib.sha256(b"other").hexdigest())
    with pytest.raises(VerificationError, match="sha256 is"):
        download_file(wrong, tmp_path / "bad.bin", progress=False)
    assert not (tmp_path / "bad.bin").exists() and not partial_path(tmp_path / "bad.bin").exists()


def test_corrupted_transfer_is_detected_and_never_kept(files: FileServer, tmp_path: Path) -> None:
    data = payload(200_000)
    url = files.add("/corrupt.bin", data, corrupt_at=123_456)
    assert probe(url).md5 == hashlib.md5(data).hexdigest()
    target = tmp_path / "corrupt.bin"
    with pytest.raises(VerificationError, match="md5 is .* expected") as caught:
        download_file(url, target, progress=False)
    assert "rerun" in str(caught.value)
    assert not target.exists() and not partial_path(target).exists()


def test_cut_connection_then_rerun_resumes_with_range(files: FileServer, tmp_path: Path) -> None:
    data = payload(1_000_000)
    url = files.add("/cut.bin", data, cut_after=300_000)
    target = tmp_path / "cut.bin"
    with pytest.raises(OfflineError, match="rerun to resume"):
        download_file(url, target, progress=False, retries=0)
    part = partial_path(target)
    kept = part.stat().st_size
    assert kept == 300_000 and part.read_bytes() == data[:kept] and not target.exists()
    download_file(url, target, progress=False)
    assert target.read_bytes() == data and not part.exists()
    assert ("GET", "/cut.bin", f"bytes={kept}-") in files.log
    assert files.sent["/cut.bin"] == len(data)


def test_cut_connection_is_resumed_within_one_call(files: FileServer, tmp_path: Path) -> None:
    data = payload(500_000, seed=2)
    url = files.add("/retry.bin", data, cut_after=100_000)
    path, = download_files([(url, tmp_path / "retry.bin")], progress=False, retries=2)
    assert path.read_bytes() == data
    assert [entry[2] for entry in files.log if entry[0] == "GET"][1].startswith("bytes=")


def test_killed_download_process_resumes(files: FileServer, tmp_path: Path) -> None:
    data = payload(3_000_000, seed=3)
    url = files.add("/slow.bin", data, bytes_per_second=1_500_000)
    target = tmp_path / "slow.bin"
    part = partial_path(target)
    script = ("import sys; from imagesets.downloads import download_file; "
              "download_file(sys.argv[1], sys.argv[2], progress=False)")
    child = subprocess.Popen([sys.executable, "-c", script, url, str(target)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not part.exists() or part.stat().st_size < 500_000):
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    kept = part.stat().st_size
    assert 500_000 <= kept < len(data) and not target.exists()
    files.files["/slow.bin"].bytes_per_second = None
    download_file(url, target, progress=False)
    assert target.read_bytes() == data
    assert ("GET", "/slow.bin", f"bytes={kept}-") in files.log


def test_missing_object_and_unreachable_server(files: FileServer, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="HTTP 404"):
        download_file(f"{files.url}/nothing.bin", tmp_path / "x", progress=False)
    kept = tmp_path / "kept.bin"
    kept.write_bytes(b"local copy")
    files.stop()
    dead = f"{files.url}/kept.bin"
    with pytest.raises(UnverifiedDownloadError, match="kept.bin .server unreachable and not in "
                                                      "the download manifest"):
        download_files([(dead, kept)], progress=False)
    assert download_files([(dead, kept)], progress=False, allow_unverified=True) == [kept]
    assert kept.read_bytes() == b"local copy"
    with pytest.raises(OfflineError, match="cannot reach"):
        download_files([(dead, tmp_path / "new.bin")], progress=False)
    files.start()


def test_failures_are_reported_together(files: FileServer, tmp_path: Path) -> None:
    good = files.add("/good.bin", b"good")
    bad = Remote(f"{files.url}/good.bin", size=4, md5="0" * 32)
    with pytest.raises(ImagesetsError) as caught:
        download_files([(good, tmp_path / "good.bin"), (bad, tmp_path / "bad.bin"),
                        (f"{files.url}/missing.bin", tmp_path / "missing.bin")],
                       n_jobs=3, progress=False)
    message = str(caught.value)
    assert "2 of 3 downloads failed" in message and "bad.bin" in message
    assert (tmp_path / "good.bin").read_bytes() == b"good"
    with pytest.raises(ImagesetsError, match="n_jobs must be at least 1"):
        download_files([], n_jobs=0)
