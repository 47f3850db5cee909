"""A 127.0.0.1 HTTP handler that serves bytes with Range support: the local stand-in for a download server.

Subclass it with ``files`` ({path: bytes}) and ``ranges`` (the Range headers seen) of your own.
"""

from __future__ import annotations

import http.server


class RangeHandler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    ranges: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        body = self.files.get(self.path)
        self.ranges.append(self.headers.get("Range"))
        if body is None:
            self.send_error(404)
            return
        start, status = 0, 200
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start, status = int(rng[6:-1]), 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        try:
            for i in range(start, len(body), 256 * 1024):  # in chunks, so a cancelling client sees a partial body
                self.wfile.write(body[i:i + 256 * 1024])
        except (BrokenPipeError, ConnectionResetError):  # the client cancelled
            pass

    def log_message(self, *args: object) -> None:
        pass
