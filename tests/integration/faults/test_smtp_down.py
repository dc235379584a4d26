#!/usr/bin/env python3
"""Mail goes away at `challenge`: the private SMTP sink is stopped before a reset's email
challenge, and started again afterwards.

  * challenge answers as usual (202, quickly: delivery is asynchronous), so nothing tells an
    attacker whether mail works;
  * the audit file records the failed delivery (step delivery.code, outcome failed) once the
    dispatcher has given up (3 attempts, backoff 0.5 s and 1 s: delivery/dispatcher.hpp);
  * SMTP back: a new challenge delivers exactly one code, which passes the gate, and the reset
    completes.
  * test_2 -- KNOWN GAP: the code of the challenge made while SMTP was down should be queued
    and arrive exactly once when SMTP returns (issue 9 section 3). The dispatcher only retries in
    memory for about 2 s and then drops it; it never arrives. Marked expectedFailure.

  python3 test_smtp_down.py SSPRD
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultenv  # noqa: E402
from faultenv import harness  # noqa: E402
from harness import enroll, method_of, new_password  # noqa: E402

USER = "t03"
ADDRESS = f"{USER}@example.org"
AUDIT_BOUND_S = 30
# How long after SMTP is back a queued code would have to arrive.
REDELIVERY_WAIT_S = 15


class SmtpDownTest(faultenv.FaultTestCase):
    USERS = (USER,)
    lost = None

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
            print(f"challenge 202 in {took:.2f}s; audit: delivery.code {new[0].get('outcome')} "
                  f"({new[0].get('reason')})", file=sys.stderr)
        finally:
            if stopped:
                self.penv.start_server("smtp")
        # SMTP is back. Whatever a queue would deliver arrives now (recorded for test_2).
        time.sleep(REDELIVERY_WAIT_S)
        type(self).lost = self.mails_since(since)
        print(f"codes of the failed challenge that arrived within {REDELIVERY_WAIT_S}s of SMTP "
              f"returning: {len(self.lost)}", file=sys.stderr)
        self.assertLessEqual(len(self.lost), 1, "the code was sent more than once")
        # A new challenge works, and exactly one code arrives for it.
        since = self.mail.snapshot()
        r = harness.pass_gate(self.api, "reset", flow, email, user, self.mail)
        self.json_of(r, 200, "gate with the code of a challenge after SMTP returned")
        time.sleep(2)
        self.assertEqual(len(self.mails_since(since)), 1, "one challenge, one mail")
        password = new_password("Smtp")
        r = self.api.post("/api/v1/reset/complete", {"flow": flow, "new_password": password})
        self.assertEqual(self.json_of(r, 200, "complete"), {"result": "changed"})
        self.assertTrue(self.dir.can_bind(USER, password))

    @unittest.expectedFailure
    def test_2_the_code_is_queued_and_arrives_once_smtp_returns(self):
        if self.lost is None:
            self.skipTest("test_1 did not get that far")
        self.assertEqual(len(self.lost), 1,
                         "KNOWN GAP: the code of a challenge made while SMTP was down is not "
                         "queued; it was dropped after the dispatcher's in-memory retries")


if __name__ == "__main__":
    faultenv.main()
