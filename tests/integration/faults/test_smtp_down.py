#!/usr/bin/env python3
"""Mail goes away at `challenge`: the private SMTP sink is stopped before a reset's email
challenge, and started again afterwards.

  * challenge answers as usual (202, quickly: delivery is asynchronous), so nothing tells an
    attacker whether mail works;
  * the audit file records the failed delivery at once (step delivery.code, outcome failed,
    reason delivery.retrying): the code stays in the dispatcher's retry queue, retried with a
    backoff of at most 30 s (delivery.retry_backoff_max) until the code expires;
  * SMTP back after DOWN_S more seconds (several retries failed meanwhile, audited once): the
    queued code arrives exactly once within REDELIVERY_WAIT_S (after that long down, the next
    retry's wait is a few seconds), the audit records delivery.code ok, and that code passes
    the gate and the reset completes (test_2);
  * a new flow's challenge then delivers exactly one code (test_3);
  * SMTP down again with a code waiting to be retried: SIGTERM exits 0 promptly and the audit
    records the retry given up (delivery.code failed, delivery is shutting down) (test_4).

  python3 test_smtp_down.py SSPRD
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultenv  # noqa: E402
from faultenv import harness  # noqa: E402
from harness import enroll, method_of, new_password  # noqa: E402

USER = "t03"
ADDRESS = f"{USER}@example.org"
AUDIT_BOUND_S = 30
# How long SMTP stays down after the first failure is audited (retries at about 0.5, 1.5, 3.5 s).
DOWN_S = 5
# How long after SMTP is back the queued code must arrive (the next retry is at most ~8 s away).
REDELIVERY_WAIT_S = 15


class SmtpDownTest(faultenv.FaultTestCase):
    USERS = (USER,)
    lost = None
    pending = None

    def delivery_events(self):
        return [e for e in faultenv.audit_events(self.gw.audit_path)
                if e.get("step") == "delivery.code"]

    def mails_since(self, since):
        out = []
        for name in sorted(self.mail.names() - since):
            if ADDRESS in self.mail.recipients(self.mail.parse(name)):
                out.append(name)
        return out

    def test_1_smtp_down_at_challenge(self):
        initial = self.env.user_password
        user = enroll(self.api, USER, initial, email=ADDRESS, mailbox=self.mail)
        start = self.start_flow(USER)
        flow, email = start["flow"], method_of(start, "email")
        before = len(self.delivery_events())
        stopped = False
        try:
            self.penv.stop_server("smtp")
            stopped = True
            since = self.mail.snapshot()
            began = time.monotonic()
            r = self.api.post("/api/v1/reset/challenge", {"flow": flow, "method": email["id"]})
            took = time.monotonic() - began
            self.assertStatus(r, 202, "challenge with SMTP down answers as usual")
            self.assertLess(took, 2, f"challenge took {took:.2f}s with SMTP down")
            deadline = time.monotonic() + AUDIT_BOUND_S
            new = []
            while time.monotonic() < deadline:
                new = self.delivery_events()[before:]
                if new:
                    break
                time.sleep(0.2)
            self.assertTrue(new, f"no delivery.code audit event within {AUDIT_BOUND_S}s")
            self.assertEqual(new[0].get("outcome"), "failed", f"audit: {new[0]}")
            self.assertEqual(new[0].get("reason"), "delivery.retrying", f"audit: {new[0]}")
            print(f"challenge 202 in {took:.2f}s; audit: delivery.code {new[0].get('outcome')} "
                  f"({new[0].get('reason')}: {new[0].get('diagnostic')})", file=sys.stderr)
            # Down long enough for several retries to fail: each is in the queue, not audited
            # again, and none gives the code up.
            time.sleep(DOWN_S)
            self.assertEqual(len(self.delivery_events()[before:]), 1,
                             f"audit while SMTP is down: {self.delivery_events()[before:]}")
        finally:
            if stopped:
                self.penv.start_server("smtp")
        back = time.monotonic()
        # SMTP is back: the queued code arrives, once.
        code = self.mail.wait_code(ADDRESS, since, timeout=REDELIVERY_WAIT_S)
        arrived = time.monotonic() - back
        time.sleep(3)  # a second copy would come with the next retry
        type(self).lost = self.mails_since(since)
        type(self).pending = (user, flow, email, code)
        print(f"codes of the challenge made while SMTP was down that arrived after it returned: "
              f"{len(self.lost)} (the first after {arrived:.1f}s)", file=sys.stderr)
        events = self.delivery_events()[before:]
        self.assertEqual([e.get("outcome") for e in events if e.get("outcome") == "ok"], ["ok"],
                         f"audit after SMTP returned: {events}")

    def test_2_the_code_is_queued_and_arrives_once_smtp_returns(self):
        if self.lost is None:
            self.skipTest("test_1 did not get that far")
        self.assertEqual(len(self.lost), 1,
                         "the code of a challenge made while SMTP was down arrives exactly once")
        user, flow, email, code = self.pending
        r = self.api.post("/api/v1/reset/verify", {"flow": flow, "method": email["id"],
                                                   "code": code})
        self.json_of(r, 200, "gate with the code that was queued while SMTP was down")
        password = new_password("Smtp")
        r = self.api.post("/api/v1/reset/complete", {"flow": flow, "new_password": password})
        self.assertEqual(self.json_of(r, 200, "complete"), {"result": "changed"})
        self.assertTrue(self.dir.can_bind(USER, password))

    def test_3_a_new_challenge_after_smtp_returned_sends_one_code(self):
        if self.pending is None:
            self.skipTest("test_1 did not get that far")
        user = self.pending[0]
        start = self.start_flow(USER)
        since = self.mail.snapshot()
        r = harness.pass_gate(self.api, "reset", start["flow"], method_of(start, "email"), user,
                              self.mail)
        self.json_of(r, 200, "gate with the code of a challenge after SMTP returned")
        time.sleep(2)
        self.assertEqual(len(self.mails_since(since)), 1, "one challenge, one mail")

    def test_4_sigterm_gives_up_waiting_retries_and_exits_promptly(self):
        if self.pending is None:
            self.skipTest("test_1 did not get that far")
        start = self.start_flow(USER)
        before = len(self.delivery_events())
        stopped = False
        try:
            self.penv.stop_server("smtp")
            stopped = True
            r = self.api.post("/api/v1/reset/challenge",
                              {"flow": start["flow"], "method": method_of(start, "email")["id"]})
            self.assertStatus(r, 202, "challenge with SMTP down")
            deadline = time.monotonic() + AUDIT_BOUND_S
            while time.monotonic() < deadline and not self.delivery_events()[before:]:
                time.sleep(0.2)
            self.assertTrue(self.delivery_events()[before:], "no delivery.code audit event")
            began = time.monotonic()
            self.assertEqual(self.gw.stop(), 0, "exit code after SIGTERM")
            took = time.monotonic() - began
        finally:
            if stopped:
                self.penv.start_server("smtp")
        self.assertLess(took, 5, f"SIGTERM with a code waiting to be retried took {took:.2f}s")
        reasons = [e.get("reason") for e in self.delivery_events()[before:]]
        self.assertEqual(reasons, ["delivery.retrying", "delivery.delivery is shutting down"],
                         "the retry is given up with an audit line")
        print(f"SIGTERM with a code waiting to be retried: exit 0 in {took:.2f}s; audit {reasons}",
              file=sys.stderr)


if __name__ == "__main__":
    faultenv.main()
