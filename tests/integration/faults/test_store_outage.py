#!/usr/bin/env python3
"""The store goes away: `ssprd serve` on a private PostgreSQL (store.backend postgres), which is
stopped (fast shutdown: the gateway's pooled connections are cut) in the middle of a reset.

  * every flow step answers 503 service_unavailable (with Retry-After) within a bounded time,
    never 500 and never a success; /readyz answers 503 naming the store (directory still "ok");
    /healthz stays 200 (liveness only);
  * PostgreSQL started again: /readyz is 200 again and the flow begun before the outage
    completes, with the same ssprd process (same PID, never restarted).

  python3 test_store_outage.py SSPRD
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultenv  # noqa: E402
from harness import enroll, method_of, new_password  # noqa: E402

USER = "t02"
STEP_BOUND_S = 10


class StoreOutageTest(faultenv.FaultTestCase):
    POSTGRES = True
    USERS = (USER,)
    GATEWAY_OPTIONS = {"store": "postgres"}

    def timed(self, path, body):
        began = time.monotonic()
        r = self.api.post(path, body)
        return r, time.monotonic() - began

    def test_postgres_stopped_and_started_again(self):
        initial = self.env.user_password
        user = enroll(self.api, USER, initial, email=f"{USER}@example.org", mailbox=self.mail)
        r = self.wait_ready(200)
        self.assertEqual(r.json(), {"directory": "ok", "store": "ok"}, r.describe())
        start = self.start_flow(USER)
        flow = start["flow"]
        email = method_of(start, "email")
        pid = self.gw.pid
        password = new_password("Store")

        stopped = False
        try:
            self.penv.stop_server("postgres")
            stopped = True
            steps = [
                ("/api/v1/reset/start", {"username": USER}),
                ("/api/v1/reset/challenge", {"flow": flow, "method": email["id"]}),
                ("/api/v1/reset/verify", {"flow": flow, "method": email["id"],
                                          "code": "000000"}),
                ("/api/v1/reset/complete", {"flow": flow, "new_password": password}),
            ]
            took_all = []
            for path, body in steps:
                r, took = self.timed(path, body)
                took_all.append(f"{path.rsplit('/', 1)[1]} {r.status} {took:.2f}s")
                self.assertProblem(r, 503, "service_unavailable", f"{path} with the store down")
                self.assertTrue(r.header("Retry-After"), f"503 without Retry-After\n"
                                f"{r.describe()}")
                self.assertLess(took, STEP_BOUND_S, f"{path}: 503 after {took:.2f}s")
            print("store down: " + " | ".join(took_all), file=sys.stderr)
            r = self.wait_ready(503)
            self.assertEqual(r.json(), {"directory": "ok", "store": "unavailable"},
                             r.describe())
            self.assertEqual(self.api.get("/healthz").status, 200, "healthz is liveness only")
            self.assertTrue(self.dir.can_bind(USER, initial), "nothing changed")
        finally:
            if stopped:
                self.penv.start_server("postgres")

        began = time.monotonic()
        self.wait_ready(200)
        print(f"/readyz 200 {time.monotonic() - began:.2f}s after PostgreSQL was back",
              file=sys.stderr)
        self.assertTrue(self.gw.running(), "ssprd ended during the outage")
        self.assertEqual(self.gw.pid, pid, "ssprd was restarted")
        # The flow begun before the outage goes on: the store kept it.
        self.full_gate(flow, email, user)
        r = self.api.post("/api/v1/reset/complete", {"flow": flow, "new_password": password})
        self.assertEqual(self.json_of(r, 200, "complete after the store is back"),
                         {"result": "changed"})
        self.assertTrue(self.dir.can_bind(USER, password))
        self.assertFalse(self.dir.can_bind(USER, initial))
        # And a new flow starts.
        self.start_flow(USER)


if __name__ == "__main__":
    faultenv.main()
