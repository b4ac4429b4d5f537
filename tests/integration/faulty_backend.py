#!/usr/bin/env python3
"""A backend that misbehaves on purpose, or frames its answers in the less
common ways, for the gateway's fault tests. It reads each request head and,
by the path's first segment, answers:

    /ok         200 with a small JSON body (keep-alive)
    /chunked    200 with a chunked body, a chunk per write
    /until-close  200 with no length: the body runs to the close
    /interim    103 Early Hints, then 200
    /large      200 with a 1 MiB body, in 64 KiB writes
    /reset      nothing: the connection is reset (RST)
    /close      nothing: the connection is closed (FIN)
    /garbage    bytes that are not HTTP, then the close
    /truncated  a head promising 100 bytes, 10 of them, then the close
    /huge-head  a head larger than any proxy reads, then the close
    /stall      a head and half a body, then nothing (the connection stays)

    faulty_backend.py [--host 127.0.0.1] [--port 0] [--port-file FILE]

GET /__count answers {"count": N}: the requests seen, not counting these.
Standard library only.
"""
import argparse
import json
import os
import socket
import struct
import threading
import time

_count = 0
_lock = threading.Lock()
_stalled = []  # stalled connections, kept open until the process ends


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = data.split(b"\r\n\r\n", 1)[1]
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head.split(" ")[1]


def respond(conn, status, body, extra=b""):
    conn.sendall(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
                 % (status, len(body), extra, body))


def serve(conn):
    global _count
    try:
        while True:
            target = read_head(conn)
            if target is None:
                return
            what = target.split("?")[0].strip("/").split("/")[0]
            if what == "__count":
                with _lock:
                    respond(conn, 200, json.dumps({"count": _count}).encode())
                continue
            with _lock:
                _count += 1
            if what == "ok":
                respond(conn, 200, b'{"ok":true}')
            elif what == "chunked":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
                for piece in (b'{"framing":', b'"chunked"', b"}"):
                    time.sleep(0.02)
                    conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                conn.sendall(b"0\r\n\r\n")
            elif what == "until-close":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
                             b'{"framing":')
                time.sleep(0.02)
                conn.sendall(b'"until-close"}')
                return
            elif what == "interim":
                conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
                time.sleep(0.02)
                respond(conn, 200, b'{"framing":"interim"}')
            elif what == "large":
                body = b"".join(b"%07d\n" % i for i in range(1 << 17))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
                             % len(body))
                for start in range(0, len(body), 1 << 16):
                    conn.sendall(body[start:start + (1 << 16)])
            elif what == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            elif what == "close":
                return
            elif what == "garbage":
                conn.sendall(b"\x00\x01 this is not HTTP at all \xff\r\n\r\n")
                return
            elif what == "truncated":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
                return
            elif what == "huge-head":
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (200 * 1024) + b"\r\n\r\n")
                return
            elif what == "stall":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n01234")
                _stalled.append(conn)
                conn = None
                return
            else:
                respond(conn, 404, b'{"message":"unknown"}')
    except OSError:
        pass
    finally:
        if conn is not None:
            conn.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    args = parser.parse_args()
    listener = socket.create_server((args.host, args.port))
    port = listener.getsockname()[1]
    print(port, flush=True)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(args.port_file + ".tmp", args.port_file)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
