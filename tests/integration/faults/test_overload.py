#!/usr/bin/env python3
"""Ten times the configured limits, on a private slapd:

  * connections: `server.max_connections` 16 held open (TLS keep-alive), then 160 new ones at
    once, three times over: each new one is closed right after accept (what gateway/README.md
    documents; the TLS handshake fails at once) within a second, none is served; once the held
    ones close, requests are served again; ssprd never ends and its RSS (VmRSS of
    /proc/PID/status) stays bounded and flat across the rounds;
  * work: `server.workers` 2 and `max_queued` 4 with slapd SIGSTOPped (every directory lookup
    holds a worker for the operation timeout): 60 concurrent `reset/start` get fast 503
    `overloaded` with Retry-After for all but the 6 that fit; after SIGCONT those end, /readyz is
    200 and a start succeeds.

  python3 test_overload.py SSPRD
"""
import os
import signal
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultenv  # noqa: E402
from faultenv import harness  # noqa: E402

MAX_CONNECTIONS = 16
FLOOD = 10 * MAX_CONNECTIONS
ROUNDS = 3
WORKERS = 2
MAX_QUEUED = 4
REQUESTS = 10 * (WORKERS + MAX_QUEUED)
FAST_S = 1.5
# RSS: at most this much above the baseline after every round, and this much growth between the
# first and the last round (a leak per refused connection would show here).
RSS_BOUND_KIB = 32 * 1024
RSS_FLAT_KIB = 4 * 1024


class OverloadTest(faultenv.FaultTestCase):
    USERS = ()
    GATEWAY_OPTIONS = {"overrides": {"server": {"max_connections": MAX_CONNECTIONS}}}

    def try_connection(self, gw, results, i):
        """One new connection: 'served' when a request gets an answer, else 'closed'."""
        began = time.monotonic()
        ctx = harness.Client.make_context(gw.ca)
        try:
            with socket.create_connection((gw.host, gw.port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                                b"Connection: close\r\n\r\n")
                    data = tls.recv(64)
                    outcome = "served" if data.startswith(b"HTTP/1.1 ") else "closed"
        except (ssl.SSLError, ConnectionError, OSError) as e:
            outcome = "closed" if not isinstance(e, socket.timeout) else "timeout"
        results[i] = (outcome, time.monotonic() - began)

    def test_1_ten_times_the_connection_limit(self):
        gw = self.gw
        held = [gw.client(keep_alive=True) for _ in range(MAX_CONNECTIONS)]
        try:
            for c in held:
                self.assertEqual(c.get("/healthz").status, 200)
            baseline = faultenv.rss_kib(gw.pid)
            after = []
            for rnd in range(ROUNDS):
                results = [None] * FLOOD
                threads = [threading.Thread(target=self.try_connection, args=(gw, results, i),
                                            daemon=True) for i in range(FLOOD)]
                began = time.monotonic()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(30)
                    self.assertFalse(t.is_alive(), "a flood connection hung")
                took = time.monotonic() - began
                outcomes = [r[0] for r in results]
                slowest = max(r[1] for r in results)
                self.assertTrue(gw.running(), f"ssprd ended under the flood\n{gw.tail()}")
                self.assertEqual(outcomes.count("closed"), FLOOD,
                                 f"round {rnd}: beyond max_connections every new connection is "
                                 f"closed: served {outcomes.count('served')}, timed out "
                                 f"{outcomes.count('timeout')}")
                self.assertLess(slowest, FAST_S, f"round {rnd}: slowest refusal {slowest:.2f}s")
                after.append(faultenv.rss_kib(gw.pid))
                print(f"round {rnd}: {FLOOD} closed in {took:.2f}s (slowest {slowest:.3f}s), "
                      f"RSS {after[-1]} KiB", file=sys.stderr)
            # The held connections still work.
            for c in held:
                self.assertEqual(c.get("/healthz").status, 200, "a held connection broke")
        finally:
            for c in held:
                c.close()
        # Served again once the held connections are gone (the server sees them close).
        deadline = time.monotonic() + 10
        results = [None]
        while time.monotonic() < deadline:
            self.try_connection(gw, results, 0)
            if results[0][0] == "served":
                break
            time.sleep(0.2)
        self.assertEqual(results[0][0], "served", "no request served after the flood")
        self.wait_ready()
        print(f"RSS: baseline {baseline} KiB, after rounds {after}", file=sys.stderr)
        for rss in after:
            self.assertLess(rss - baseline, RSS_BOUND_KIB, f"RSS {baseline} -> {after}")
        self.assertLess(after[-1] - after[0], RSS_FLAT_KIB, f"RSS grows per round: {after}")

    def test_2_ten_times_the_work_queue(self):
        gw = self.add_gateway(name="OverloadTest-queue", overrides={
            "server": {"workers": WORKERS, "max_queued": MAX_QUEUED},
            "directory": {"operation_timeout": "3s"}})
        client = gw.client()
        self.wait_ready(client=client)
        results = [None] * REQUESTS
        barrier = threading.Barrier(REQUESTS)

        def start(i):
            c = gw.client(timeout=30)
            try:
                barrier.wait(10)
                began = time.monotonic()
                r = c.post("/api/v1/reset/start", {"username": f"nobody-{i}"})
                code = r.json().get("code") if r.content_type.endswith("json") else None
                results[i] = (r.status, code, r.header("Retry-After"),
                              time.monotonic() - began)
            except Exception as e:  # noqa: BLE001 - reported below
                results[i] = ("error", type(e).__name__, None, 0.0)

        stopped = False
        threads = [threading.Thread(target=start, args=(i,), daemon=True)
                   for i in range(REQUESTS)]
        try:
            self.penv.signal_server("openldap", signal.SIGSTOP)
            stopped = True
            for t in threads:
                t.start()
            # The overloaded ones answer at once; the others wait for the directory.
            time.sleep(FAST_S)
            fast = [r for r in results if r is not None and r[3] < FAST_S]
        finally:
            if stopped:
                self.penv.signal_server("openldap", signal.SIGCONT)
        for t in threads:
            t.join(60)
            self.assertFalse(t.is_alive(), "a request hung after SIGCONT")
        self.assertTrue(gw.running(), f"ssprd ended under the load\n{gw.tail()}")
        errors = [r for r in results if r[0] == "error"]
        self.assertFalse(errors, f"requests without an answer: {errors[:5]}")
        overloaded = [r for r in results if r[0] == 503 and r[1] == "overloaded"]
        others = [r for r in results if r not in overloaded]
        summary = {}
        for r in results:
            summary[f"{r[0]} {r[1]}"] = summary.get(f"{r[0]} {r[1]}", 0) + 1
        print(f"{REQUESTS} concurrent starts with slapd stopped: {summary}; "
              f"{len(fast)} answered within {FAST_S}s", file=sys.stderr)
        self.assertGreaterEqual(len(overloaded), REQUESTS - 2 * (WORKERS + MAX_QUEUED),
                                f"too few 503 overloaded: {summary}")
        for r in overloaded:
            self.assertTrue(r[2], "503 overloaded without Retry-After")
            self.assertLess(r[3], FAST_S, f"a 503 overloaded took {r[3]:.2f}s")
        for r in others:
            self.assertIn(r[0], (200, 503), f"unexpected answer: {summary}")
        self.wait_ready(client=client)
        r = client.post("/api/v1/reset/start", {"username": "t01"})
        self.assertEqual(r.status, 200, r.describe())


if __name__ == "__main__":
    faultenv.main()
