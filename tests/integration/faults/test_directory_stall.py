#!/usr/bin/env python3
"""The directory hangs mid-`reset/complete`: a private slapd is SIGSTOPped (it keeps its TCP
connections open and answers nothing, like a wedged server) while a complete is in flight.

  * the request ends as 503 directory_unavailable within the directory timeouts (connect 1 s,
    operation 2 s here), never as "changed";
  * after SIGCONT the directory agrees with what the user was told: a 503 leaves the old password
    binding and the new one refused (a 200 the other way round);
  * a retry of complete after SIGCONT succeeds (the same flow, or if the gateway no longer takes
    that flow, a new one), and /readyz is 200 again: the pool recovers without a restart.

SIGSTOP is sent at several points of the request (before it, and at fractions of the normal
complete latency after it is sent) so the stall lands on the user search as well as on the
password change.

  python3 test_directory_stall.py SSPRD
"""
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultenv  # noqa: E402
from harness import enroll, new_password  # noqa: E402

CONNECT_TIMEOUT_S = 1
OPERATION_TIMEOUT_S = 2
# The longest a stalled complete may take: the user search and the change each wait one
# operation timeout at most, a reconnect one connect timeout, plus scheduling slack.
BOUND_S = 2 * OPERATION_TIMEOUT_S + CONNECT_TIMEOUT_S + 2
# How long to wait for a stalled request before calling it hung (server.request_timeout is 30 s).
HANG_S = 45
USERS = tuple(f"t{i:02d}" for i in range(1, 11))


class DirectoryStallTest(faultenv.FaultTestCase):
    USERS = USERS
    GATEWAY_OPTIONS = {"overrides": {"directory": {
        "connect_timeout": f"{CONNECT_TIMEOUT_S}s",
        "operation_timeout": f"{OPERATION_TIMEOUT_S}s",
        "backoff_min": "100ms", "backoff_max": "500ms"}}}

    def complete(self, flow, password):
        began = time.monotonic()
        r = self.api.post("/api/v1/reset/complete", {"flow": flow, "new_password": password})
        return r, time.monotonic() - began

    records = []

    def attempt(self, user, delay, initial):
        """One complete with slapd SIGSTOPped `delay` s after it was sent (None: before)."""
        flow = self.gated_flow(user)
        password = new_password("Stall")
        result = {}

        def send():
            try:
                result["resp"], result["took"] = self.complete(flow, password)
            except Exception as e:  # noqa: BLE001 - reported by the main thread
                result["error"] = e

        stopped = False
        worker = threading.Thread(target=send, daemon=True)
        try:
            if delay is None:
                self.penv.signal_server("openldap", signal.SIGSTOP)
                stopped = True
                worker.start()
            else:
                worker.start()
                time.sleep(delay)
                self.penv.signal_server("openldap", signal.SIGSTOP)
                stopped = True
            worker.join(HANG_S)
            self.assertFalse(worker.is_alive(),
                             f"SIGSTOP {'before' if delay is None else f'+{delay * 1000:.1f}ms'}"
                             f": complete still running {HANG_S}s after it (BOUND_S {BOUND_S}s)")
        finally:
            if stopped:
                self.penv.signal_server("openldap", signal.SIGCONT)
        if "error" in result:
            raise result["error"]
        r = result["resp"]
        rec = {"label": "before" if delay is None else f"+{delay * 1000:.1f}ms",
               "user": user, "flow": flow, "password": password, "resp": r,
               "took": result["took"], "reason": None}
        if r.status != 200:
            failed = [e for e in faultenv.audit_events(self.gw.audit_path)
                      if e.get("step") == "reset.complete" and e.get("outcome") != "ok"]
            rec["reason"] = failed[-1].get("reason") if failed else None
        # Give slapd the time to work off whatever reached it while it was stopped.
        time.sleep(1.0)
        rec["old_binds"] = self.dir.can_bind(user.login, initial)
        rec["new_binds"] = self.dir.can_bind(user.login, password)
        return rec

    @staticmethod
    def describe(rec):
        return (f"{rec['label']}: {rec['resp'].status} in {rec['took']:.2f}s "
                f"[{rec['reason'] or '-'}] old {'binds' if rec['old_binds'] else 'refused'}, "
                f"new {'binds' if rec['new_binds'] else 'refused'}")

    def test_1_sigstop_during_complete(self):
        initial = self.env.user_password
        enrolled = [enroll(self.api, u, initial, email=f"{u}@example.org", mailbox=self.mail)
                    for u in USERS]
        # The normal latency of complete, with a healthy directory (also proves the set-up).
        base_user = enrolled[0]
        pw = new_password("Base")
        r, normal = self.complete(self.gated_flow(base_user), pw)
        self.assertEqual(self.json_of(r, 200, "complete, directory healthy"),
                         {"result": "changed"})
        self.assertTrue(self.dir.can_bind(base_user.login, pw))
        print(f"normal complete: {normal * 1000:.1f} ms", file=sys.stderr)

        # None: SIGSTOP before the request is sent; else seconds after it was sent.
        delays = [None, 0.0] + [normal * f / 10 for f in range(1, 8)]
        for user, delay in zip(enrolled[1:], delays):
            rec = self.attempt(user, delay, initial)
            type(self).records.append(rec)
            r, label = rec["resp"], rec["label"]
            if r.status == 200:
                # The request beat the SIGSTOP: then the directory must hold the new password.
                self.assertEqual(r.json(), {"result": "changed"}, r.describe())
                self.assertTrue(rec["new_binds"], self.describe(rec))
                self.assertFalse(rec["old_binds"], self.describe(rec))
                continue
            self.assertProblem(r, 503, "directory_unavailable", f"SIGSTOP {label}")
            self.assertNotIn(b"changed", r.body, r.describe())
            self.assertLess(rec["took"], BOUND_S, self.describe(rec))
            # Where the stall hit: the user search, or the change itself ("ldap.…", after
            # the flow was claimed).
            self.assertTrue(rec["reason"] == "directory.unavailable" or
                            str(rec["reason"]).startswith("ldap."), self.describe(rec))
            if rec["reason"] == "directory.unavailable":
                # Stalled on the user search: the change was never sent.
                self.assertTrue(rec["old_binds"], self.describe(rec))
                self.assertFalse(rec["new_binds"], self.describe(rec))
            # The pool recovers: ready again, and a retry of the same flow with the same password
            # is "changed" whether or not the stalled change reached slapd (it may sit in slapd's
            # socket buffer and be applied after SIGCONT): a flow whose change had no answer is
            # left "completing", and its next completion first binds with the offered password.
            self.wait_ready()
            r2, _ = self.complete(rec["flow"], rec["password"])
            rec["retry"] = r2.status
            self.assertEqual(self.json_of(r2, 200, f"retry after SIGCONT ({self.describe(rec)})"),
                             {"result": "changed"})
            self.assertTrue(self.dir.can_bind(user.login, rec["password"]), label)
            self.assertFalse(self.dir.can_bind(user.login, initial), label)
        print("outcomes:\n  " + "\n  ".join(
            self.describe(rec) + (f"; retry {rec['retry']}" if "retry" in rec else "")
            for rec in self.records), file=sys.stderr)
        self.assertTrue(any(rec["resp"].status == 503 for rec in self.records),
                        "no attempt met the stalled directory")
        # After all of it, a fresh reset goes through on the recovered pool.
        pw = new_password("After")
        r, _ = self.complete(self.gated_flow(base_user), pw)
        self.assertEqual(self.json_of(r, 200, "complete after the stalls"), {"result": "changed"})


if __name__ == "__main__":
    faultenv.main()
