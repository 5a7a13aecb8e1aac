"""A minimal compressing reverse proxy, standing in for the nginx the deployment puts in front
(docs/deployment.md: `gzip on` for HTML, JSON, feeds, SVG, CSS and JS).

    .venv/bin/python bench/web/gzip_proxy.py --listen 127.0.0.1:8100 --upstream http://127.0.0.1:8000

The app compresses only its static files (WhiteNoise); a visitor's HTML comes compressed from
the proxy. Measuring the app alone would charge every page its uncompressed HTML, which no
visitor of a deployment downloads. Answers the app already compressed pass through untouched.
For benchmarks only: no keep-alive upstream, no streaming, one thread per request.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

COMPRESSIBLE = ("text/", "application/json", "application/atom+xml", "image/svg+xml")
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


def handler(upstream: str, level: int) -> type[BaseHTTPRequestHandler]:
    session = requests.Session()

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
            r = session.get(
                upstream + self.path, headers=headers, stream=True, allow_redirects=False
            )
            body = r.raw.read(decode_content=False)
            encoded = r.headers.get("Content-Encoding")
            kind = r.headers.get("Content-Type", "")
            if accepts_gzip and not encoded and body and kind.startswith(COMPRESSIBLE):
                body, encoded = gzip.compress(body, level), "gzip"
            self.send_response(r.status_code)
            for k, v in r.headers.items():
                if k.lower() not in HOP:
                    self.send_header(k, v)
            if encoded:
                self.send_header("Content-Encoding", encoded)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Proxy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:8100")
    parser.add_argument("--upstream", default="http://127.0.0.1:8000")
    parser.add_argument("--level", type=int, default=6, help="gzip level (nginx's default is 1)")
    args = parser.parse_args(argv)
    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), handler(args.upstream, args.level))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
