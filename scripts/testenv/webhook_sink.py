#!/usr/bin/python3
"""HTTPS receiver standing in for an SMS provider's webhook in the ssprd tests, loopback only.

  webhook_sink.py serve --host H --port P --cert C --key K --dir D --tmpdir TMP \
                        --token-file F --pidfile PID
  webhook_sink.py probe --host H --port P --ca CA

Every POST/PUT/PATCH is recorded in D as one JSON file NAME.json (written in TMP, then renamed):
{"method", "path", "query", "status", "auth", "headers", "body"}. "auth" is "bearer" or
"basic:<user>" when the request carried the token of F (as a bearer token, or as the password of
basic authentication), else "invalid"; the Authorization header's value itself is never recorded.

Answers, after the token check (401 when it fails):
  /sms, /sms/<anything else>   200 {"status":"queued"}
  /sms/fail-once/<name>        500 the first time for that exact path, 200 afterwards
  /sms/unavailable/<name>      503 always
  /sms/reject/<name>           400 always
  anything else                404
GET /health answers 200 without authentication (for probe). The PID is written to --pidfile once
the port accepts connections; SIGTERM or SIGINT stops the server cleanly.
"""

import argparse
import base64
import hmac
import json
import logging
import os
import signal
import ssl
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOG = logging.getLogger("webhook_sink")
MAX_BODY = 64 * 1024


class State:
    def __init__(self, directory, tmpdir, token):
        self.directory = directory
        self.tmpdir = tmpdir
        self.token = token
        self.failed_once = set()
        self.lock = threading.Lock()
        self.seq = 0


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ssprd-test-webhook"
        sys_version = ""

        def log_message(self, fmt, *args):
            LOG.info("%s %s", self.address_string(), fmt % args)

        def answer(self, status, payload):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if urlsplit(self.path).path == "/health":
                self.answer(200, {"status": "ok"})
            else:
                self.answer(405, {"status": "method not allowed"})

        def do_POST(self):
            self.record()

        def do_PUT(self):
            self.record()

        def do_PATCH(self):
            self.record()

        def authenticated(self):
            header = self.headers.get("Authorization", "")
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(value.encode(), state.token):
                return "bearer"
            if scheme.lower() == "basic":
                try:
                    user, _, password = base64.b64decode(value, validate=True).partition(b":")
                except ValueError:
                    return None
                if hmac.compare_digest(password, state.token):
                    return "basic:" + user.decode("utf-8", "replace")
            return None

        def decide(self, path):
            if path.startswith("/sms/fail-once/"):
                with state.lock:
                    first = path not in state.failed_once
                    state.failed_once.add(path)
                return (500, {"status": "try again"}) if first else (200, {"status": "queued"})
            if path.startswith("/sms/unavailable/"):
                return 503, {"status": "unavailable"}
            if path.startswith("/sms/reject/"):
                return 400, {"status": "bad request"}
            if path == "/sms" or path.startswith("/sms/"):
                return 200, {"status": "queued"}
            return 404, {"status": "not found"}

        def record(self):
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                self.answer(413, {"status": "body too large"})
                return
            body = self.rfile.read(length)
            url = urlsplit(self.path)
            auth = self.authenticated()
            if auth is None:
                status, payload = 401, {"status": "unauthorized"}
            else:
                status, payload = self.decide(url.path)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
            entry = {
                "method": self.command,
                "path": url.path,
                "query": url.query,
                "status": status,
                "auth": auth or "invalid",
                "headers": headers,
                "body": body.decode("utf-8", "replace"),
            }
            with state.lock:
                state.seq += 1
                seq = state.seq
            name = f"{time.time_ns()}-{os.getpid()}-{seq:06d}.json"
            tmp = os.path.join(state.tmpdir, name)
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(entry, f, ensure_ascii=False, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, os.path.join(state.directory, name))
            self.answer(status, payload)

    return Handler


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, context):
        self.context = context
        super().__init__(address, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # The handshake happens in the request's thread, so a stuck client cannot block accept().
        return self.context.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        LOG.warning("request from %s failed: %s", client_address, sys.exc_info()[1])


def serve(args):
    with open(args.token_file, "rb") as f:
        token = f.read().rstrip(b"\r\n")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(args.cert, args.key)
    state = State(args.dir, args.tmpdir, token)
    httpd = TLSServer((args.host, args.port), make_handler(state), context)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2})
    worker.start()
    with open(args.pidfile + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.rename(args.pidfile + ".tmp", args.pidfile)
    LOG.info("listening on https://%s:%d/", args.host, args.port)
    while not stop.wait(1):
        pass
    httpd.shutdown()
    worker.join()
    httpd.server_close()
    LOG.info("stopped")
    return 0


def probe(args):
    context = ssl.create_default_context(cafile=args.ca)
    try:
        with urllib.request.urlopen(f"https://{args.host}:{args.port}/health", timeout=5,
                                    context=context) as r:
            return 0 if r.status == 200 else 1
    except OSError as e:
        print(f"probe: {e}", file=sys.stderr)
        return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    p = sub.add_parser("probe")
    for a in (s, p):
        a.add_argument("--host", default="127.0.0.1")
        a.add_argument("--port", type=int, required=True)
    for name in ("--cert", "--key", "--dir", "--tmpdir", "--token-file", "--pidfile"):
        s.add_argument(name, required=True)
    p.add_argument("--ca", required=True)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("loopback addresses only")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return serve(args) if args.command == "serve" else probe(args)


if __name__ == "__main__":
    sys.exit(main())
