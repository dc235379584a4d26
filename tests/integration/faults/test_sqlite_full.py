#!/usr/bin/env python3
"""The SQLite store's file system fills up: `store.sqlite_path` is on a private 8 MiB tmpfs
(mounted by faultenv, unmounted after), which the test fills with a file of its own until
ENOSPC, in the middle of the users' resets. The audit file is elsewhere.

  * every flow step (start, challenge again, verify of a wrong code, complete) answers 503
    service_unavailable problem+json with Retry-After, never 500, never a success; a complete
    of a flow that had passed its gate before the fill is not "changed" and the directory still
    holds the old password, and the audit event of that complete names the store's error;
  * /readyz answers 503 {"directory":"ok","store":"full"}; /healthz stays 200;
  * `PRAGMA integrity_check` of the database is "ok" while it is full;
  * the filler removed, with the same ssprd process (same PID, never restarted): /readyz is 200
    again, the flows begun before the fill go on and complete, new flows start and complete, and
    `PRAGMA integrity_check` is still "ok".

  python3 test_sqlite_full.py SSPRD
"""
import errno
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultenv  # noqa: E402
from harness import enroll, method_of, new_password  # noqa: E402

USERS = ("t01", "t02", "t03", "t04")
STEP_BOUND_S = 10
# Starts that may still find room after the fill: a WAL frame can fit in the slack of the file's
# last page.
SLACK_STARTS = 5


class SqliteFullTest(faultenv.FaultTestCase):
    USERS = USERS

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            faultenv.skip("mounting a tmpfs needs root", hint="")
        super().setUpClass()

    @classmethod
    def gateway_options(cls):
        cls.fs = cls.penv.mount_tmpfs("store-fs", "8m")
        cls.db_path = os.path.join(cls.fs, "state.db")
        return {"overrides": {"store": {"sqlite_path": cls.db_path}}}

    def fill(self):
        """Writes DIR/filler until the file system refuses (ENOSPC); returns its size."""
        path = os.path.join(self.fs, "filler")
        chunk = b"\0" * 65536
        written = 0
        with open(path, "wb", buffering=0) as f:
            for _ in range(8 * 16 + 1):  # at most the whole file system
                try:
                    written += f.write(chunk)
                except OSError as e:
                    self.assertEqual(e.errno, errno.ENOSPC, f"filling {path}: {e}")
                    break
            else:
                self.fail(f"{path}: {written} bytes written and still no ENOSPC")
        # Any bytes left (less than a chunk) go too.
        with open(path, "ab", buffering=0) as f:
            for size in (4096, 512, 1):
                try:
                    while True:
                        written += f.write(b"\0" * size)
                except OSError as e:
                    self.assertEqual(e.errno, errno.ENOSPC, f"filling {path}: {e}")
        self.filler = path
        return written

    def integrity(self):
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)
        try:
            return [row[0] for row in db.execute("PRAGMA integrity_check")]
        finally:
            db.close()

    def timed(self, path, body):
        began = time.monotonic()
        r = self.api.post(path, body)
        took = time.monotonic() - began
        self.assertLess(took, STEP_BOUND_S, f"{path}: answered after {took:.2f}s")
        return r

    def assert_full(self, r, what):
        self.assertProblem(r, 503, "service_unavailable", f"{what} with the store full")
        self.assertTrue(r.header("Retry-After"), f"503 without Retry-After\n{r.describe()}")
        self.assertNotIn(b"changed", r.body, r.describe())

    def test_store_file_system_full_and_freed(self):
        initial = self.env.user_password
        enrolled = {u: enroll(self.api, u, initial, email=f"{u}@example.org", mailbox=self.mail)
                    for u in USERS}
        pid = self.gw.pid
        # Before the fill: t01's flow has passed its gate (ready to complete), t02's has a code
        # outstanding.
        gated = self.start_flow("t01")
        email1 = method_of(gated, "email")
        self.full_gate(gated["flow"], email1, enrolled["t01"])
        started = self.start_flow("t02")
        email2 = method_of(started, "email")
        r = self.api.post("/api/v1/reset/challenge", {"flow": started["flow"],
                                                      "method": email2["id"]})
        self.assertStatus(r, 202, "challenge before the fill")
        self.assertEqual(self.wait_ready().json(), {"directory": "ok", "store": "ok"})

        filled = self.fill()
        try:
            # The first start that finds no room: every later write finds none either.
            for n in range(1, SLACK_STARTS + 1):
                r = self.timed("/api/v1/reset/start", {"username": "t03"})
                if r.status != 200:
                    break
            self.assert_full(r, f"start {n} after the fill")
            print(f"filled {filled} bytes; start {n} found no room", file=sys.stderr)
            steps = [
                ("start", "/api/v1/reset/start", {"username": "t04"}),
                ("challenge", "/api/v1/reset/challenge", {"flow": started["flow"],
                                                          "method": email2["id"]}),
                ("verify", "/api/v1/reset/verify", {"flow": started["flow"],
                                                    "method": email2["id"], "code": "000000"}),
                ("complete", "/api/v1/reset/complete", {"flow": gated["flow"],
                                                        "new_password": new_password("Full")}),
            ]
            for step, path, body in steps:
                self.assert_full(self.timed(path, body), step)
            self.assertTrue(self.dir.can_bind("t01", initial), "a 503 complete changed nothing")
            # The audit says why: the store's error, not a claim lost to another request.
            last = [e for e in faultenv.audit_events(self.gw.audit_path)
                    if e.get("step") == "reset.complete"][-1]
            self.assertEqual((last.get("outcome"), last.get("reason")),
                             ("error", "store.state store disk full"), last)
            r = self.api.get("/readyz")
            self.assertEqual(r.status, 503, r.describe())
            self.assertEqual(r.json(), {"directory": "ok", "store": "full"}, r.describe())
            self.assertEqual(self.api.get("/healthz").status, 200, "healthz is liveness only")
            self.assertEqual(self.integrity(), ["ok"], "integrity_check while full")
        finally:
            os.remove(self.filler)

        began = time.monotonic()
        r = self.wait_ready()
        print(f"/readyz 200 {time.monotonic() - began:.2f}s after the filler was removed",
              file=sys.stderr)
        self.assertEqual(r.json(), {"directory": "ok", "store": "ok"})
        self.assertTrue(self.gw.running(), "ssprd ended while the store was full")
        self.assertEqual(self.gw.pid, pid, "ssprd was restarted")
        # The flows of before the fill go on: t01's completes, t02's passes its gate and completes.
        password1 = new_password("Back")
        r = self.api.post("/api/v1/reset/complete", {"flow": gated["flow"],
                                                     "new_password": password1})
        self.assertEqual(self.json_of(r, 200, "complete of the flow gated before the fill"),
                         {"result": "changed"})
        self.full_gate(started["flow"], email2, enrolled["t02"])
        password2 = new_password("Back")
        r = self.api.post("/api/v1/reset/complete", {"flow": started["flow"],
                                                     "new_password": password2})
        self.assertEqual(self.json_of(r, 200, "complete of the flow started before the fill"),
                         {"result": "changed"})
        # And new flows go all the way.
        password3 = new_password("Back")
        fresh = self.start_flow("t03")
        self.full_gate(fresh["flow"], method_of(fresh, "email"), enrolled["t03"])
        r = self.api.post("/api/v1/reset/complete", {"flow": fresh["flow"],
                                                     "new_password": password3})
        self.assertEqual(self.json_of(r, 200, "a new flow after the fill"), {"result": "changed"})
        for login, password in (("t01", password1), ("t02", password2), ("t03", password3)):
            self.assertTrue(self.dir.can_bind(login, password), login)
            self.assertFalse(self.dir.can_bind(login, initial), login)
        self.assertEqual(self.integrity(), ["ok"], "integrity_check after the space came back")


if __name__ == "__main__":
    faultenv.main()
