#!/usr/bin/env python3
"""Anti-enumeration, seen from outside: an unknown login, a disabled account, an out-of-scope
account (bob: the deny rule on all-staff) and a real enrolled user (t05) get the same status and
the same JSON shape at reset start, challenge and a wrong verify; the start times are measured
and the difference of their medians is printed (N tries each, round robin).

  SSPR_ENUM_TRIES=N          tries per user for the timing (default 200; 20 for a quick run)
  SSPR_ENUM_MAX_DIFF_MS=MS   also fail when a median differs from the real user's by more

  python3 test_enumeration.py SSPRD [--directory openldap|ad]
"""
import os
import random
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import SECRETS, enroll  # noqa: E402

REAL = "t05"
UNKNOWN = "nobody-4711-x"
DISABLED = "disabled"
OUT_OF_SCOPE = harness.OUT_OF_SCOPE_USER
ORDER = ("email", "sms", "totp", "questions")


def shape(value):
    """The JSON structure without the values: key sets of objects, element shapes of lists."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        shapes = []
        for item in value:
            s = shape(item)
            if s not in shapes:
                shapes.append(s)
        return ["list", shapes]
    return type(value).__name__


class EnumerationTest(harness.GatewayTestCase):
    USERS = (REAL,)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.real = enroll(cls.api, REAL, cls.env.user_password, email=f"{REAL}@example.org",
                         number="+82 10 5555 0005", mailbox=cls.mail, smsbox=cls.sms)
        cls.users = (REAL, UNKNOWN, DISABLED, OUT_OF_SCOPE)

    def test_start_challenge_verify_look_the_same_for_everyone(self):
        seen = {}
        starts = {}
        for login in self.users:
            r = self.api.post("/api/v1/reset/start", {"username": login})
            self.assertStatus(r, 200, f"start {login}")
            body = r.json()
            SECRETS.add(body.get("flow"), "flow token")
            starts[login] = body
            seen[login] = {"start": (r.status, sorted(body), shape(body["methods"]),
                                     type(body["gates_required"]).__name__)}
        kinds = [set(m["kind"] for m in b["methods"]) for b in starts.values()]
        common = set.intersection(*kinds)
        report = "\n".join(f"  {u}: {[(m['kind'], m['hint']) for m in starts[u]['methods']]} "
                           f"gates {starts[u]['gates_required']}" for u in self.users)
        print("start answers:\n" + report, file=sys.stderr)
        self.assertTrue(common, f"no method kind offered to all of them:\n{report}")
        kind = next(k for k in ORDER if k in common)

        for login in self.users:
            body = starts[login]
            method = next(m for m in body["methods"] if m["kind"] == kind)
            since = self.mail.snapshot()
            r = self.api.post("/api/v1/reset/challenge", {"flow": body["flow"],
                                                          "method": method["id"]})
            seen[login]["challenge"] = (r.status, shape(r.json() if r.body else {}))
            real_code = None
            if login == REAL and kind == "email":
                real_code = self.mail.wait_code(self.real.email, since)
            wrong = "000000" if real_code != "000000" else "000001"
            proof = ({"answers": [{"id": "first-pet", "answer": "Not My Pet"}]}
                     if kind == "questions" else {"code": wrong})
            r = self.api.post("/api/v1/reset/verify", dict({"flow": body["flow"],
                                                            "method": method["id"]}, **proof))
            problem = r.json() if r.body else {}
            seen[login]["verify"] = (r.status, r.content_type, sorted(problem),
                                     problem.get("code"), problem.get("detail"))
        table = "\n".join(f"  {u}: {seen[u]}" for u in self.users)
        print(f"shapes (method {kind}):\n{table}", file=sys.stderr)
        reference = seen[REAL]
        for login in self.users:
            for step in ("start", "challenge", "verify"):
                self.assertEqual(seen[login][step], reference[step],
                                 f"{step} differs between {login} and the real user:\n{table}")
        self.assertEqual(reference["verify"][0], 400, table)
        self.assertEqual(reference["verify"][3], "proof_invalid", table)

    def test_start_times(self):
        tries = int(os.environ.get("SSPR_ENUM_TRIES", "200"))
        client = self.gw.client(keep_alive=True)
        times = {u: [] for u in self.users}
        statuses = {u: set() for u in self.users}
        order = list(self.users)
        rng = random.Random(4711)
        try:
            for _ in range(tries):
                rng.shuffle(order)
                for login in order:
                    r = client.post("/api/v1/reset/start", {"username": login})
                    statuses[login].add(r.status)
                    if r.status == 200:
                        SECRETS.add(r.json().get("flow"), "flow token")
                    times[login].append(r.elapsed * 1000.0)
        finally:
            client.close()
        medians = {u: statistics.median(t) for u, t in times.items()}
        lines = [f"reset/start timing over {tries} tries each (ms):"]
        for u in self.users:
            t = sorted(times[u])
            p90 = t[int(len(t) * 0.9) - 1] if len(t) >= 10 else t[-1]
            lines.append(f"  {u:<16} median {medians[u]:8.2f}  p90 {p90:8.2f}  min {t[0]:8.2f}  "
                         f"max {t[-1]:8.2f}  diff vs {REAL} {medians[u] - medians[REAL]:+8.2f}")
        worst = max(abs(medians[u] - medians[REAL]) for u in self.users)
        lines.append(f"  largest difference of medians: {worst:.2f} ms")
        print("\n".join(lines), file=sys.stderr)
        for u in self.users:
            self.assertEqual(statuses[u], {200}, f"statuses for {u}: {statuses[u]}")
        limit = os.environ.get("SSPR_ENUM_MAX_DIFF_MS")
        if limit:
            self.assertLessEqual(worst, float(limit), "\n".join(lines))


if __name__ == "__main__":
    harness.main()
