#!/usr/bin/env python3
"""The HTTPS surface: TLS 1.0/1.1 refused (1.2 and 1.3 work), the gateway's problem codes
(413 payload_too_large, 415 unsupported_media_type, 400 invalid_request, 404 not_found,
405 method_not_allowed, 404 flow_not_found, 401 session_invalid) as application/problem+json
with every field, Korean details with Accept-Language: ko, the security headers on every answer,
request ids, /healthz and /readyz, CORS for the allowed intranet origin only, and a client that
sends half a request line is cut off after server.header_timeout.

  python3 test_protocol.py SSPRD [--directory openldap|ad]
"""
import os
import re
import socket
import ssl
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

HANGUL = re.compile("[\uac00-\ud7a3]")
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id"}


def legacy_tls_context(maximum, cafile=None, server=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
        # OpenSSL 3 refuses TLS < 1.2 at its default security level; level 0 lets this client
        # offer them, so that a refusal is the server's.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = maximum
    if not server:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ProtocolTest(harness.GatewayTestCase):
    GATEWAY_OPTIONS = {"overrides": {"server": {"max_body_bytes": 1024}}}

    # ---- TLS ----------------------------------------------------------------------------------

    def handshake(self, ctx, port=None):
        with socket.create_connection(("127.0.0.1", port or self.gw.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                return tls.version()

    def client_can_speak(self, version):
        """Control: this Python/OpenSSL can do `version` against a local server that allows it;
        otherwise a failed handshake with ssprd would prove nothing."""
        import threading
        server_ctx = legacy_tls_context(version, server=True)
        server_ctx.load_cert_chain(self.gw.cert, self.gw.key)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        result = {}

        def serve():
            conn, _ = listener.accept()
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as t:
                    result["server"] = t.version()
            except (ssl.SSLError, OSError) as e:
                result["server_error"] = str(e)

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            got = self.handshake(legacy_tls_context(version), listener.getsockname()[1])
        except (ssl.SSLError, OSError) as e:
            got = None
            result["client_error"] = str(e)
        t.join(10)
        listener.close()
        return got is not None, result

    def test_tls_1_0_and_1_1_are_refused(self):
        for version, name in ((ssl.TLSVersion.TLSv1, "TLSv1"), (ssl.TLSVersion.TLSv1_1,
                                                               "TLSv1.1")):
            ok, detail = self.client_can_speak(version)
            if not ok:
                self.skipTest(f"this OpenSSL cannot offer {name} even at SECLEVEL 0 "
                              f"({detail}); the refusal cannot be observed here")
            with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError),
                                   msg=f"{name} handshake was accepted"):
                got = self.handshake(legacy_tls_context(version))
                print(f"negotiated {got}", file=sys.stderr)

    def test_tls_1_2_and_1_3_work(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            ctx = ssl.create_default_context(cafile=self.gw.ca)
            ctx.minimum_version = version
            ctx.maximum_version = version
            self.assertEqual(self.handshake(ctx), {"TLSv1_2": "TLSv1.2",
                                                   "TLSv1_3": "TLSv1.3"}[version.name])

    def test_certificate_is_checked_by_clients(self):
        # Sanity of the harness: the gateway presents the certificate of our CA.
        ctx = ssl.create_default_context()  # the system store does not know our CA
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.handshake(ctx)

    # ---- problem bodies -----------------------------------------------------------------------

    def check_problem(self, r, status, code):
        body = self.assertProblem(r, status, code)
        self.assertEqual(set(body) & PROBLEM_KEYS, PROBLEM_KEYS)
        self.assertIsInstance(body["type"], str)
        self.assertTrue(body["title"] and body["detail"], r.describe())
        self.assertSecurityHeaders(r)
        return body

    def test_payload_too_large(self):
        r = self.api.post("/api/v1/reset/start", {"username": "a" * 2000})
        self.check_problem(r, 413, "payload_too_large")

    def test_payload_too_large_is_refused_from_the_header(self):
        # A Content-Length far over the limit is answered without waiting for the body.
        head = (b"POST /api/v1/reset/start HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n")
        status, text = self.raw_request(head, timeout=10)
        self.assertEqual(status, 413, text)

    def test_unsupported_media_type(self):
        for ctype in ("text/plain", "application/x-www-form-urlencoded; charset=utf-8", None):
            r = self.api.request("POST", "/api/v1/reset/start", raw='{"username":"t01"}',
                                 content_type=ctype)
            self.check_problem(r, 415, "unsupported_media_type")

    def test_invalid_request(self):
        for raw in ('{"username": ', '{"username": 5}', "{}", "[]", '"t01"',
                    b'{"username": "\xff\xfe"}',
                    '{"username": "t01", "usernmae": "t01"}'):  # unknown fields are refused
            r = self.api.request("POST", "/api/v1/reset/start", raw=raw)
            self.check_problem(r, 400, "invalid_request")
        r = self.api.post("/api/v1/reset/verify", {"flow": "x" * 22, "method": "email-0"})
        self.assertIn(r.status, (400, 404), r.describe())

    def test_not_found(self):
        for path in ("/api/v1/nope", "/api/v2/reset/start", "/api/v1/reset/start/extra"):
            r = self.api.get(path)
            self.check_problem(r, 404, "not_found")
        r = self.api.get("/definitely-not-here")
        self.assertStatus(r, 404)
        self.assertSecurityHeaders(r)

    def test_method_not_allowed(self):
        for method, path in (("GET", "/api/v1/reset/start"), ("DELETE", "/api/v1/reset/start"),
                             ("PUT", "/api/v1/password/change"),
                             ("POST", "/api/v1/enroll/methods"), ("POST", "/healthz")):
            r = self.api.request(method, path, body={} if method != "GET" else None)
            self.check_problem(r, 405, "method_not_allowed")
            allow = r.header("Allow") or ""
            self.assertTrue(allow, f"405 without Allow\n{r.describe()}")

    def test_flow_and_session_problems(self):
        r = self.api.post("/api/v1/reset/challenge", {"flow": "AAAAAAAAAAAAAAAAAAAAAA",
                                                      "method": "email-0"})
        self.check_problem(r, 404, "flow_not_found")
        r = self.api.get("/api/v1/enroll/methods")
        self.check_problem(r, 401, "session_invalid")
        r = self.api.delete("/api/v1/enroll/methods/email-0", token="bogus-token-value")
        self.check_problem(r, 401, "session_invalid")

    def test_korean_details(self):
        r = self.api.get("/api/v1/nope", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"})
        ko = self.check_problem(r, 404, "not_found")
        self.assertRegex(ko["detail"], HANGUL, "detail should be Korean")
        r = self.api.get("/api/v1/nope", headers={"Accept-Language": "en"})
        en = self.check_problem(r, 404, "not_found")
        self.assertNotRegex(en["detail"], HANGUL)
        self.assertEqual(ko["code"], en["code"], "the code never changes with the language")
        r = self.api.request("POST", "/api/v1/reset/start", raw="{", headers={
            "Accept-Language": "ko"})
        self.assertRegex(self.check_problem(r, 400, "invalid_request")["detail"], HANGUL)

    # ---- headers, health ------------------------------------------------------------------

    def test_security_headers_on_every_kind_of_answer(self):
        answers = [
            self.api.get("/healthz"),
            self.api.get("/readyz"),
            self.api.post("/api/v1/reset/start", {"username": "nobody-4711-y"}),
            self.api.get("/api/v1/nope"),
            self.api.get("/api/v1/reset/start"),
            self.api.request("POST", "/api/v1/reset/start", raw="x", content_type="text/plain"),
        ]
        ids = set()
        for r in answers:
            self.assertSecurityHeaders(r)
            ids.add(r.header("X-Request-Id"))
        self.assertEqual(len(ids), len(answers), f"request ids repeat: {ids}")
        start = answers[2]
        self.assertStatus(start, 200)
        self.assertEqual(start.content_type, "application/json", start.describe())
        harness.SECRETS.add(start.json()["flow"], "flow token")

    def test_health_and_readiness(self):
        r = self.api.get("/healthz")
        self.assertStatus(r, 200)
        r = self.api.get("/readyz")
        self.assertEqual(self.json_of(r, 200, "readyz"), {"directory": "ok", "store": "ok"})

    def test_keep_alive(self):
        c = self.gw.client(keep_alive=True)
        try:
            for _ in range(3):
                self.assertStatus(c.get("/healthz"), 200)
        finally:
            c.close()

    # ---- CORS ---------------------------------------------------------------------------------

    def test_cors_for_the_allowed_origin_only(self):
        origin = harness.ALLOWED_ORIGIN
        r = self.api.request("OPTIONS", "/api/v1/reset/start", content_type=None, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        self.assertIn(r.status, (200, 204), r.describe())
        self.assertEqual(r.header("Access-Control-Allow-Origin"), origin, r.describe())
        self.assertIn("POST", (r.header("Access-Control-Allow-Methods") or "").upper(),
                      r.describe())
        self.assertIn("content-type", (r.header("Access-Control-Allow-Headers") or "").lower(),
                      r.describe())
        r = self.api.post("/api/v1/reset/start", {"username": "nobody-4711-z"},
                          headers={"Origin": origin})
        self.assertStatus(r, 200)
        harness.SECRETS.add(r.json()["flow"], "flow token")
        self.assertEqual(r.header("Access-Control-Allow-Origin"), origin, r.describe())
        self.assertNotEqual(r.header("Access-Control-Allow-Origin"), "*")

        evil = "https://evil.example.net"
        r = self.api.request("OPTIONS", "/api/v1/reset/start", content_type=None, headers={
            "Origin": evil, "Access-Control-Request-Method": "POST"})
        self.assertNotIn(r.header("Access-Control-Allow-Origin"), (evil, "*"), r.describe())
        r = self.api.post("/api/v1/reset/start", {"username": "nobody-4711-z"},
                          headers={"Origin": evil})
        self.assertNotIn(r.header("Access-Control-Allow-Origin"), (evil, "*"), r.describe())
        if r.status != 200:
            self.check_problem(r, 403, "origin_not_allowed")
        else:
            harness.SECRETS.add(r.json()["flow"], "flow token")

    # ---- slow and broken clients ----------------------------------------------------------------

    def raw_request(self, data, timeout=10, gw=None):
        gw = gw or self.gw
        ctx = harness.Client.make_context(gw.ca)
        with socket.create_connection(("127.0.0.1", gw.port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(data)
                chunks = []
                try:
                    while True:
                        chunk = tls.recv(65536)
                        if not chunk:
                            break
                        chunks.append(chunk)
                        if b"\r\n\r\n" in b"".join(chunks):
                            break
                except (socket.timeout, ssl.SSLError, ConnectionResetError):
                    pass
        text = b"".join(chunks).decode("utf-8", "replace")
        m = re.match(r"HTTP/1\.[01] (\d{3})", text)
        return (int(m.group(1)) if m else None), text

    def test_garbage_is_a_bad_request(self):
        status, text = self.raw_request(b"THIS IS NOT HTTP\r\n\r\n")
        self.assertEqual(status, 400, text)

    def test_half_a_request_line_is_cut_off_after_header_timeout(self):
        gw = self.add_gateway(name="slow-headers",
                              overrides={"server": {"header_timeout": "2s"}})
        ctx = harness.Client.make_context(gw.ca)
        with socket.create_connection(("127.0.0.1", gw.port), timeout=20) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"POST /api/v1/reset/st")
                began = time.monotonic()
                received = b""
                closed = False
                try:
                    while True:
                        chunk = tls.recv(4096)
                        if not chunk:
                            closed = True
                            break
                        received += chunk
                except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
                    closed = True
                except socket.timeout:
                    pass
                waited = time.monotonic() - began
        print(f"slow client cut off after {waited:.2f}s; got {received[:60]!r}", file=sys.stderr)
        self.assertTrue(closed, f"connection still open after {waited:.1f}s (header_timeout 2s)")
        self.assertGreaterEqual(waited, 1.5, "cut off before header_timeout")
        self.assertLess(waited, 8, "cut off long after header_timeout")
        if received:
            self.assertRegex(received.decode("latin-1"), r"^HTTP/1\.1 (408|400)")
        # The gateway itself is fine.
        self.assertStatus(gw.client().get("/healthz"), 200)


if __name__ == "__main__":
    harness.main()
