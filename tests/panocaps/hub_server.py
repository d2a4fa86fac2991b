"""A loopback HTTP server answering the Hugging Face Hub endpoints huggingface_hub calls.

Serves one dataset repository from a local folder:
``GET /api/datasets/{repo}`` and ``/api/datasets/{repo}/revision/{rev}`` (repo info with
``sha`` and ``siblings``), ``GET /api/datasets/{repo}/tree/{rev}[/{path}]`` (file listing),
``HEAD``/``GET /datasets/{repo}/resolve/{rev}/{path}`` (file metadata headers
``X-Repo-Commit``, ``ETag``, ``Content-Length``; content, with ``Range``). Every request is
logged so tests can tell what was fetched.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class HubServer:
    """``with HubServer(folder, "owner/name") as hub: hub.endpoint`` → ``http://127.0.0.1:PORT``."""

    def __init__(self, folder: Path, repo_id: str) -> None:
        self.folder = folder
        self.repo_id = repo_id
        self.requests: list[tuple[str, str]] = []
        self.fail_resolve = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_HEAD(self) -> None:  # noqa: N802
                server.handle(self, head=True)

            def do_GET(self) -> None:  # noqa: N802
                server.handle(self, head=False)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def files(self) -> list[str]:
        return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*")
                      if p.is_file())

    def fetched(self) -> list[str]:
        """Paths whose content was sent (GET on resolve)."""
        prefix = f"/datasets/{self.repo_id}/resolve/"
        return [path[len(prefix):].split("/", 1)[1] for method, path in self.requests
                if method == "GET" and path.startswith(prefix)]

    def _json(self, handler: BaseHTTPRequestHandler, payload: object, head: bool) -> None:
        body = json.dumps(payload).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if not head:
            handler.wfile.write(body)

    def _error(self, handler: BaseHTTPRequestHandler, status: int, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        if status == 404:
            handler.send_header("X-Error-Code", "RepoNotFound")
        handler.end_headers()
        handler.wfile.write(body)

    def handle(self, handler: BaseHTTPRequestHandler, head: bool) -> None:
        path = unquote(urlsplit(handler.path).path)
        self.requests.append(("HEAD" if head else "GET", path))
        api = f"/api/datasets/{self.repo_id}"
        resolve = f"/datasets/{self.repo_id}/resolve/"
        if path == api or path.startswith(api + "/revision/"):
            self._json(handler, {"id": self.repo_id, "_id": "1", "sha": COMMIT, "private": False,
                                 "siblings": [{"rfilename": f} for f in self.files()]}, head)
        elif path.startswith(api + "/tree/"):
            under = path[len(api + "/tree/"):].partition("/")[2]
            entries = [{"type": "file", "path": f, "size": (self.folder / f).stat().st_size,
                        "oid": hashlib.sha1((self.folder / f).read_bytes()).hexdigest()}
                       for f in self.files() if f.startswith(under)]
            self._json(handler, entries, head)
        elif path.startswith(resolve):
            self._file(handler, path[len(resolve):].partition("/")[2], head)
        else:
            self._error(handler, 404, f"no route {path}")

    def _file(self, handler: BaseHTTPRequestHandler, name: str, head: bool) -> None:
        file = self.folder / name
        if self.fail_resolve:
            self._error(handler, 403, "access denied")
            return
        if not file.is_file():
            self._error(handler, 404, f"{name} not found")
            return
        data = file.read_bytes()
        etag = hashlib.sha256(data).hexdigest()
        start = 0
        requested = handler.headers.get("Range")
        if requested and requested.startswith("bytes="):
            start = int(requested[len("bytes="):].split("-")[0] or 0)
        body = data[start:]
        handler.send_response(206 if start else 200)
        handler.send_header("X-Repo-Commit", COMMIT)
        handler.send_header("ETag", f'"{etag}"')
        handler.send_header("Content-Length", str(len(body)))
        if start:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.end_headers()
        if not head:
            handler.wfile.write(body)
