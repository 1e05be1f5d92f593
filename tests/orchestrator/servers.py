"""Stand-ins for the outside services templates call, served on loopback for end-to-end runs."""

from __future__ import annotations

import base64
import io
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

# A 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<rss version="2.0"><channel><title>Local feed</title><item><title>First</title>'
    "<link>http://127.0.0.1/first</link></item></channel></rss>"
)
HTML = (
    "<!doctype html><html><head><title>Local page</title></head><body><h1>Local page</h1>"
    '<p class="intro">Served by the Spreaders test suite.</p><a href="/first">First</a></body></html>'
)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("one.txt", "two.txt", "three.txt"):
            archive.writestr(name, f"{name} from the local test server\n")
    return buffer.getvalue()


class _Handler(BaseHTTPRequestHandler):
    server: LocalHttpServer.Server

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        self.server.seen.append(f"{self.command} {url.path}")
        suffix = url.path.rsplit(".", 1)[-1].lower() if "." in url.path.rsplit("/", 1)[-1] else ""
        if suffix in {"xml", "rss"}:
            body, kind = XML.encode(), "application/xml"
        elif suffix in {"html", "htm"} or url.path.rstrip("/") == "":
            body, kind = HTML.encode(), "text/html; charset=utf-8"
        elif suffix == "zip":
            body, kind = _zip(), "application/zip"
        elif suffix in {"png", "jpg", "jpeg", "gif"}:
            body, kind = PNG, "image/png"
        else:
            try:
                sent: object = json.loads(raw) if raw else None
            except ValueError:  # like a real API, do not echo an upload back
                sent = {"bytes": len(raw), "content_type": self.headers.get("content-type", "")}
            answer = {
                "ok": True,
                "id": 1,
                "method": self.command,
                "path": url.path,
                "query": {key: values[-1] for key, values in parse_qs(url.query).items()},
                "received": sent,
                "data": [{"id": 1, "name": "first"}, {"id": 2, "name": "second"}],
            }
            body, kind = json.dumps(answer).encode(), "application/json"
        self.send_response(200)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


class LocalHttpServer:
    """Answer any method and path on loopback: JSON describing the request by default; XML, HTML, a
    zip or a PNG when the path ends that way. Records `METHOD /path` of every request in `seen`."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        seen: list[str]

    def __init__(self) -> None:
        self._server = self.Server(("127.0.0.1", 0), _Handler)
        self._server.seen = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def seen(self) -> list[str]:
        return self._server.seen

    def __enter__(self) -> LocalHttpServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
