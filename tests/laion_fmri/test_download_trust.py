"""Downloads that can be trusted: multipart objects verified, resumes that never splice, a manifest
of verified files, duplicates fetched once, and exit codes that show what is unverified."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imagesets.cli.main import main
from imagesets.downloads import (
    DownloadManifest,
    S3Bucket,
    UnverifiedDownloadError,
    VerificationError,
    download_file,
    download_files,
    partial_path,
    probe,
)
from imagesets.errors import OfflineError

from .conftest import payload, s3_client
from .servers import FileServer

MIB = 1024 * 1024
CAPTIONS = "stimuli/task-images_desc-captions.csv"


def multipart_upload(endpoint: str, key: str, data: bytes, part_size: int) -> None:
    """Upload ``data`` to bucket laion-fmri as a real S3 multipart object (public-read)."""
    client = s3_client(endpoint)
    upload = client.create_multipart_upload(Bucket="laion-fmri", Key=key, ACL="public-read")
    parts = []
    for number, start in enumerate(range(0, len(data), part_size), 1):
        etag = client.upload_part(Bucket="laion-fmri", Key=key, PartNumber=number,
                                  UploadId=upload["UploadId"],
                                  Body=data[start:start + part_size])["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    client.complete_multipart_upload(Bucket="laion-fmri", Key=key, UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": parts})


def leave_partial(path: Path, data: bytes, etag: str, size: int) -> Path:
    """What a killed run leaves: the partial bytes and the validator they were started from."""
    part = partial_path(path)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(data)
    part.with_name(part.name + ".json").write_text(json.dumps(
        {"etag": etag, "last_modified": None, "size": size}))
    return part


def test_multipart_object_on_s3_is_verified_by_its_etag(moto_s3: str, bucket: str,
                                                        tmp_path: Path) -> None:
    data = payload(11 * MIB + 5, seed=4)
    multipart_upload(moto_s3, "big/multi.bin", data, 5 * MIB)
    remote = S3Bucket("laion-fmri", "us-west-2", moto_s3).remote("big/multi.bin")
    assert remote.md5 is None and remote.sha256 is None and remote.etag.endswith('-3"')
    target = tmp_path / "multi.bin"
    result = download_files([(remote, target)], progress=False, manifest=tmp_path)
    assert target.read_bytes() == data
    assert result.outcomes[0].verified == "etag-multipart"
    entry = DownloadManifest(tmp_path).get("multi.bin")
    assert entry["verified"] == "etag-multipart" and entry["size"] == len(data)
    assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["validator"] == \
        remote.etag


def test_corrupted_partial_of_a_multipart_object_never_becomes_the_file(
        moto_s3: str, bucket: str, tmp_path: Path) -> None:
    data = payload(11 * MIB + 5, seed=5)
    multipart_upload(moto_s3, "big/corrupt.bin", data, 5 * MIB)
    remote = S3Bucket("laion-fmri", "us-west-2", moto_s3).remote("big/corrupt.bin")
    assert remote.part_size == 5 * MIB              # learned from HEAD ?partNumber=1
    target = tmp_path / "corrupt.bin"
    damaged = bytearray(data[:7 * MIB])
    damaged[123_456] ^= 0xFF
    leave_partial(target, bytes(damaged), remote.etag, len(data))
    with pytest.raises(VerificationError, match="etag-multipart .parts of 5,242,880 bytes"):
        download_files([(remote, target)], progress=False, manifest=tmp_path)
    assert not target.exists() and not partial_path(target).exists()
    assert DownloadManifest(tmp_path).get("corrupt.bin") is None
    download_files([(remote, target)], progress=False, manifest=tmp_path)
    assert target.read_bytes() == data


def test_part_size_guessed_when_the_server_does_not_say(files: FileServer,
                                                        tmp_path: Path) -> None:
    data = payload(17 * MIB + 1, seed=6)
    url = files.add("/guess.bin", data, part_size=8 * MIB, answers_part_number=False)
    remote = probe(url)
    assert remote.part_size is None and remote.etag.endswith('-3"')
    result = download_files([(url, tmp_path / "guess.bin")], progress=False, manifest=tmp_path)
    assert result.outcomes[0].verified == "etag-multipart"


def test_unverifiable_object_is_kept_as_size_only_and_reported(files: FileServer,
                                                               tmp_path: Path) -> None:
    data = payload(3 * MIB + 7, seed=7)
    url = files.add("/odd.bin", data, part_size=1_000_000, answers_part_number=False)
    target = tmp_path / "odd.bin"
    with pytest.raises(UnverifiedDownloadError, match="NOT VERIFIED: odd.bin") as caught:
        download_files([(url, target)], progress=False, manifest=tmp_path)
    assert caught.value.result.outcomes[0].verified == "size-only"
    assert target.read_bytes() == data
    assert DownloadManifest(tmp_path).get("odd.bin")["verified"] == "size-only"
    again = download_files([(url, target)], progress=False, manifest=tmp_path,
                           allow_unverified=True)
    assert [o.action for o in again.outcomes] == ["complete"]
    assert "NOT VERIFIED: odd.bin" in again.summary()


def kill_midway(url: str, target: Path, at_least: int) -> int:
    """Start a download in a child process and SIGKILL it once ``at_least`` bytes are in."""
    part = partial_path(target)
    script = ("import sys; from imagesets.downloads import download_file; "
              "download_file(sys.argv[1], sys.argv[2], progress=False)")
    child = subprocess.Popen([sys.executable, "-c", script, url, str(target)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not part.exists() or part.stat().st_size < at_least):
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    return part.stat().st_size


@pytest.mark.parametrize("part_size", [None, 1 * MIB], ids=["single-part", "multipart"])
def test_object_replaced_between_killed_run_and_rerun_starts_over(
        files: FileServer, tmp_path: Path, part_size: int | None,
        capsys: pytest.CaptureFixture) -> None:
    old, new = payload(3 * MIB, seed=8), payload(3 * MIB, seed=9)
    url = files.add("/changing.bin", old, part_size=part_size, bytes_per_second=2 * MIB)
    target = tmp_path / "changing.bin"
    kept = kill_midway(url, target, MIB)
    assert MIB <= kept < len(old) and not target.exists()
    files.replace("/changing.bin", new)
    files.files["/changing.bin"].bytes_per_second = None
    result = download_files([(url, target)], progress=True, manifest=tmp_path)
    assert target.read_bytes() == new                  # never old bytes followed by new ones
    assert result.outcomes[0].verified == ("md5" if part_size is None else "etag-multipart")
    assert "changed on the server" in result.outcomes[0].note
    assert "started over from byte 0" in capsys.readouterr().err
    assert [r["range"] for r in files.requests("GET", "/changing.bin")] == [None, None]


def test_resume_sends_the_stored_validator_in_if_range(files: FileServer,
                                                       tmp_path: Path) -> None:
    old, new = payload(2 * MIB, seed=10), payload(2 * MIB, seed=11)
    url = files.add("/race.bin", old)
    stale = probe(url)                                # the object changes after this HEAD
    target = tmp_path / "race.bin"
    leave_partial(target, old[:MIB], stale.etag, len(old))
    files.replace("/race.bin", new)
    with pytest.raises(VerificationError, match="md5 is"):
        download_file(stale, target, progress=False)
    get, = files.requests("GET", "/race.bin")
    assert get["range"] == f"bytes={MIB}-" and get["if_range"] == stale.etag
    assert not target.exists()                         # the full new body failed the old md5
    download_file(url, target, progress=False)
    assert target.read_bytes() == new


def test_resume_of_an_unchanged_object_continues_where_it_stopped(files: FileServer,
                                                                  tmp_path: Path) -> None:
    data = payload(2 * MIB, seed=12)
    url = files.add("/same.bin", data, part_size=MIB)
    target = tmp_path / "same.bin"
    leave_partial(target, data[:MIB + 3], probe(url).etag, len(data))
    download_file(url, target, progress=False, manifest=tmp_path)
    assert target.read_bytes() == data
    get, = files.requests("GET", "/same.bin")
    assert get["range"] == f"bytes={MIB + 3}-" and get["if_range"] == probe(url).etag


def test_manifest_decides_what_is_complete_and_verify_rehashes(files: FileServer,
                                                               tmp_path: Path) -> None:
    data = payload(500_000, seed=13)
    url = files.add("/m.bin", data)
    target = tmp_path / "m.bin"
    download_files([(url, target)], progress=False, manifest=tmp_path)
    again = download_files([(url, target)], progress=False, manifest=tmp_path)
    assert [o.action for o in again.outcomes] == ["complete"]
    assert len(files.requests("GET", "/m.bin")) == 1
    stat = target.stat()
    altered = bytearray(data)
    altered[10] ^= 0xFF
    target.write_bytes(bytes(altered))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))    # same size, same time
    trusted = download_files([(url, target)], progress=False, manifest=tmp_path)
    assert trusted.outcomes[0].action == "complete"              # the manifest is trusted...
    checked = download_files([(url, target)], progress=False, manifest=tmp_path, verify=True)
    assert checked.outcomes[0].action == "downloaded"            # ...unless --verify
    assert target.read_bytes() == data


def test_server_unreachable_never_passes_a_damaged_file(files: FileServer,
                                                        tmp_path: Path) -> None:
    good, short = files.add("/good.bin", payload(300_000)), files.add("/short.bin",
                                                                      payload(300_000, 2))
    download_files([(good, tmp_path / "good.bin"), (short, tmp_path / "short.bin")],
                   progress=False, manifest=tmp_path)
    with open(tmp_path / "short.bin", "r+b") as fh:
        fh.truncate(100_000)
    (tmp_path / "mine.bin").write_bytes(b"brought by the user")
    files.stop()
    ok = download_files([(good, tmp_path / "good.bin")], progress=False, manifest=tmp_path)
    assert ok.outcomes[0].action == "offline" and ok.outcomes[0].verified == "md5"
    with pytest.raises(OfflineError, match="short.bin does not match the download manifest"):
        download_files([(short, tmp_path / "short.bin")], progress=False, manifest=tmp_path)
    with pytest.raises(OfflineError, match="does not match"):
        download_files([(short, tmp_path / "short.bin")], progress=False, manifest=tmp_path,
                       allow_unverified=True)
    with pytest.raises(UnverifiedDownloadError, match="mine.bin .server unreachable and not in"):
        download_files([(f"{files.url}/mine.bin", tmp_path / "mine.bin")], progress=False,
                       manifest=tmp_path)


def test_same_file_twice_in_one_call_is_fetched_once(files: FileServer, tmp_path: Path) -> None:
    data = payload(2 * MIB, seed=14)
    url = files.add("/dup.bin", data, bytes_per_second=8 * MIB)
    target = tmp_path / "dup.bin"
    result = download_files([(url, target), (url, tmp_path / "." / "dup.bin"), (url, target)],
                            n_jobs=3, progress=False, manifest=tmp_path)
    assert list(result) == [target, tmp_path / "." / "dup.bin", target]
    assert len(result.outcomes) == 1 and target.read_bytes() == data
    assert len(files.requests("GET", "/dup.bin")) == 1


def test_cli_progress_summary_and_exit_codes(files: FileServer, tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    captions = payload(1_200_000, seed=15)
    files.add(f"/laion-fmri/{CAPTIONS}", captions)
    home, target = tmp_path / "home", tmp_path / "data"
    args = ["--home", str(home), "download", "laion_fmri", "--data-dir", str(target), "--what",
            "captions", "--endpoint", files.url]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "task-images_desc-captions.csv" in err and "100%" in err      # the progress bar
    assert "laion_fmri: 1 file(s): 1 downloaded; verified by md5 1" in err
    assert main(args) == 0
    assert "1 already complete; verified by md5 1" in capsys.readouterr().err
    files.replace(f"/laion-fmri/{CAPTIONS}", captions[::-1])
    files.files[f"/laion-fmri/{CAPTIONS}"].part_size = 300_001
    files.files[f"/laion-fmri/{CAPTIONS}"].answers_part_number = False
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("imagesets: error: ") and "--allow-unverified" in err
    assert "NOT VERIFIED: task-images_desc-captions.csv" in err
    assert main(args + ["--allow-unverified", "--quiet"]) == 0
    assert (target / CAPTIONS).read_bytes() == captions[::-1]
    files.stop()
    assert main(args + ["--verify", "--quiet"]) == 1          # offline + size-only: unverified
    assert "server unreachable" in capsys.readouterr().err
    files.start()
