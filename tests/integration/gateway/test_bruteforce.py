#!/usr/bin/env python3
"""Guessing and replay:
  * guessing e-mailed codes ends in 429 throttled with Retry-After; the blocked user stays
    blocked in a new flow, even with the right code; another user is not affected;
  * binding: A's flow with B's code fails, and B's flow with A's code fails;
  * a completed flow cannot be used again (404 flow_not_found at every step).

  python3 test_bruteforce.py SSPRD [--directory openldap|ad]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import enroll, method_of, new_password  # noqa: E402

BLOCKED, OTHER, ALICE, BOB = "t06", "t07", "t08", "t09"


def wrong_codes(real):
    n = 100000
    while True:
        c = str(n)
        n += 7919
        if c != real:
            yield c


class BruteForceTest(harness.GatewayTestCase):
    USERS = (BLOCKED, OTHER, ALICE, BOB)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.enrolled = {u: enroll(cls.api, u, cls.env.user_password, email=f"{u}@example.org",
                                 mailbox=cls.mail) for u in cls.USERS}

    def challenge_email(self, login, kind="reset"):
        start = self.start_flow(login, kind)
        method = method_of(start, "email")
        self.assertIsNotNone(method, start)
        since = self.mail.snapshot()
        r = self.api.post(f"/api/v1/{kind}/challenge", {"flow": start["flow"],
                                                        "method": method["id"]})
        self.assertStatus(r, 202, f"challenge for {login}")
        code = self.mail.wait_code(self.enrolled[login].email, since)
        return start["flow"], method["id"], code

    def assertThrottled(self, r, msg=""):
        body = self.assertProblem(r, 429, "throttled", msg)
        retry = r.header("Retry-After")
        self.assertIsNotNone(retry, f"429 without Retry-After\n{r.describe()}")
        self.assertTrue(retry.isdigit() and int(retry) > 0,
                        f"Retry-After should be a positive number of seconds: {retry!r}")
        return body

    def test_guessing_codes_is_throttled_and_the_block_holds(self):
        flow, method, code = self.challenge_email(BLOCKED)
        guesses = wrong_codes(code)
        answers = []
        throttled = None
        for attempt in range(1, 16):
            r = self.api.post("/api/v1/reset/verify",
                              {"flow": flow, "method": method, "code": next(guesses)})
            answers.append(r.status)
            if r.status == 429:
                throttled = r
                break
            self.assertProblem(r, 400, "proof_invalid", f"guess {attempt}")
        self.assertIsNotNone(throttled, f"15 wrong guesses and no 429: {answers}")
        self.assertThrottled(throttled)
        print(f"throttled after {len(answers)} guesses: {answers}", file=sys.stderr)
        self.assertLessEqual(len(answers), 11, "failed_proofs is 5: the block comes late")

        # The right code does not help now.
        r = self.api.post("/api/v1/reset/verify", {"flow": flow, "method": method, "code": code})
        self.assertThrottled(r, "the right code after the block")

        # A new flow does not lift the block: 429 at start, at challenge, or at a verify with the
        # right code; never a passed gate.
        r = self.api.post("/api/v1/reset/start", {"username": BLOCKED})
        if r.status != 429:
            start = self.json_of(r, 200, "start after the block")
            email = method_of(start, "email")
            since = self.mail.snapshot()
            r = self.api.post("/api/v1/reset/challenge", {"flow": start["flow"],
                                                          "method": email["id"]})
            if r.status != 429:
                self.assertStatus(r, 202, "challenge in a new flow")
                try:
                    fresh = self.mail.wait_code(self.enrolled[BLOCKED].email, since, timeout=8)
                except AssertionError:
                    fresh = code  # no mail is fine too: nothing was sent to a blocked user
                r = self.api.post("/api/v1/reset/verify", {"flow": start["flow"],
                                                           "method": email["id"],
                                                           "code": fresh})
        self.assertThrottled(r, "a new flow of the blocked user")
        self.assertTrue(self.dir.can_bind(BLOCKED, self.env.user_password))

        # Someone else is not affected (same client address).
        flow, method, code = self.challenge_email(OTHER)
        r = self.api.post("/api/v1/reset/verify", {"flow": flow, "method": method, "code": code})
        self.assertEqual(self.json_of(r, 200, "another user"),
                         {"gates_passed": 1, "gates_required": 1})

    def test_codes_and_flows_are_bound_to_their_user(self):
        a_flow, a_method, a_code = self.challenge_email(ALICE)
        b_flow, b_method, b_code = self.challenge_email(BOB)
        if a_code == b_code:
            self.skipTest("both codes happen to be equal (1 in a million)")
        r = self.api.post("/api/v1/reset/verify", {"flow": b_flow, "method": b_method,
                                                   "code": a_code})
        self.assertProblem(r, 400, "proof_invalid", "A's code in B's flow")
        r = self.api.post("/api/v1/reset/verify", {"flow": a_flow, "method": a_method,
                                                   "code": b_code})
        self.assertProblem(r, 400, "proof_invalid", "B's code in A's flow")
        # Their own codes still work (one wrong try each is far from the limits).
        for flow, method, code in ((a_flow, a_method, a_code), (b_flow, b_method, b_code)):
            r = self.api.post("/api/v1/reset/verify", {"flow": flow, "method": method,
                                                       "code": code})
            self.assertEqual(self.json_of(r, 200, "own code"),
                             {"gates_passed": 1, "gates_required": 1})

        # A completes; the flow is then gone for every step. B's flow is untouched by it.
        password = new_password("Bound")
        r = self.api.post("/api/v1/reset/complete", {"flow": a_flow, "new_password": password})
        self.assertEqual(self.json_of(r, 200, "complete A"), {"result": "changed"})
        self.assertTrue(self.dir.can_bind(ALICE, password))
        self.assertTrue(self.dir.can_bind(BOB, self.env.user_password))
        for path, body in (("complete", {"flow": a_flow, "new_password": new_password("Re")}),
                           ("challenge", {"flow": a_flow, "method": a_method}),
                           ("verify", {"flow": a_flow, "method": a_method, "code": a_code})):
            r = self.api.post(f"/api/v1/reset/{path}", body)
            self.assertProblem(r, 404, "flow_not_found", f"{path} on a completed flow")
        self.assertTrue(self.dir.can_bind(ALICE, password), "a replay changed the password")
        # A reset flow is no unlock flow.
        r = self.api.post("/api/v1/unlock/complete", {"flow": b_flow})
        self.assertProblem(r, 404, "flow_not_found", "a reset flow used for unlock")

    def test_an_unknown_flow_is_not_found(self):
        for path, body in (("challenge", {"flow": "AAAAAAAAAAAAAAAAAAAAAA", "method": "email-0"}),
                           ("verify", {"flow": "AAAAAAAAAAAAAAAAAAAAAA", "method": "email-0",
                                       "code": "123456"}),
                           ("complete", {"flow": "AAAAAAAAAAAAAAAAAAAAAA",
                                         "new_password": new_password("Nope")})):
            self.assertProblem(self.api.post(f"/api/v1/reset/{path}", body), 404,
                               "flow_not_found", path)


if __name__ == "__main__":
    harness.main()
