#!/usr/bin/env python3
"""The user-facing flows end to end against a real directory (run once per directory):

  reset with an e-mailed code, reset with TOTP, unlock, change, change of a must-change account,
  enrollment of all four methods (list, delete), the two-gate reset of an admin-group member.
  After each reset or change the new password binds and the old one does not (ldapwhoami /
  ldapsearch against the directory), and the user is told by mail.

  python3 test_flows.py SSPRD --directory openldap|ad
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import SECRETS, enroll, method_of, new_password  # noqa: E402

CHANGED_SUBJECT = r"password was changed|비밀번호가 변경"
UNLOCKED_SUBJECT = r"account was unlocked|잠금이 .*해제"
ADMIN_SUBJECT = r"administrator's password was reset|관리자"


def masked(hint, full):
    return bool(hint) and hint != full and "*" in hint


class FlowsTest(harness.GatewayTestCase):
    USERS = ("t01", "t02", "t03", "t04", "carol", "mustchange", "locked")

    def setUp(self):
        self.initial = self.env.user_password

    def assertPasswordIs(self, login, new, old):
        self.assertTrue(self.dir.can_bind(login, new),
                        f"{self.dir.kind}: the new password of {login} does not bind")
        self.assertFalse(self.dir.can_bind(login, old),
                         f"{self.dir.kind}: the old password of {login} still binds")

    def complete_reset(self, flow, password):
        r = self.api.post("/api/v1/reset/complete", {"flow": flow, "new_password": password})
        body = self.json_of(r, 200, "reset/complete")
        self.assertEqual(body, {"result": "changed"}, r.describe())
        self.assertSecurityHeaders(r)
        return r

    # ---- reset ----------------------------------------------------------------------------

    def test_reset_with_an_emailed_code(self):
        login, address = "t01", "t01@example.org"
        enroll(self.api, login, self.initial, email=address, mailbox=self.mail)
        start = self.start_flow(login)
        self.assertEqual(start["gates_required"], 1, start)
        email = method_of(start, "email")
        self.assertIsNotNone(email, f"no email method offered: {start}")
        self.assertTrue(masked(email["hint"], address), f"hint not masked: {email}")
        for m in start["methods"]:
            self.assertEqual(set(m), {"id", "kind", "hint"}, m)
            self.assertIn(m["kind"], ("email", "sms", "totp", "questions"), m)

        since = self.mail.snapshot()
        r = self.api.post("/api/v1/reset/challenge", {"flow": start["flow"], "method": email["id"]})
        self.assertStatus(r, 202, "challenge email")
        self.assertEqual(r.json(), {}, r.describe())
        self.assertSecurityHeaders(r)
        msg, text = self.mail.wait(address, since, lambda m, t: harness.CODE.search(t))
        code = harness.CODE.search(text).group(1)
        SECRETS.add(code, "mailed code")
        self.assertNotIn(code, str(msg["Subject"]), "the code must not be in the subject")

        r = self.api.post("/api/v1/reset/verify",
                          {"flow": start["flow"], "method": email["id"], "code": code})
        self.assertEqual(self.json_of(r, 200, "verify email"),
                         {"gates_passed": 1, "gates_required": 1})

        password = new_password("Mail")
        since = self.mail.snapshot()
        self.complete_reset(start["flow"], password)
        self.assertPasswordIs(login, password, self.initial)
        self.mail.wait_subject(address, since, CHANGED_SUBJECT)

        # Single use: the flow is gone once completed.
        r = self.api.post("/api/v1/reset/complete",
                          {"flow": start["flow"], "new_password": new_password("Again")})
        self.assertProblem(r, 404, "flow_not_found")
        self.assertTrue(self.dir.can_bind(login, password))

    def test_reset_with_totp(self):
        login = "t02"
        user = enroll(self.api, login, self.initial, totp=True)
        start = self.start_flow(login)
        totp = method_of(start, "totp")
        self.assertIsNotNone(totp, f"no totp method offered: {start}")
        self.assertEqual(totp["id"], "totp", totp)
        r = self.api.post("/api/v1/reset/challenge", {"flow": start["flow"], "method": "totp"})
        self.assertEqual(self.json_of(r, 200, "challenge totp"), {})
        # A wrong code first (counts one failed proof, well below the lockout).
        r = self.api.post("/api/v1/reset/verify",
                          {"flow": start["flow"], "method": "totp", "code": user.totp.wrong()})
        self.assertProblem(r, 400, "proof_invalid")
        r = self.api.post("/api/v1/reset/verify",
                          {"flow": start["flow"], "method": "totp", "code": user.totp.code()})
        self.assertEqual(self.json_of(r, 200, "verify totp"),
                         {"gates_passed": 1, "gates_required": 1})
        password = new_password("Totp")
        self.complete_reset(start["flow"], password)
        self.assertPasswordIs(login, password, self.initial)

    def test_two_gate_reset_of_an_admin_group_member(self):
        # carol is in sspr-admins (an admin group): two gates, never security questions.
        login, address = "carol", "carol@example.org"
        since_admin = self.mail.snapshot()
        user = enroll(self.api, login, self.initial, email=address, totp=True, mailbox=self.mail)
        start = self.start_flow(login)
        self.assertEqual(start["gates_required"], 2, start)
        kinds = {m["kind"] for m in start["methods"]}
        self.assertNotIn("questions", kinds, "questions must never be offered to admins")
        self.assertTrue({"email", "totp"} <= kinds, start)
        flow = start["flow"]

        email = method_of(start, "email")
        first = self.full_gate(flow, email, user)
        self.assertEqual(first, {"gates_passed": 1, "gates_required": 2})

        r = self.api.post("/api/v1/reset/complete", {"flow": flow,
                                                     "new_password": new_password("Early")})
        self.assertProblem(r, 403, "gates_missing")
        self.assertTrue(self.dir.can_bind(login, self.initial), "one gate changed the password")

        # The same method cannot be the second gate: refused at challenge or at verify.
        since = self.mail.snapshot()
        r = self.api.post("/api/v1/reset/challenge", {"flow": flow, "method": email["id"]})
        if r.status == 202:
            code = self.mail.wait_code(address, since)
            r = self.api.post("/api/v1/reset/verify",
                              {"flow": flow, "method": email["id"], "code": code})
        self.assertProblem(r, 409, "method_already_used")

        second = self.full_gate(flow, method_of(start, "totp"), user)
        self.assertEqual(second, {"gates_passed": 2, "gates_required": 2})
        password = new_password("Admin")
        since = self.mail.snapshot()
        self.complete_reset(flow, password)
        self.assertPasswordIs(login, password, self.initial)
        self.mail.wait_subject(address, since, CHANGED_SUBJECT)
        # The admin recipients hear of every reset of an admin account.
        self.mail.wait_subject(harness.ADMIN_RECIPIENT, since_admin, ADMIN_SUBJECT)

    # ---- unlock -------------------------------------------------------------------------------

    def test_unlock_of_a_locked_account(self):
        login, address = "locked", "locked@example.org"
        # Enrollment needs a bind with the password, which a locked account cannot do: unlock it
        # as the directory admin, enroll, and lock it again the way the test setup did.
        self.dir.unlock_admin(login)
        user = enroll(self.api, login, self.initial, email=address, mailbox=self.mail)
        self.dir.lock(login)
        self.assertFalse(self.dir.can_bind(login, self.initial), "locked account still binds")

        start = self.start_flow(login, "unlock")
        self.assertEqual(start["gates_required"], 1, start)
        verified = self.full_gate(start["flow"], method_of(start, "email"), user, kind="unlock")
        self.assertEqual(verified, {"gates_passed": 1, "gates_required": 1})
        since = self.mail.snapshot()
        r = self.api.post("/api/v1/unlock/complete", {"flow": start["flow"]})
        self.assertEqual(self.json_of(r, 200, "unlock/complete"), {"result": "unlocked"})
        self.assertFalse(self.dir.is_locked(login), "still locked after unlock")
        self.assertTrue(self.dir.can_bind(login, self.initial),
                        "the password must be unchanged by an unlock")
        self.mail.wait_subject(address, since, UNLOCKED_SUBJECT)
        r = self.api.post("/api/v1/unlock/complete", {"flow": start["flow"]})
        self.assertProblem(r, 404, "flow_not_found")

    # ---- change -------------------------------------------------------------------------------

    def test_change_with_the_current_password(self):
        login = "t04"
        wrong = self.api.post("/api/v1/password/change",
                              {"username": login, "current_password": "Not-The-Pass-1!",
                               "new_password": new_password("Nope")})
        wrong_body = self.assertProblem(wrong, 401, "credentials_invalid")
        unknown = self.api.post("/api/v1/password/change",
                                {"username": "no-such-user-4711",
                                 "current_password": self.initial,
                                 "new_password": new_password("Nope")})
        unknown_body = self.assertProblem(unknown, 401, "credentials_invalid")
        self.assertEqual(set(wrong_body), set(unknown_body))
        self.assertEqual(wrong_body["detail"], unknown_body["detail"],
                         "wrong user and wrong password must read the same")

        password = new_password("Change")
        r = self.api.post("/api/v1/password/change",
                          {"username": login, "current_password": self.initial,
                           "new_password": password})
        self.assertEqual(self.json_of(r, 200, "password/change"), {"result": "changed"})
        self.assertPasswordIs(login, password, self.initial)

    def test_change_of_a_must_change_account(self):
        login = "mustchange"
        if self.dir.kind == "ad":
            code, text = self.dir.bind_error(login, self.initial)
            self.assertIn("data 773", text, "fixture: mustchange should have to change")
        password = new_password("Must")
        r = self.api.post("/api/v1/password/change",
                          {"username": login, "current_password": self.initial,
                           "new_password": password})
        self.assertEqual(self.json_of(r, 200, "password/change (must change)"),
                         {"result": "changed"})
        self.assertPasswordIs(login, password, self.initial)

    # ---- enrollment ----------------------------------------------------------------------------

    def test_enrollment_of_every_method_then_list_and_delete(self):
        login, address, number = "t03", "t03@example.org", "+82 10 5555 0003"
        r = self.api.post("/api/v1/enroll/session", {"username": login,
                                                     "password": "Wrong-Pass-3!"})
        self.assertProblem(r, 401, "credentials_invalid")

        r = self.api.post("/api/v1/enroll/session", {"username": login,
                                                     "password": self.initial})
        body = self.json_of(r, 200, "enroll/session")
        self.assertEqual(set(body), {"token", "expires_in"}, body)
        self.assertIsInstance(body["expires_in"], int)
        self.assertGreater(body["expires_in"], 0)
        SECRETS.add(body["token"], "enrollment token")
        cookie = r.header("Set-Cookie") or ""
        self.assertIn("ssprd_enroll=", cookie, r.describe())
        parts = [p.strip().lower().replace(" ", "") for p in cookie.split(";")]
        for attr in ("secure", "httponly", "samesite=strict"):
            self.assertIn(attr, parts, f"the enrollment cookie lacks {attr}: {cookie}")

        user = enroll(self.api, login, self.initial, email=address, number=number, totp=True,
                     questions=True, mailbox=self.mail, smsbox=self.sms)
        r = self.api.get("/api/v1/enroll/methods", token=user.token)
        listing = self.json_of(r, 200, "enroll/methods")
        self.assertTrue({"methods", "allowed", "required", "complete"} <= set(listing), listing)
        self.assertEqual(sorted(listing["allowed"]), ["email", "questions", "sms", "totp"])
        self.assertTrue(listing["complete"], listing)
        by_kind = {m["kind"]: m for m in listing["methods"]}
        self.assertEqual(set(by_kind), {"email", "sms", "totp", "questions"}, listing)
        for m in listing["methods"]:
            self.assertTrue({"id", "kind", "hint", "confirmed", "confirmed_at",
                             "reconfirm_due"} <= set(m), m)
            if m["kind"] != "questions":  # answers are registered, not confirmed by a code
                self.assertTrue(m["confirmed"], m)
            self.assertFalse(m["reconfirm_due"], m)
        self.assertTrue(masked(by_kind["email"]["hint"], address), by_kind["email"])
        self.assertTrue(by_kind["sms"]["hint"].endswith("0003"), by_kind["sms"])
        self.assertNotIn("5555", by_kind["sms"]["hint"], by_kind["sms"])
        self.assertNotIn(user.totp.secret, r.body.decode(), "TOTP secret in the listing")

        # A reset with the texted code works now.
        start = self.start_flow(login)
        sms = method_of(start, "sms")
        self.assertIsNotNone(sms, start)
        self.assertEqual(self.full_gate(start["flow"], sms, user),
                         {"gates_passed": 1, "gates_required": 1})

        sms_id = by_kind["sms"]["id"]
        r = self.api.delete(f"/api/v1/enroll/methods/{sms_id}", token=user.token)
        self.assertStatus(r, 204, "delete sms")
        self.assertEqual(r.body, b"", r.describe())
        listing = self.json_of(self.api.get("/api/v1/enroll/methods", token=user.token))
        self.assertNotIn("sms", {m["kind"] for m in listing["methods"]}, listing)
        r = self.api.delete(f"/api/v1/enroll/methods/{sms_id}", token=user.token)
        self.assertProblem(r, 404, "method_not_found")

        # The session is needed, and only a real one works.
        self.assertProblem(self.api.get("/api/v1/enroll/methods"), 401, "session_invalid")
        self.assertProblem(self.api.get("/api/v1/enroll/methods",
                                        token="AAAAAAAAAAAAAAAAAAAAAA"), 401, "session_invalid")
        self.assertProblem(self.api.post("/api/v1/enroll/email", {"address": address}), 401,
                           "session_invalid")
        r = self.api.get("/api/v1/enroll/questions", token=user.token)
        pool = self.json_of(r, 200, "questions")["questions"]
        self.assertEqual(len(pool), len(harness.QUESTION_POOL), pool)
        self.assertTrue(all(set(q) == {"id", "text"} for q in pool), pool)
        r = self.api.get("/api/v1/enroll/questions", token=user.token,
                         headers={"Accept-Language": "ko"})
        pool_ko = self.json_of(r, 200, "questions (ko)")["questions"]
        self.assertTrue(any(re.search("[\uac00-\ud7a3]", q["text"]) for q in pool_ko), pool_ko)


if __name__ == "__main__":
    harness.main()
