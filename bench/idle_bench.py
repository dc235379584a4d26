#!/usr/bin/env python3
"""The client side of bench/run-idle-bench: holds N idle TLS keep-alive connections open on ssprd
and measures what they cost it and whether new requests are still answered meanwhile.

Usage: idle_bench.py --port PORT --ca CA --pid SSPRD_PID [options]  (--help lists them)

1. Warm-up: one connection, a few `GET /healthz`; then ssprd's memory is read (VmRSS, RssAnon from
   /proc/PID/status, Rss and Anonymous from /proc/PID/smaps_rollup).
2. --procs worker processes open --connections connections between them: TCP connect, a full
   TLS 1.3 handshake (no session is offered, so none is resumed; the certificate is verified
   against CA), one `GET /healthz` answered 200 on each, after which it stays open and idle.
   At most --window handshakes are in progress per worker at once.
3. After --settle seconds, ssprd's memory is read again: per connection = (after - before) / N.
4. While they are held: --probe-requests `GET /healthz` over --probe-connections fresh keep-alive
   connections (one thread each, one request at a time); p50/p99/max of each request's time, and
   the time of each probe connection's handshake.
5. Each worker reports the connections the server closed during the hold (a held connection that
   becomes readable: EOF, close_notify or a reset) and sends one more request on a sample of its
   connections (--sample in all), each of which must be answered 200.

Prints the figures; the last lines are `idle_rss_kib_per_conn=<v>` (from VmRSS) and
`idle_new_request_p99_ms=<v>`. Exits 1 if a connection could not be opened, a held connection
was closed by the server, or a sampled one did not answer; 2 if the run passed --deadline.
"""

import argparse
import errno
import multiprocessing as mp
import os
import random
import selectors
import socket
import ssl
import sys
import threading
import time

HOST = "127.0.0.1"


def request_bytes(port):
    return f"GET /healthz HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: idle-bench\r\n\r\n".encode()


def client_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


class response_reader:
    """Accumulates bytes until one whole response (headers + Content-Length body) is in."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        """Returns the status code once the response is complete, else None."""
        self.buf += data
        head, sep, rest = self.buf.partition(b"\r\n\r\n")
        if not sep:
            return None
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if len(rest) < length:
            return None
        self.buf = rest[length:]
        return int(head.split(b" ", 2)[1])


# ---- the workers that open and hold the idle connections ---------------------------------------

class held:
    __slots__ = ("sock", "state", "reader", "started")

    def __init__(self, sock):
        self.sock = sock
        self.state = "handshake"
        self.reader = response_reader()
        self.started = time.monotonic()


def open_connections(ctx, port, count, window, deadline):
    """Opens `count` connections, each with one request answered. Returns (open list, failures,
    first failure text)."""
    req = request_bytes(port)
    sel = selectors.DefaultSelector()
    done, failures, first_failure = [], 0, ""
    in_progress = 0
    started = 0

    def fail(c, why):
        nonlocal failures, first_failure, in_progress
        failures += 1
        first_failure = first_failure or why
        in_progress -= 1
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()

    def advance(c):
        """Runs one connection's state machine as far as it goes without blocking."""
        nonlocal in_progress
        try:
            if c.state == "handshake":
                c.sock.do_handshake()
                c.state = "send"
            if c.state == "send":
                c.sock.send(req)
                c.state = "read"
            while c.state == "read":
                data = c.sock.recv(16384)
                if not data:
                    return fail(c, "closed before the first answer")
                status = c.reader.feed(data)
                if status is not None:
                    if status != 200:
                        return fail(c, f"first request answered {status}")
                    c.state = "idle"
            sel.unregister(c.sock)
            in_progress -= 1
            done.append(c)
        except ssl.SSLWantReadError:
            sel.modify(c.sock, selectors.EVENT_READ, c)
        except ssl.SSLWantWriteError:
            sel.modify(c.sock, selectors.EVENT_WRITE, c)
        except (OSError, ssl.SSLError) as e:
            fail(c, f"{c.state}: {e}")

    while len(done) + failures < count:
        if time.monotonic() > deadline:
            break
        while started < count and in_progress < window:
            started += 1
            try:
                raw = socket.create_connection((HOST, port), timeout=10)
            except OSError as e:
                failures += 1
                first_failure = first_failure or f"connect: {e}"
                continue
            raw.setblocking(False)
            sock = ctx.wrap_socket(raw, server_hostname=HOST, do_handshake_on_connect=False)
            c = held(sock)
            in_progress += 1
            sel.register(sock, selectors.EVENT_READ, c)
            advance(c)
        for key, _ in sel.select(timeout=0.5):
            advance(key.data)
        now = time.monotonic()
        for key in list(sel.get_map().values()):
            if now - key.data.started > 30:
                fail(key.data, f"{key.data.state}: no progress in 30 s")
    sel.close()
    return done, failures, first_failure


def worker(conn, port, ca, count, window, deadline, seed):
    """Opens `count` connections, reports, holds them until told to check, then checks."""
    try:
        ctx = client_context(ca)
        t0 = time.monotonic()
        conns, failures, why = open_connections(ctx, port, count, window, deadline)
        conn.send(("opened", len(conns), failures, why, time.monotonic() - t0))

        # Hold: any readable held connection is one the server closed (or wrote to unasked).
        sel = selectors.DefaultSelector()
        for c in conns:
            sel.register(c.sock, selectors.EVENT_READ, c)
        sel.register(conn, selectors.EVENT_READ, None)
        closed = []
        command = None
        while command is None:
            if time.monotonic() > deadline:
                command = ("quit",)
                break
            for key, _ in sel.select(timeout=1.0):
                if key.data is None:
                    command = conn.recv()
                    continue
                c = key.data
                try:
                    data = c.sock.recv(16384)
                    if data:
                        continue  # post-handshake TLS data or an unasked answer: still open
                    why = "eof"
                except ssl.SSLWantReadError:
                    continue
                except (OSError, ssl.SSLError) as e:
                    why = type(e).__name__
                sel.unregister(c.sock)
                c.state = "closed:" + why
                closed.append(c)
        sel.close()
        if command[0] != "check":
            return
        sample_n = command[1]
        alive = [c for c in conns if c.state == "idle"]
        rng = random.Random(seed)
        sample = rng.sample(alive, min(sample_n, len(alive)))
        answered, bad, bad_why = 0, 0, ""
        req = request_bytes(port)
        for c in sample:
            try:
                c.sock.setblocking(True)
                c.sock.settimeout(10)
                c.sock.sendall(req)
                status = None
                while status is None:
                    data = c.sock.recv(16384)
                    if not data:
                        raise OSError("closed by the server")
                    status = c.reader.feed(data)
                if status == 200:
                    answered += 1
                else:
                    bad += 1
                    bad_why = bad_why or f"answered {status}"
            except (OSError, ssl.SSLError) as e:
                bad += 1
                bad_why = bad_why or str(e)
        reasons = {}
        for c in closed:
            reasons[c.state] = reasons.get(c.state, 0) + 1
        conn.send(("checked", len(closed), reasons, len(sample), answered, bad, bad_why))
        for c in conns:
            c.sock.close()
    except Exception as e:  # the parent must hear of it rather than wait for the deadline
        conn.send(("error", f"{type(e).__name__}: {e}"))


# ---- ssprd's memory -----------------------------------------------------------------------------

def memory_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                out[key] = int(value.split()[0])
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Rss", "Anonymous", "Private_Dirty"):
                out["smaps_" + key] = int(value.split()[0])
    out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- the probe: new requests while the idle ones are held ---------------------------------------

def probe(port, ca, connections, requests, deadline):
    """Returns (request latencies in s, handshake times in s, failures, first failure)."""
    ctx = client_context(ca)
    req = request_bytes(port)
    lat, hs, lock = [], [], threading.Lock()
    failures = [0, ""]

    def run(n):
        try:
            t0 = time.perf_counter()
            s = ctx.wrap_socket(socket.create_connection((HOST, port), timeout=10),
                                server_hostname=HOST)
            t1 = time.perf_counter()
            s.settimeout(10)
            reader = response_reader()
            mine = []
            for _ in range(n):
                if time.monotonic() > deadline:
                    raise TimeoutError("deadline")
                t = time.perf_counter()
                s.sendall(req)
                status = None
                while status is None:
                    data = s.recv(16384)
                    if not data:
                        raise OSError("closed by the server")
                    status = reader.feed(data)
                mine.append(time.perf_counter() - t)
                if status != 200:
                    raise OSError(f"answered {status}")
            s.close()
            with lock:
                lat.extend(mine)
                hs.append(t1 - t0)
        except (OSError, ssl.SSLError) as e:
            with lock:
                failures[0] += 1
                failures[1] = failures[1] or str(e)

    per = [requests // connections + (1 if i < requests % connections else 0)
           for i in range(connections)]
    threads = [threading.Thread(target=run, args=(n,)) for n in per]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, hs, failures[0], failures[1]


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--pid", type=int, required=True, help="ssprd's PID (its memory is read)")
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--window", type=int, default=64, help="handshakes in progress per worker")
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--probe-requests", type=int, default=2000)
    ap.add_argument("--probe-connections", type=int, default=4)
    ap.add_argument("--sample", type=int, default=500)
    ap.add_argument("--deadline", type=float, default=150.0, help="seconds for the whole run")
    a = ap.parse_args()
    deadline = time.monotonic() + a.deadline

    # Warm-up, so that what ssprd allocates once (first request, first handshake per thread) is
    # in the "before" figure.
    lat, _, bad, why = probe(a.port, a.ca, 2, 20, deadline)
    if bad:
        print(f"idle_bench: the warm-up failed: {why}", file=sys.stderr)
        return 1
    time.sleep(1)
    before = memory_kib(a.pid)
    cpu0 = cpu_seconds(a.pid)

    per = [a.connections // a.procs + (1 if i < a.connections % a.procs else 0)
           for i in range(a.procs)]
    pipes, procs = [], []
    t0 = time.monotonic()
    for i, n in enumerate(per):
        parent, child = mp.Pipe()
        p = mp.Process(target=worker, args=(child, a.port, a.ca, n, a.window, deadline, i))
        p.start()
        pipes.append(parent)
        procs.append(p)

    def collect(kind):
        out = []
        for pipe in pipes:
            left = deadline - time.monotonic()
            if left <= 0 or not pipe.poll(left):
                raise TimeoutError(f"no '{kind}' from a worker before the deadline")
            msg = pipe.recv()
            if msg[0] == "error":
                raise RuntimeError(f"worker: {msg[1]}")
            out.append(msg)
        return out

    rc = 0
    try:
        opened = collect("opened")
        open_s = time.monotonic() - t0
        cpu1 = cpu_seconds(a.pid)
        n_open = sum(m[1] for m in opened)
        n_failed = sum(m[2] for m in opened)
        print(f"opened {n_open} of {a.connections} idle connections in {open_s:.1f} s "
              f"({n_open / open_s:.0f}/s, {a.procs} client processes, TLS 1.3 full handshake + "
              f"one GET /healthz each); ssprd CPU {1e6 * (cpu1 - cpu0) / max(n_open, 1):.0f} "
              f"us per connection")
        if n_failed:
            print(f"  {n_failed} could not be opened; first: "
                  f"{next(m[3] for m in opened if m[3])}")
            rc = 1
        time.sleep(a.settle)
        after = memory_kib(a.pid)
        print(f"ssprd memory, KiB   {'before':>10} {'after':>10} {'per conn':>9}")
        for key in ("VmRSS", "RssAnon", "RssFile", "smaps_Rss", "smaps_Anonymous",
                    "smaps_Private_Dirty"):
            d = (after[key] - before[key]) / max(n_open, 1)
            print(f"  {key:<18}{before[key]:>10} {after[key]:>10} {d:>9.2f}")
        print(f"  open fds {before['fds']} -> {after['fds']}, threads {after['Threads']}")
        per_conn = (after["VmRSS"] - before["VmRSS"]) / max(n_open, 1)

        cpu2 = cpu_seconds(a.pid)
        t2 = time.monotonic()
        lat, hs, bad, why = probe(a.port, a.ca, a.probe_connections, a.probe_requests, deadline)
        probe_s = time.monotonic() - t2
        probe_cpu_us = 1e6 * (cpu_seconds(a.pid) - cpu2) / max(len(lat), 1)
        if bad:
            print(f"probe: {bad} of {a.probe_connections} probe connections failed: {why}")
            rc = 1
        p99_ms = percentile(lat, 99) * 1000 if lat else float("nan")
        if lat:
            print(f"new requests while {n_open} are held: {len(lat)} GET /healthz over "
                  f"{a.probe_connections} fresh keep-alive connections (one at a time each): "
                  f"p50 {percentile(lat, 50) * 1000:.2f} ms  p99 {p99_ms:.2f} ms  "
                  f"max {max(lat) * 1000:.2f} ms; their handshakes "
                  f"{', '.join(f'{h * 1000:.1f}' for h in sorted(hs))} ms; "
                  f"{len(lat) / probe_s:.0f} req/s, ssprd CPU {probe_cpu_us:.0f} us per request "
                  f"(handshakes included)")

        for i, pipe in enumerate(pipes):
            pipe.send(("check", a.sample // a.procs + (1 if i < a.sample % a.procs else 0)))
        checked = collect("checked")
        closed = sum(m[1] for m in checked)
        reasons = {}
        for m in checked:
            for k, v in m[2].items():
                reasons[k] = reasons.get(k, 0) + v
        sampled = sum(m[3] for m in checked)
        answered = sum(m[4] for m in checked)
        sample_bad = sum(m[5] for m in checked)
        print(f"held connections closed by the server: {closed}"
              + (f" ({', '.join(f'{k} {v}' for k, v in sorted(reasons.items()))})"
                 if reasons else ""))
        print(f"sample of held connections asked again: {answered} of {sampled} answered 200"
              + (f"; first failure: {next(m[6] for m in checked if m[6])}" if sample_bad else ""))
        if closed or sample_bad:
            rc = 1
        print(f"idle_rss_kib_per_conn={per_conn:.1f}")
        print(f"idle_new_request_p99_ms={p99_ms:.2f}")
    except (TimeoutError, RuntimeError) as e:
        print(f"idle_bench: {e}", file=sys.stderr)
        rc = 2
    finally:
        for pipe in pipes:
            try:
                pipe.send(("quit",))
            except OSError:
                pass
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
                p.join()
    return rc


if __name__ == "__main__":
    sys.exit(main())
