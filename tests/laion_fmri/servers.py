"""Real servers on loopback for download tests: moto's standalone S3 server, and a small HTTP
file server that honours ``Range`` + ``If-Range`` (which moto ignores), can serve S3-style
multipart ETags and ``HEAD ?partNumber=``, and can cut a transfer, slow it down, or corrupt it."""

from __future__ import annotations

import hashlib
import http.server
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


def start_moto_server(log: Path) -> tuple[subprocess.Popen, str]:
    """Start ``moto_server`` on 127.0.0.1 with a free port; return the process and its URL."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "from moto.server import main; main()", "-H", "127.0.0.1",
             "-p", "0"], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"Running on (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"moto_server did not start: {log.read_text(errors='replace')}")


@dataclass
class Behaviour:
    """How the file server treats one path."""

    data: bytes
    cut_after: int | None = None      # close the connection after this many bytes, once
    corrupt_at: int | None = None     # flip the byte at this offset in every response
    bytes_per_second: int | None = None
    announced_md5: str = ""
    part_size: int | None = None      # serve a multipart ETag "MD5-of-part-MD5s-N"
    answers_part_number: bool = True  # HEAD ?partNumber=1 gives part 1's length

    @property
    def etag(self) -> str:
        if self.part_size is None:
            return f'"{self.announced_md5}"'
        parts = [self.data[i:i + self.part_size]
                 for i in range(0, len(self.data), self.part_size)]
        joined = b"".join(hashlib.md5(p).digest() for p in parts)
        return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


@dataclass
class FileServer:
    """A threaded loopback HTTP server for ``files``; ``log`` records (method, path, range)."""

    files: dict[str, Behaviour] = field(default_factory=dict)
    log: list[tuple[str, str, str | None]] = field(default_factory=list)
    headers: list[dict[str, str | None]] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)

    def add(self, path: str, data: bytes, **behaviour: object) -> str:
        self.files[path] = Behaviour(data, announced_md5=hashlib.md5(data).hexdigest(),
                                     **behaviour)
        return f"{self.url}{path}"

    def replace(self, path: str, data: bytes) -> None:
        """Put new content under ``path`` (a new ETag), keeping its other behaviour."""
        item = self.files[path]
        item.data, item.announced_md5 = data, hashlib.md5(data).hexdigest()

    def requests(self, method: str, path: str) -> list[dict[str, str | None]]:
        """The headers that matter of each ``method`` request for ``path``."""
        return [entry for entry in self.headers if entry["method"] == method
                and entry["path"] == path]

    def start(self) -> FileServer:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _head(self) -> tuple[Behaviour, int] | None:
                path, _, query = self.path.partition("?")
                server.log.append((self.command, path, self.headers.get("Range")))
                server.headers.append({"method": self.command, "path": path, "query": query,
                                       "range": self.headers.get("Range"),
                                       "if_range": self.headers.get("If-Range")})
                item = server.files.get(path)
                if item is None:
                    self.send_error(404)
                    return None
                if query == "partNumber=1" and item.part_size and item.answers_part_number:
                    self.send_response(206)
                    self.send_header("Content-Length", str(min(item.part_size, len(item.data))))
                    self.send_header("ETag", item.etag)
                    self.send_header("x-amz-mp-parts-count", item.etag.rsplit("-")[-1][:-1])
                    self.end_headers()
                    return None
                start = 0
                wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if_range = self.headers.get("If-Range")
                if wanted and if_range is not None and if_range != item.etag:
                    wanted = None                      # RFC 9110: changed, send it all
                if wanted:
                    start = int(wanted.group(1))
                    if start >= len(item.data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(item.data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return None
                    self.send_response(206)
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(item.data) - 1}/{len(item.data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(item.data) - start))
                self.send_header("ETag", item.etag)
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                return item, start

            def do_HEAD(self) -> None:
                self._head()

            def do_GET(self) -> None:
                found = self._head()
                if found is None:
                    return
                item, start = found
                body = bytearray(item.data[start:])
                if item.corrupt_at is not None and item.corrupt_at >= start:
                    body[item.corrupt_at - start] ^= 0xFF
                if item.cut_after is not None:
                    body = body[: item.cut_after]
                    item.cut_after = None
                    self.close_connection = True
                step = 32 * 1024
                for offset in range(0, len(body), step):
                    if item.bytes_per_second:
                        time.sleep(step / item.bytes_per_second)
                    try:
                        self.wfile.write(body[offset:offset + step])
                    except OSError:
                        return
                    server.sent[self.path] = server.sent.get(self.path, 0) + len(
                        body[offset:offset + step])

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
