#!/usr/bin/env python3
"""A backend for tests and the demo: answers every request with a JSON echo of
what it received (method, path, query, headers, body) and counts requests.

    echo_backend.py [--host 127.0.0.1] [--port 0] [--port-file FILE]

With --port 0 a free port is chosen; it is printed and written to --port-file.
GET /__count answers {"count": N, "by_key": {KEY: n, ...}}: the requests seen
(not counting /__count ones), in all and by the value of their x-api-key
header ("" when it is missing).
GET /__sleep?ms=N answers after N milliseconds.
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

_count = 0
_by_key = {}
_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _serve(self):
        global _count
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/__count":
            with _lock:
                payload = {"count": _count, "by_key": dict(_by_key)}
        else:
            key = self.headers.get("x-api-key", "")
            with _lock:
                _count += 1
                _by_key[key] = _by_key.get(key, 0) + 1
            if url.path == "/__sleep":
                time.sleep(int(parse_qs(url.query).get("ms", ["0"])[0]) / 1000.0)
            payload = {
                "method": self.command,
                "path": url.path,
                "query": url.query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Backend", "echo")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 overflows when a gateway opens tens
    # of upstream connections at once; the dropped SYNs then cost seconds.
    request_queue_size = 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    args = parser.parse_args()
    server = Server((args.host, args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(str(port))
    print(f"echo backend on http://{args.host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
