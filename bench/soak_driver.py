#!/usr/bin/env python3
"""The load and the sampling of bench/run-soak (python3 standard library and the gateway tests'
harness.py only; run-soak starts slapd and ssprd and passes everything on the command line).

  soak_driver.py --port P --ca FILE --pid PID --users N --duration S [--rate R]
                 [--hostile-rate H] [--interval S] [--config FILE --floored-config FILE]

1. Enrolls users bench0001..N with TOTP through the API (8 at a time). The password they start
   with comes from the environment (SSPR_SOAK_USER_PASSWORD), never from argv.
2. With --floored-config: copies it over --config and reloads ssprd (SIGHUP), then checks that a
   reset/start now takes at least 200 ms (the shipped response floor is in force).
3. For --duration seconds: full reset flows (start, verify with the user's TOTP code, complete with
   a fresh password), each on a new HTTPS connection (kept alive for its three requests), started
   at --rate per second on a fixed schedule, users taken round-robin (each user's next flow is
   N/rate seconds later: at least 40 s, so no TOTP step is used twice); at most 32 in flight, a
   flow that would exceed that is counted as `late` and not run. Beside them, --hostile-rate
   requests per second cycling through a malformed JSON body (400), an unknown path (404) and a
   wrong TOTP code for one attacked (unknown) name, whose failed_proofs bucket blocks it after 5
   (then 429).
4. Every --interval seconds: ssprd's VmRSS, open fds, threads (/proc/PID), the store's size on
   disk, and the flows finished in that interval (count, p99, failures).

Prints one line per sample, a summary (growth of RSS and fds between the mean of the first and the
last third of the samples; failures with the step and status, never a code or password) and last
`soak_rss_growth_kib=V`, `soak_fd_growth=V`, `soak_failed_flows=V`. Exit status 1 when a flow
failed, a hostile request got an answer outside its expected statuses, or ssprd died.
"""

import argparse
import os
import shutil
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "gateway"))

import harness  # noqa: E402  (after the path above)

MAX_IN_FLIGHT = 32
ENROLL_THREADS = 8
ATTACKED = "soak-attacker"
HOSTILE_EXPECTED = {"malformed": {400}, "not_found": {404}, "throttled": {400, 401, 403, 429}}


def p99(values):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * 0.99 + 0.999999) - 1))]


def proc_sample(pid):
    """(rss_kib, fds, threads, anon_kib) of a live process; None when it is gone. anon_kib is
    RssAnon (heap, stacks), the part a leak grows; the rest of VmRSS is file-backed (library text,
    SQLite's shared memory) and shared memory."""
    try:
        fields = {}
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "Threads"):
                    fields[key] = int(value.split()[0])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return fields["VmRSS"], fds, fields["Threads"], fields["RssAnon"]
    except (FileNotFoundError, ProcessLookupError):
        return None


def store_kib(directory):
    total = 0
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        try:
            total += os.path.getsize(os.path.join(directory, name))
        except FileNotFoundError:
            pass
    return total // 1024


class Tally:
    """What the workers report; one lock, held for a few appends only."""

    def __init__(self):
        self.lock = threading.Lock()
        self.durations = []  # ms of the flows finished since the last take()
        self.failed_in_window = 0
        self.failures = []  # (when, login, step, status, code) for the first 20
        self.failed = 0
        self.flows = 0
        self.late = 0
        self.hostile = {k: {} for k in HOSTILE_EXPECTED}  # kind -> status -> count
        self.hostile_errors = []

    def flow_done(self, ms):
        with self.lock:
            self.durations.append(ms)
            self.flows += 1

    def flow_failed(self, login, step, status, code):
        with self.lock:
            self.failed += 1
            self.failed_in_window += 1
            if len(self.failures) < 20:
                self.failures.append((time.strftime("%H:%M:%S"), login, step, status, code))

    def hostile_answer(self, kind, status):
        with self.lock:
            self.hostile[kind][status] = self.hostile[kind].get(status, 0) + 1

    def take(self):
        with self.lock:
            d, f = self.durations, self.failed_in_window
            self.durations, self.failed_in_window = [], 0
            return d, f


def problem_code(resp):
    try:
        body = resp.json()
        return body.get("code", "") if isinstance(body, dict) else ""
    except ValueError:
        return ""


def enroll_all(args, password):
    users = [f"bench{i:04d}" for i in range(1, args.users + 1)]
    enrolled = [None] * len(users)
    errors = []
    next_index = [0]
    lock = threading.Lock()

    def worker():
        client = harness.Client("127.0.0.1", args.port, args.ca, keep_alive=True, timeout=30)
        try:
            while True:
                with lock:
                    if errors or next_index[0] >= len(users):
                        return
                    i = next_index[0]
                    next_index[0] += 1
                try:
                    enrolled[i] = harness.enroll(client, users[i], password, totp=True)
                except Exception as e:  # noqa: BLE001 - reported, stops the others
                    with lock:
                        errors.append(f"{users[i]}: {str(e).splitlines()[0]}")
                    return
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(ENROLL_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("soak: enrollment failed: " + errors[0])
    return enrolled


def reload_floored(args):
    shutil.copyfile(args.floored_config, args.config)
    os.kill(args.pid, signal.SIGHUP)
    client = harness.Client("127.0.0.1", args.port, args.ca)
    for _ in range(20):
        time.sleep(0.5)
        r = client.post("/api/v1/reset/start", {"username": "soak-floor-probe"})
        if r.status == 200 and r.elapsed >= 0.2:
            return
    raise SystemExit("soak: the response floor is not in force 10 s after the reload")


def run_flow(args, tally, user):
    client = harness.Client("127.0.0.1", args.port, args.ca, keep_alive=True, timeout=30)
    step = "start"
    t0 = time.monotonic()
    try:
        r = client.post("/api/v1/reset/start", {"username": user.login})
        if r.status != 200:
            return tally.flow_failed(user.login, step, r.status, problem_code(r))
        body = r.json()
        method = harness.method_of(body, "totp")
        if method is None:
            return tally.flow_failed(user.login, step, r.status, "no totp method")
        step = "verify"
        r = client.post("/api/v1/reset/verify", {"flow": body["flow"], "method": method["id"],
                                                  "code": user.totp.code()})
        if r.status != 200:
            return tally.flow_failed(user.login, step, r.status, problem_code(r))
        step = "complete"
        r = client.post("/api/v1/reset/complete", {"flow": body["flow"],
                                                    "new_password": harness.new_password("Soak")})
        if r.status != 200 or r.json().get("result") != "changed":
            return tally.flow_failed(user.login, step, r.status, problem_code(r))
        tally.flow_done((time.monotonic() - t0) * 1000.0)
    except Exception as e:  # noqa: BLE001 - a connection error is a failed flow, not a crash
        tally.flow_failed(user.login, step, "-", type(e).__name__)
    finally:
        client.close()


def hostile_loop(args, tally, stop):
    client = harness.Client("127.0.0.1", args.port, args.ca, timeout=30)
    kinds = list(HOSTILE_EXPECTED)
    flow = None
    begin = time.monotonic()
    n = 0
    while not stop.is_set():
        due = begin + n / args.hostile_rate
        if stop.wait(max(0.0, due - time.monotonic())):
            break
        kind = kinds[n % len(kinds)]
        n += 1
        try:
            if kind == "malformed":
                r = client.post("/api/v1/reset/start", raw='{"username":')
            elif kind == "not_found":
                r = client.get("/api/v1/no-such-endpoint")
            else:
                if flow is None:
                    s = client.post("/api/v1/reset/start", {"username": ATTACKED})
                    if s.status == 200:
                        flow = s.json()
                    else:
                        tally.hostile_answer(kind, s.status)
                        continue
                m = harness.method_of(flow, "totp") or (flow.get("methods") or [{}])[0]
                r = client.post("/api/v1/reset/verify", {"flow": flow["flow"],
                                                          "method": m.get("id", "totp"),
                                                          "code": "000000"})
                if r.status != 400 and r.status != 401:
                    flow = None  # blocked or gone: the next one starts a new flow
            tally.hostile_answer(kind, r.status)
        except Exception as e:  # noqa: BLE001 - counted, the soak goes on
            tally.hostile_answer(kind, type(e).__name__)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--workdir", required=True, help="ssprd's directory (the SQLite store)")
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--duration", type=int, required=True)
    ap.add_argument("--rate", type=float, default=4.0)
    ap.add_argument("--hostile-rate", type=float, default=3.0)
    ap.add_argument("--interval", type=int, default=10)
    ap.add_argument("--config")
    ap.add_argument("--floored-config")
    args = ap.parse_args()
    if not 0.1 <= args.rate <= 50 or not 0.1 <= args.hostile_rate <= 100:
        ap.error("--rate must be 0.1..50, --hostile-rate 0.1..100")
    if args.users < 40 * args.rate:
        ap.error(f"--users must be at least 40 x --rate ({int(40 * args.rate)}): a user's flows "
                 "must be a TOTP step apart")
    if args.duration < 3 * args.interval:
        ap.error("--duration must be at least 3 intervals")
    password = os.environ.get("SSPR_SOAK_USER_PASSWORD")
    if not password:
        ap.error("SSPR_SOAK_USER_PASSWORD is not set")

    t = time.monotonic()
    users = enroll_all(args, password)
    print(f"soak: enrolled {len(users)} users in {time.monotonic() - t:.0f}s", file=sys.stderr)
    if args.floored_config:
        reload_floored(args)
        print("soak: reloaded with the shipped response floor", file=sys.stderr)

    tally = Tally()
    stop = threading.Event()
    slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
    workers = []

    def flow_thread(user):
        try:
            run_flow(args, tally, user)
        finally:
            slots.release()

    def scheduler():
        begin = time.monotonic()
        n = 0
        while not stop.is_set():
            due = begin + n / args.rate
            if stop.wait(max(0.0, due - time.monotonic())):
                return
            user = users[n % len(users)]
            n += 1
            if not slots.acquire(blocking=False):
                with tally.lock:
                    tally.late += 1
                continue
            th = threading.Thread(target=flow_thread, args=(user,), daemon=True)
            th.start()
            workers.append(th)
            if len(workers) > 4 * MAX_IN_FLIGHT:
                workers[:] = [w for w in workers if w.is_alive()]

    background = [threading.Thread(target=scheduler), threading.Thread(
        target=hostile_loop, args=(args, tally, stop))]
    samples = []
    died = False
    begin = time.monotonic()
    first = proc_sample(args.pid)
    if first is None:
        raise SystemExit(f"soak: ssprd (pid {args.pid}) is not running")
    print(f"soak: start rss_kib={first[0]} anon_kib={first[3]} fds={first[1]} "
          f"threads={first[2]}; "
          f"{args.rate:g} flows/s, {args.hostile_rate:g} hostile req/s, {args.duration}s",
          file=sys.stderr)
    for th in background:
        th.start()
    try:
        for k in range(1, args.duration // args.interval + 1):
            time.sleep(max(0.0, begin + k * args.interval - time.monotonic()))
            s = proc_sample(args.pid)
            durations, failed = tally.take()
            if s is None:
                died = True
                print("soak: ssprd is gone", file=sys.stderr)
                break
            sample = {"t": k * args.interval, "rss_kib": s[0], "fds": s[1], "threads": s[2],
                      "anon_kib": s[3], "store_kib": store_kib(args.workdir),
                      "flows": len(durations), "p99_ms": p99(durations), "failed": failed}
            samples.append(sample)
            p = "-" if sample["p99_ms"] is None else f"{sample['p99_ms']:.0f}"
            print(f"sample t={sample['t']:>4}s rss_kib={s[0]} anon_kib={s[3]} fds={s[1]} "
                  f"threads={s[2]} "
                  f"store_kib={sample['store_kib']} flows={sample['flows']} p99_ms={p} "
                  f"failed={failed}", flush=True)
    finally:
        stop.set()
        for th in background:
            th.join(60)
        for th in list(workers):
            th.join(60)
    durations, failed = tally.take()  # flows that finished after the last sample

    third = max(1, len(samples) // 3)
    head, tail = samples[:third], samples[-third:]

    def mean(rows, key):
        return sum(r[key] for r in rows) / len(rows) if rows else 0.0

    rss_growth = mean(tail, "rss_kib") - mean(head, "rss_kib")
    fd_growth = mean(tail, "fds") - mean(head, "fds")
    print(f"soak: {tally.flows} flows done, {tally.failed} failed, {tally.late} late (not run: "
          f"{MAX_IN_FLIGHT} in flight); {len(durations)} finished after the last sample")
    print(f"soak: first third (samples 1-{third}): rss_kib {mean(head, 'rss_kib'):.0f} "
          f"(anon {mean(head, 'anon_kib'):.0f}), fds {mean(head, 'fds'):.1f}; last third: "
          f"rss_kib {mean(tail, 'rss_kib'):.0f} (anon {mean(tail, 'anon_kib'):.0f}), "
          f"fds {mean(tail, 'fds'):.1f}; threads {min(r['threads'] for r in samples)}.."
          f"{max(r['threads'] for r in samples)}" if samples else "soak: no samples")
    all_p99 = [r["p99_ms"] for r in samples if r["p99_ms"] is not None]
    if all_p99:
        print(f"soak: per-interval flow p99 {min(all_p99):.0f}..{max(all_p99):.0f} ms")
    unexpected = []
    for kind, statuses in tally.hostile.items():
        text = ", ".join(f"{st}: {n}" for st, n in sorted(statuses.items(), key=str))
        print(f"soak: hostile {kind}: {text or 'none'}")
        unexpected += [f"{kind} {st} x{n}" for st, n in statuses.items()
                       if st not in HOSTILE_EXPECTED[kind]]
    if 429 not in tally.hostile["throttled"]:
        unexpected.append("throttled: never a 429")
    for when, login, step, status, code in tally.failures:
        print(f"soak: failed flow at {when}: {login} {step} -> {status} {code}")
    if unexpected:
        print("soak: unexpected hostile answers: " + "; ".join(unexpected))
    print(f"soak_rss_growth_kib={rss_growth:.0f}")
    print(f"soak_fd_growth={fd_growth:.1f}")
    print(f"soak_failed_flows={tally.failed}")
    return 1 if (tally.failed or unexpected or died) else 0


if __name__ == "__main__":
    sys.exit(main())
