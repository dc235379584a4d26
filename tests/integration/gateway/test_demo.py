#!/usr/bin/env python3
"""The newcomer's tour, as the README gives it: `scripts/demo` (with the ssprd already built),
then in the printed pages: sign in to register contact info as bob, add and confirm his e-mail
address with the mailed code, reset his password through the forgot-password forms, see the
"password was changed" notice arrive in the printed mail folder, and sign in to the directory
with the new password. Then Ctrl-C (SIGINT) must stop everything the demo started.

The forms are posted as a browser without JavaScript posts them (harness.Browser / Forms); the
e2e tests (tests/e2e) drive the same pages in Chromium. The demo starts its own slapd and SMTP
sink on free ports, so no test environment is needed.

  python3 test_demo.py SSPRD
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Browser, Client, Forms, Mailbox, new_password  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
USER, START_PASSWORD = "bob", "Start-Pass-1!"
ADDRESS = f"{USER}@example.org"
READY_LINE = "Ctrl-C stops"
START_TIMEOUT = 180


class DemoTourTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ssprd = harness.ssprd_binary()
        cls.dir = tempfile.mkdtemp(prefix="ssprd-demo-test.")
        os.rmdir(cls.dir)  # the demo makes it (and refuses a folder that is not its own)
        cls.ports = {k: harness.free_port() for k in
                     ("PORT", "OL_PORT", "OL_TLS_PORT", "SMTP_PORT", "SMTP_TLS_PORT")}
        env = dict(os.environ, SSPR_DEMO_DIR=cls.dir, SSPR_DEMO_SKIP_BUILD="1",
                   SSPR_DEMO_BUILD=os.path.dirname(os.path.dirname(ssprd)),
                   **{f"SSPR_DEMO_{k}": str(v) for k, v in cls.ports.items()})
        env.pop("SSPR_TESTENV_FILE", None)
        cls.out_path = cls.dir + ".out"
        cls.out = open(cls.out_path, "w+")
        cls.err = open(cls.dir + ".err", "w+")  # progress lines; stdout is what a user reads
        cls.demo = subprocess.Popen(["bash", os.path.join(ROOT, "scripts", "demo")], env=env,
                                    stdout=cls.out, stderr=cls.err, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if READY_LINE in cls.printed() or cls.demo.poll() is not None:
                break
            time.sleep(0.5)
        if READY_LINE not in cls.printed():
            cls.stop_demo()
            cls.err.seek(0)
            raise AssertionError(f"scripts/demo did not get ready:\n{cls.printed()[-3000:]}\n"
                                 f"{cls.err.read()[-3000:]}")

    @classmethod
    def printed(cls):
        cls.out.flush()
        with open(cls.out_path) as f:
            return f.read()

    @classmethod
    def stop_demo(cls):
        if cls.demo.poll() is None:
            cls.demo.send_signal(signal.SIGINT)
            try:
                cls.demo.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(cls.demo.pid, signal.SIGKILL)
                cls.demo.wait(timeout=30)
        return cls.demo.returncode

    @classmethod
    def tearDownClass(cls):
        cls.stop_demo()
        cls.out.close()
        cls.err.close()
        shutil.rmtree(cls.dir, ignore_errors=True)
        os.unlink(cls.out_path)
        os.unlink(cls.dir + ".err")

    def printed_path(self, label):
        m = re.search(rf"^\s*{label}:\s+(\S+)", self.printed(), re.M)
        self.assertIsNotNone(m, f"the demo prints no '{label}:' line:\n{self.printed()}")
        return m.group(1)

    def test_1_tour(self):
        text = self.printed()
        url = f"https://127.0.0.1:{self.ports['PORT']}/"
        first = next(ln for ln in text.splitlines() if ln.strip())
        self.assertIn(url, first, "the pages' URL comes first")
        ca = self.printed_path("CA of the gateway")
        mail = Mailbox(self.printed_path("mail folder"))
        client = Client("127.0.0.1", self.ports["PORT"], ca)
        browser = Browser(url.rstrip("/"))

        def page(r, what):
            self.assertEqual(r.status, 200, f"{what}: {r.describe()}")
            return Forms(r.body.decode("utf-8"))

        # Register contact info: sign in, add the e-mail address, confirm it with the code.
        forms = page(browser.get(client, "/enroll"), "sign-in page")
        fields = forms.form("/enroll/session")
        fields.update({"username": USER, "password": START_PASSWORD})
        harness.SECRETS.add(START_PASSWORD, "password")
        r = browser.post(client, "/enroll/session", fields)
        if r.status == 303:
            r = browser.get(client, r.header("Location") or "/enroll")
        fields = page(r, "methods page").form("/enroll/email")
        fields["address"] = ADDRESS
        since = mail.snapshot()
        fields = page(browser.post(client, "/enroll/email", fields),
                      "address added").form("/enroll/email/verify")
        fields["code"] = mail.wait_code(ADDRESS, since)
        r = browser.post(client, "/enroll/email/verify", fields)
        if r.status == 303:
            r = browser.get(client, r.header("Location") or "/enroll")
        page(r, "address confirmed").form("/enroll/remove")  # now listed, with its form

        # Forgot password: username, the mailed code, the new password twice.
        browser = Browser(url.rstrip("/"))
        fields = page(browser.get(client, "/reset"), "reset page").form("/reset/start")
        fields["username"] = USER
        fields = page(browser.post(client, "/reset/start", fields),
                      "choose a method").form("/reset/challenge")
        since = mail.snapshot()
        fields = page(browser.post(client, "/reset/challenge", fields),
                      "code page").form("/reset/verify")
        fields["code"] = mail.wait_code(ADDRESS, since)
        fields = page(browser.post(client, "/reset/verify", fields),
                      "new password page").form("/reset/complete")
        password = new_password("Tour")
        fields["new_password"] = fields["confirm_password"] = password
        since = mail.snapshot()
        done = page(browser.post(client, "/reset/complete", fields), "done page")
        self.assertFalse([f for f in done.forms if f["action"] == "/reset/complete"],
                         "the new password form came back: the change was refused")

        # The notice is in the mail folder, and the directory holds the new password.
        mail.wait_subject(ADDRESS, since, r"password was changed")
        bind = subprocess.run(
            ["ldapwhoami", "-x", "-H", f"ldaps://127.0.0.1:{self.ports['OL_TLS_PORT']}",
             "-D", f"uid={USER},ou=people,dc=example,dc=org", "-y", "/dev/stdin"],
            input=password.encode(), capture_output=True, timeout=30,
            env=dict(os.environ, LDAPTLS_CACERT=os.path.join(self.dir, "ca", "ca.crt")))
        self.assertEqual(bind.returncode, 0, bind.stderr.decode())

        # No secret of the tour in the gateway's log or audit file.
        gw_dir = os.path.join(self.dir, "gateway")
        leaks = harness.find_secrets(os.path.join(gw_dir, "ssprd.log"), harness.SECRETS.snapshot())
        leaks += harness.find_secrets(os.path.join(gw_dir, "audit.jsonl"),
                                      harness.SECRETS.snapshot())
        self.assertEqual(leaks, [])

    def test_2_ctrl_c_stops_everything(self):
        pids = [int(p) for p in re.findall(r"\(pid (\d+)", self.printed())]
        self.assertTrue(pids, "the demo prints the gateway's pid")
        self.stop_demo()
        for port in self.ports.values():
            with harness.socket.socket() as s:
                s.settimeout(2)
                self.assertNotEqual(s.connect_ex(("127.0.0.1", port)), 0,
                                    f"something still listens on {port} after Ctrl-C")
        for pid in pids:
            self.assertFalse(os.path.exists(f"/proc/{pid}"), f"pid {pid} still runs")


if __name__ == "__main__":
    harness.main(needs_testenv=False)
