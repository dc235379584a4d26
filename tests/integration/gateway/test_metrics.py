#!/usr/bin/env python3
"""Prometheus metrics on audit.metrics_listen: a scrape before and after an enrollment, a reset
and a throttled spray shows the counters move. Flow-step counters equal the audit trail's lines;
directory operations are histograms per URI (a dead first URI is seen as unavailable, the live
one as up); deliveries sent count the mails the sink received; no login, address or code is in
the output.

  python3 test_metrics.py SSPRD
"""
import collections
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

USER = "t29"
SPRAYED = "metrics-nobody"
METRICS_PORT = harness.free_port()
DEAD_URI = f"ldaps://127.0.0.1:{harness.free_port()}"

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, ((label, value), ...)): float} from the text exposition format."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError(f"not an exposition line: {line!r}")
        labels = tuple(sorted(LABEL.findall(m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples, name, **labels):
    """Sum over the samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


class MetricsTest(harness.GatewayTestCase):
    USERS = (USER,)
    DIRECTORY = "openldap"

    @classmethod
    def setUpClass(cls):
        env = harness.testenv_or_skip()
        live = env["SSPR_OL_LDAPS_URI"]
        cls.live_uri = live
        cls.GATEWAY_OPTIONS = {"overrides": {
            "audit": {"metrics_listen": f"127.0.0.1:{METRICS_PORT}"},
            "directory": {"uris": [DEAD_URI, live]},
            "throttles": {"flow_starts_per_user": {"key": "user", "limit": 2, "window": "10m",
                                                   "block": "30m"}},
        }}
        super().setUpClass()

    def scrape(self, path="/metrics"):
        with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}{path}", timeout=20) as r:
            self.assertEqual(r.status, 200)
            self.assertIn("text/plain", r.headers.get("Content-Type", ""))
            return r.read().decode("utf-8")

    def audit_counts(self):
        counts = collections.Counter()
        with open(self.gw.audit_path, encoding="utf-8") as f:
            for line in f:
                e = json.loads(line)
                counts[(e["step"], e["outcome"])] += 1
        return counts

    def test_the_counters_move_with_a_reset_and_a_spray(self):
        self.assertIn("metrics on http://127.0.0.1:%d/metrics" % METRICS_PORT,
                      self.gw.tail(200), "the listen line names the metrics URL")
        before = parse(self.scrape())
        self.assertEqual(value(before, "ssprd_up", component="directory"), 1.0)
        self.assertEqual(value(before, "ssprd_up", component="store"), 1.0)
        self.assertEqual(total(before, "ssprd_build_info"), 1.0)
        self.assertEqual(value(before, "ssprd_registered_users", method="email"), 0.0)

        address = f"{USER}@example.org"
        enrolled = harness.enroll(self.api, USER, self.env.user_password, email=address,
                                  mailbox=self.mail)
        r = harness.expect(self.api.post("/api/v1/reset/start", {"username": USER}), 200,
                           "reset start")
        flow = r.json()["flow"]
        method = harness.method_of(r.json(), "email")
        v = harness.pass_gate(self.api, "reset", flow, method, enrolled, mailbox=self.mail)
        harness.expect(v, 200, "verify the mailed code")
        password = harness.new_password("Metrics")
        harness.expect(self.api.post("/api/v1/reset/complete",
                                     {"flow": flow, "new_password": password}), 200, "complete")
        # A spray at one name: the third start in the window is refused by flow_starts_per_user.
        statuses = [self.api.post("/api/v1/reset/start", {"username": SPRAYED}).status
                    for _ in range(4)]
        self.assertIn(429, statuses, f"no throttle refusal in {statuses}")

        text = self.scrape()
        after = parse(text)

        # Flow steps: exactly the audit trail's events, by step and outcome.
        audit = self.audit_counts()
        for (step, outcome), n in audit.items():
            if step.startswith("delivery."):
                continue  # recorded when the sender finishes, maybe after this scrape
            self.assertEqual(value(after, "ssprd_flow_steps_total", step=step, outcome=outcome),
                             n, f"{step}/{outcome}: audit has {n}\n{text}")
        for step in ("enroll.session", "reset.start", "reset.verify", "reset.complete"):
            self.assertGreater(
                value(after, "ssprd_flow_steps_total", step=step, outcome="ok") -
                value(before, "ssprd_flow_steps_total", step=step, outcome="ok"), 0,
                f"{step} ok did not move\n{text}")
        self.assertGreaterEqual(
            value(after, "ssprd_throttle_blocks_total", bucket="flow_starts_per_user"),
            statuses.count(429), text)

        # Directory: a histogram per URI; the dead one is unavailable, the live one answered.
        self.assertEqual(value(after, "ssprd_directory_server_up", uri=self.live_uri), 1.0, text)
        self.assertEqual(value(after, "ssprd_directory_server_up", uri=DEAD_URI), 0.0, text)
        self.assertGreater(total(after, "ssprd_directory_operation_seconds_count",
                                 uri=DEAD_URI, operation="connect", outcome="unavailable"), 0,
                           text)
        for op in ("connect", "service_bind", "search", "user_bind"):
            self.assertGreater(total(after, "ssprd_directory_operation_seconds_count",
                                     uri=self.live_uri, operation=op, outcome="ok"), 0,
                               f"no ok {op} on {self.live_uri}\n{text}")
        self.assertGreater(total(after, "ssprd_directory_operation_seconds_count",
                                 uri=self.live_uri, operation="reset", outcome="ok"), 0, text)
        count = total(after, "ssprd_directory_operation_seconds_count", uri=self.live_uri)
        inf = total(after, "ssprd_directory_operation_seconds_bucket", uri=self.live_uri, le="+Inf")
        self.assertEqual(count, inf, "the +Inf buckets hold every observation")

        # Registration coverage: the user registered an e-mail address and nothing else. It is
        # counted again at most once a second, so a scrape right after the last may show the old.
        deadline = time.monotonic() + 5
        while (value(after, "ssprd_registered_users", method="email") != 1.0 and
               time.monotonic() < deadline):
            time.sleep(0.5)
            after = parse(self.scrape())
        self.assertEqual(value(after, "ssprd_registered_users", method="email"), 1.0, text)
        self.assertEqual(value(after, "ssprd_registered_users", method="any"), 1.0, text)
        self.assertEqual(value(after, "ssprd_registered_users", method="totp"), 0.0, text)

        # Deliveries: the enrollment code and the reset code at least.
        sent = (value(after, "ssprd_deliveries_total", channel="email", result="sent") -
                value(before, "ssprd_deliveries_total", channel="email", result="sent"))
        self.assertGreaterEqual(sent, 2, text)
        self.assertEqual(value(after, "ssprd_deliveries_total", channel="email", result="failed"),
                         0.0, text)
        # Every result is exported, zeros included; nothing expired, nothing is left waiting.
        for result in ("sent", "failed", "retried", "expired"):
            self.assertIn(("ssprd_deliveries_total",
                           (("channel", "email"), ("result", result))), after, text)
        self.assertEqual(value(after, "ssprd_deliveries_total", channel="email",
                               result="expired"), 0.0, text)
        self.assertIn(("ssprd_deliveries_waiting", ()), after, text)
        # The queue drains (a notice of the reset may still be on its way at the first scrape).
        drained = time.monotonic() + 10
        waiting = parse(self.scrape())
        while value(waiting, "ssprd_deliveries_waiting") != 0.0 and time.monotonic() < drained:
            time.sleep(0.2)
            waiting = parse(self.scrape())
        self.assertEqual(value(waiting, "ssprd_deliveries_waiting"), 0.0, text)

        # Nothing of the people: no login, address, code or password in the output.
        for secret in (USER + '"', SPRAYED, address, password):
            self.assertNotIn(secret, text)
        for code in re.findall(r"\b\d{6,8}\b", text):
            self.assertNotIn(code, harness.SECRETS.snapshot(), "a code in the metrics")

    def test_other_paths_are_not_found(self):
        with self.assertRaises(urllib.error.HTTPError) as caught:
            self.scrape("/admin")
        self.assertEqual(caught.exception.code, 404)


if __name__ == "__main__":
    harness.main()
