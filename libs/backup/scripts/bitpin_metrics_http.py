"""bitpin metrics http: serves the WAL receiver's metrics file to Prometheus.

Run beside wal-receiver.sh (the `metrics` container of Deployment bitpin-wal-receiver) as
``python3 -I -S bitpin_metrics_http.py FILE PORT [MAX_AGE]``. The standard library only:
- ``GET /metrics``: the file as it is (the receiver rewrites it atomically every few seconds);
  503 while it does not exist yet;
- ``GET /healthz``: 200 while the file was written within MAX_AGE seconds (default 60), else
  503 (the receiver's lag check has stopped).
"""

import contextlib
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def make_handler(path, max_age):
    class Handler(BaseHTTPRequestHandler):
        def _send(self, code, body, ctype="text/plain; charset=utf-8"):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            route = self.path.split("?", 1)[0]
            if route == "/metrics":
                try:
                    with open(path, "rb") as f:
                        body = f.read()
                except FileNotFoundError:
                    self._send(503, b"no metrics yet\n")
                    return
                self._send(200, body, CONTENT_TYPE)
            elif route == "/healthz":
                try:
                    age = time.time() - os.stat(path).st_mtime
                except FileNotFoundError:
                    age = None
                if age is not None and age <= max_age:
                    self._send(200, b"ok\n")
                else:
                    self._send(503, b"the receiver's metrics are stale\n")
            else:
                self._send(404, b"not found\n")

        do_HEAD = do_GET

        def log_message(self, format, *args):
            return

    return Handler


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: bitpin_metrics_http.py FILE PORT [MAX_AGE]\n")
        return 2
    path, port = argv[1], int(argv[2])
    max_age = float(argv[3]) if len(argv) > 3 else 60.0
    server = ThreadingHTTPServer(("", port), make_handler(path, max_age))
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
