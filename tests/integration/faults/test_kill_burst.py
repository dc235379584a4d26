#!/usr/bin/env python3
"""`ssprd serve` is SIGKILLed during a burst of concurrent `reset/complete` (SQLite store, private
slapd), as soon as the first answer of the burst arrives, so some completes are done and others
are in flight. ssprd is started again on the same files, and for every flow:

  * answered 200 "changed": the new password binds and the old one does not, and the flow is
    spent (a second complete is refused, never "changed" again);
  * not answered (connection cut) or refused: the directory holds exactly one of the two
    passwords; if the old one, the flow is still usable (a complete now changes it) or gone
    (404 flow_not_found); if the new one, the same password again is refused as spent (the flow
    was marked) or, when the kill fell between the change and the mark, confirmed "changed" by
    a bind without a second write -- and after that the flow is spent;
  * `ssprd audit verify` accepts the audit chain right after the kill and at the end.

The directory is reached through a relay that passes each answer of slapd on DIRECTORY_LAG_MS
late, so a complete takes tens of milliseconds whatever the machine's load: without it, a quiet
machine sometimes finished all fifteen completes of a burst before the SIGKILL landed, and the
test saw no request in flight.

  python3 test_kill_burst.py SSPRD
"""
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultenv  # noqa: E402
from harness import enroll, new_password  # noqa: E402

USERS = tuple(f"t{i:02d}" for i in range(1, 31))
# Two bursts: SIGKILL at the first answer of the first, at the middle one of the second.
ROUNDS = ((USERS[:15], 1), (USERS[15:], 7))
BURST_BOUND_S = 30
# Each answer of the directory this much late: a complete (several LDAP round trips) takes
# well over the few milliseconds between the answer the kill waits for and the SIGKILL itself.
DIRECTORY_LAG_MS = 15


class KillBurstTest(faultenv.FaultTestCase):
    USERS = USERS

    ran = False

    @classmethod
    def gateway_options(cls):
        relay = cls.penv.start_relay(cls.penv.ports["ldaps"], delay_ms=DIRECTORY_LAG_MS)
        return {"overrides": {"directory": {"uris": [relay.uri]}}}

    def test_1_sigkill_during_a_burst_of_completes(self):
        type(self).ran = True
        counts = {}
        for logins, kill_after in ROUNDS:
            self.burst(logins, kill_after, counts)
        print(f"after the restarts: {counts}", file=sys.stderr)
        self.assertTrue(any(k.startswith("changed") for k in counts),
                        f"the kills came before any complete finished: {counts}")
        self.assertTrue(any(not k.startswith("changed") for k in counts),
                        f"the kills came after every complete finished: {counts}")

    def burst(self, logins, kill_after, counts):
        initial = self.env.user_password
        enrolled = [enroll(self.api, u, initial, email=f"{u}@example.org", mailbox=self.mail)
                    for u in logins]
        flows = [(u, self.gated_flow(u), new_password("Burst")) for u in enrolled]
        results = [None] * len(flows)
        answered = threading.Semaphore(0)
        barrier = threading.Barrier(len(flows))

        def send(i, flow, password):
            client = self.gw.client(timeout=BURST_BOUND_S)
            try:
                barrier.wait(10)
                r = client.post("/api/v1/reset/complete",
                                {"flow": flow, "new_password": password})
                results[i] = ("status", r.status, r.body)
            except Exception as e:  # noqa: BLE001 - a cut connection is an outcome here
                results[i] = ("error", type(e).__name__, b"")
            finally:
                answered.release()

        threads = [threading.Thread(target=send, args=(i, f, p), daemon=True)
                   for i, (_, f, p) in enumerate(flows)]
        for t in threads:
            t.start()
        for _ in range(kill_after):
            self.assertTrue(answered.acquire(timeout=BURST_BOUND_S), "no answer to the burst")
        self.gw.kill()  # SIGKILL by PID, then wait
        killed_at = time.monotonic()
        for t in threads:
            t.join(BURST_BOUND_S)
            self.assertFalse(t.is_alive(), "a request of the burst hung after the SIGKILL")
        print(f"threads done {time.monotonic() - killed_at:.2f}s after SIGKILL", file=sys.stderr)

        vrc, out = self.gw.audit_verify()
        self.assertEqual(vrc, 0, f"ssprd audit verify right after SIGKILL: {out.strip()}")

        self.gw.start()
        self.wait_ready()
        for (user, flow, password), res in zip(flows, results):
            old = self.dir.can_bind(user.login, initial)
            new = self.dir.can_bind(user.login, password)
            what = f"{user.login}: {res[0]} {res[1]}, old {old}, new {new}"
            self.assertNotEqual(old, new, f"exactly one password must bind: {what}")
            if res[0] == "status" and res[1] == 200:
                kind = "changed"
                self.assertIn(b'"changed"', res[2], what)
                self.assertTrue(new, what)
            elif res[0] == "status":
                kind = f"refused {res[1]}"
                self.assertIn(res[1], (503,), f"unexpected answer in the burst: {what}")
            else:
                kind = "cut"
            # After the restart, the same password again: a flow whose change went through is
            # spent if it was marked, or (killed between the change and the mark) is asked about
            # first and told "changed" without writing again; either way it is spent after that.
            # A flow whose change did not go through is usable or gone.
            r = self.api.post("/api/v1/reset/complete", {"flow": flow, "new_password": password})
            if new and r.status == 200:
                self.assertEqual(r.json(), {"result": "changed"}, r.describe())
                self.assertTrue(self.dir.can_bind(user.login, password), what)
                again = self.api.post("/api/v1/reset/complete",
                                      {"flow": flow, "new_password": new_password("Third")})
                self.assertProblem(again, 404, "flow_not_found", f"answered twice: {what}")
                kind += ", confirmed after the restart, then spent"
            elif new:
                self.assertProblem(r, 404, "flow_not_found", f"changed, not spent: {what}")
                kind += ", spent"
            elif r.status == 200:
                self.assertEqual(r.json(), {"result": "changed"}, r.describe())
                self.assertTrue(self.dir.can_bind(user.login, password), what)
                kind += ", still usable"
            else:
                self.assertProblem(r, 404, "flow_not_found", f"neither usable nor gone: {what}")
                kind += ", gone"
            counts[kind] = counts.get(kind, 0) + 1
        vrc, out = self.gw.audit_verify()
        self.assertEqual(vrc, 0, f"ssprd audit verify after the restart: {out.strip()}")


if __name__ == "__main__":
    faultenv.main()
