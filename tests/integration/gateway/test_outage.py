#!/usr/bin/env python3
"""The directory goes away mid-reset: with every gate passed, the directory server is stopped
before complete (slapd: $SSPR_OL_CTL stop $SSPR_OL_DIR; Samba AD DC: $SSPR_AD_CTL stop
$SSPR_AD_DIR). The answer is 503 directory_unavailable, /readyz says 503, nothing changed; once the
server is back (always started again, in a finally), /readyz recovers and the same flow completes,
with no restart of ssprd: the pool reconnects to the restarted server by itself.

  python3 test_outage.py SSPRD [--directory openldap|ad]
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import enroll, method_of, new_password  # noqa: E402

USER = "t11"


class OutageTest(harness.GatewayTestCase):
    USERS = (USER,)

    def ctl(self, action):
        prefix = "SSPR_AD" if self.directory_kind() == "ad" else "SSPR_OL"
        script = self.env[f"{prefix}_CTL"]
        p = subprocess.run([script, action, self.env[f"{prefix}_DIR"]],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
        self.assertEqual(p.returncode, 0,
                         f"{os.path.basename(script)} {action}: {p.stdout.decode()}")

    def test_directory_down_before_complete(self):
        initial = self.env.user_password
        user = enroll(self.api, USER, initial, email=f"{USER}@example.org", mailbox=self.mail)
        r = self.wait_ready(200)
        self.assertEqual(r.json(), {"directory": "ok", "store": "ok"}, r.describe())
        start = self.start_flow(USER)
        self.full_gate(start["flow"], method_of(start, "email"), user)
        password = new_password("Outage")
        stopped = False
        try:
            self.ctl("stop")
            stopped = True
            began = time.monotonic()
            r = self.api.post("/api/v1/reset/complete", {"flow": start["flow"],
                                                         "new_password": password})
            took = time.monotonic() - began
            self.assertProblem(r, 503, "directory_unavailable", "complete with slapd stopped")
            self.assertSecurityHeaders(r)
            print(f"directory_unavailable after {took:.2f}s", file=sys.stderr)
            self.assertLess(took, 15, "the refusal should come within the directory timeouts")
            r = self.wait_ready(503)
            self.assertEqual(r.json().get("store"), "ok", r.describe())
            self.assertNotEqual(r.json().get("directory"), "ok", r.describe())
            self.assertEqual(self.api.get("/healthz").status, 200, "healthz is liveness only")
        finally:
            if stopped:
                self.ctl("start")
        # Nothing changed while it was down.
        self.assertTrue(self.dir.can_bind(USER, initial))
        self.assertFalse(self.dir.can_bind(USER, password))
        self.wait_ready(200, timeout=90)
        r = self.api.post("/api/v1/reset/complete", {"flow": start["flow"],
                                                     "new_password": password})
        self.assertEqual(self.json_of(r, 200, "complete after the directory is back"),
                         {"result": "changed"})
        self.assertTrue(self.dir.can_bind(USER, password))
        self.assertFalse(self.dir.can_bind(USER, initial))


if __name__ == "__main__":
    harness.main()
