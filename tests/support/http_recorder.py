#!/usr/bin/env python3
"""A webhook receiver for http-sink tests: records every request it answers.

    http_recorder.py PORT [--port-file FILE] [--cert FILE --key FILE [--client-ca FILE]]

PORT 0 takes a free port from the kernel; --port-file FILE then receives the port it listens on
(written once it listens), so that tests running at once never share a port.

Control endpoints (never recorded):
  GET  /__requests  every recorded request, in the order answered: [{"method", "path", "headers":
                    [[name, value], ...], "body", "status" (what this server answered), "time" (when it
                    arrived), "end" (just before the answer was sent), "peer" (the client's port: one
                    per connection)}]
  POST /__behave    {"status": 503, "seconds": 5} answers 503 for the next 5 s; {"status": 429,
                    "count": 2, "retryAfter": "1"} the next 2 requests; {"status": 400, "body": "..."}
                    from now on; {"delayMs": 20} answers 200 after 20 ms. {} restores 200 at once.
                    "bodyContains": "x" applies the behaviour only to requests whose body holds x
                    (the others get 200). Requests answered with an error are recorded too.
"""
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
requests = []
behaviour = {}


def answer_for_next(body):
    """The status, body and headers the next request gets (called under the lock)."""
    global behaviour
    b = behaviour
    if not b:
        return 200, b"", {}
    if "bodyContains" in b and b["bodyContains"].encode() not in body:
        return 200, b"", {}
    if "until" in b and time.monotonic() >= b["until"]:
        behaviour = {}
        return 200, b"", {}
    if "count" in b:
        if b["count"] <= 0:
            behaviour = {}
            return 200, b"", {}
        b["count"] -= 1
    headers = {}
    if "retryAfter" in b:
        headers["Retry-After"] = str(b["retryAfter"])
    return int(b.get("status", 200)), b.get("body", "").encode(), headers


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=None, content_type="text/plain"):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        arrived = time.time()
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length > 0 else b""
        global behaviour
        if self.path == "/__requests":
            with lock:
                data = json.dumps(requests).encode()
            return self.reply(200, data, content_type="application/json")
        if self.path == "/__behave":
            b = json.loads(body or b"{}")
            if "seconds" in b:
                b["until"] = time.monotonic() + float(b["seconds"])
            with lock:
                behaviour = b
            return self.reply(200)
        with lock:
            delay = float(behaviour.get("delayMs", 0)) / 1000.0
        if delay > 0:
            time.sleep(delay)
        with lock:
            status, answer, headers = answer_for_next(body)
            requests.append({
                "method": self.command,
                "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body": body.decode("utf-8", "replace"),
                "status": status,
                "time": arrived,
                "end": time.time(),  # before the answer goes out
                "peer": self.client_address[1],
            })
        self.reply(status, answer, headers)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that goes away mid-answer (a sinkhost killed by a test) is not an error here.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main():
    port = int(sys.argv[1])
    args = sys.argv[2:]
    opts = dict(zip(args[::2], args[1::2]))
    server = Server(("127.0.0.1", port), Handler)
    if "--cert" in opts:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(opts["--cert"], opts["--key"])
        if "--client-ca" in opts:
            context.load_verify_locations(opts["--client-ca"])
            context.verify_mode = ssl.CERT_REQUIRED
        server.socket = context.wrap_socket(server.socket, server_side=True)
    if "--port-file" in opts:
        with open(opts["--port-file"] + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(opts["--port-file"] + ".tmp", opts["--port-file"])
    server.serve_forever()


if __name__ == "__main__":
    main()
