#!/usr/bin/env python3
"""The first directory URI is dead, or dies during the run: `directory.uris` lists it first and
the private slapd second, and no user request may fail for it.

  * test_1: the first URI is a loopback port nothing listens on (connection refused). Full reset
    flows (start, challenge, verify, complete) all answer 2xx, /readyz is 200, and slapd holds
    every new password (the old one refused). The flows are spaced past the backoff, so the
    gateway keeps trying the dead URI first and failing over again.
  * test_2: the first URI is a TCP relay to the same slapd (faultenv.Relay), which the gateway
    uses while it is up, and which is SIGKILLed during the run: the kernel closes every relayed
    connection and the listener, which is what a crashed first server looks like to the gateway,
    while the data stay in one place to check. The relay is killed
      - while a `reset/complete` waits on it (hung first, then killed, at several points of the
        request: before it and at fractions of its normal latency),
      - while the bind that proves a new password waits on a connection opened for it just now
        (the relay answering 300 ms late, so the kill surely lands on that bind), and
      - at random under 4 concurrent users running whole flows;
    after each kill the relay comes back on its port and the gateway moves back to it. Every
    step of every flow answers 2xx (never 5xx), every complete "changed", and slapd holds each
    new password.

  python3 test_directory_failover.py SSPRD
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultenv  # noqa: E402
import harness  # noqa: E402
from harness import SECRETS, enroll, method_of, new_password  # noqa: E402

DIRECTORY_TIMEOUTS = {"connect_timeout": "1s", "operation_timeout": "2s",
                      "backoff_min": "100ms", "backoff_max": "400ms"}
DEAD_USERS = tuple(f"t{i:02d}" for i in range(1, 6))
KILL_USERS = tuple(f"t{i:02d}" for i in range(6, 12))
SLOW_USER = "t12"
BURST_USERS = tuple(f"t{i:02d}" for i in range(13, 17))
# How long a hung relay holds a request before it is killed: well below operation_timeout (2 s),
# so the gateway sees the connection die, not time out.
HUNG_S = 0.4
# The slow relay's lag per answer.
SLOW_MS = 300
STEP_BOUND_S = 15


class DirectoryFailoverTest(faultenv.FaultTestCase):
    USERS = DEAD_USERS + KILL_USERS + (SLOW_USER,) + BURST_USERS

    @classmethod
    def gateway_options(cls):
        slapd = cls.penv.ports["ldaps"]
        # A port that was free a moment ago: nothing listens there (connection refused).
        cls.dead_uri = f"ldaps://127.0.0.1:{harness.free_port()}"
        cls.relay = cls.penv.start_relay(slapd)
        cls.slapd_uri = f"ldaps://127.0.0.1:{slapd}"
        return {"overrides": {"directory": dict(DIRECTORY_TIMEOUTS,
                                                uris=[cls.dead_uri, cls.slapd_uri])}}

    # -- one whole reset flow, every step recorded --
    def reset_flow(self, client, user, password, steps, hooks=None):
        """start/challenge/verify/complete of `user` through `client`; every answer goes into
        `steps` as (login, step, status, seconds); hooks[step](), if given, runs before it is
        sent. Returns the complete's response (None when an earlier step failed)."""
        hooks = hooks or {}

        def send(step, path, body):
            if step in hooks:
                hooks[step]()
            began = time.monotonic()
            r = client.post(path, body)
            steps.append((user.login, step, r.status, time.monotonic() - began, r))
            return r

        r = send("start", "/api/v1/reset/start", {"username": user.login})
        if r.status != 200:
            return None
        flow = r.json()["flow"]
        SECRETS.add(flow, "flow token")
        email = method_of(r.json(), "email")
        since = self.mail.snapshot()
        r = send("challenge", "/api/v1/reset/challenge", {"flow": flow, "method": email["id"]})
        if r.status != 202:
            return None
        code = self.mail.wait_code(user.email, since)
        r = send("verify", "/api/v1/reset/verify",
                 {"flow": flow, "method": email["id"], "code": code})
        if r.status != 200:
            return None
        return send("complete", "/api/v1/reset/complete", {"flow": flow, "new_password": password})

    def assert_all_ok(self, steps, label):
        bad = [s for s in steps if s[2] not in (200, 202)]
        self.assertFalse(bad, f"{label}: steps that failed:\n" + "\n".join(
            f"{login} {step}: {status} in {took:.2f}s\n{r.describe()}"
            for login, step, status, took, r in bad))
        slow = [s for s in steps if s[3] > STEP_BOUND_S]
        self.assertFalse(slow, f"{label}: steps slower than {STEP_BOUND_S}s: " + ", ".join(
            f"{login} {step} {took:.2f}s" for login, step, _, took, _ in slow))

    def assert_changed(self, user, password, r, label):
        self.assertIsNotNone(r, label)
        self.assertEqual(self.json_of(r, 200, label), {"result": "changed"})
        self.assertTrue(self.dir.can_bind(user.login, password), f"{label}: new password")
        self.assertFalse(self.dir.can_bind(user.login, self.env.user_password),
                         f"{label}: old password still binds")

    def test_1_dead_first_uri(self):
        initial = self.env.user_password
        enrolled = [enroll(self.api, u, initial, email=f"{u}@example.org", mailbox=self.mail)
                    for u in DEAD_USERS]
        r = self.wait_ready()
        self.assertEqual(r.json(), {"directory": "ok", "store": "ok"}, r.describe())
        steps = []
        for user in enrolled:
            # Past backoff_max: the gateway gives the dead URI another try before each flow.
            time.sleep(0.5)
            password = new_password("Dead")
            r = self.reset_flow(self.api, user, password, steps)
            self.assert_all_ok(steps, f"first URI {self.dead_uri} dead")
            self.assert_changed(user, password, r, f"{user.login}, first URI dead")
        print("first URI dead: " + ", ".join(f"{s[1]} {s[2]} {s[3] * 1000:.0f}ms"
                                             for s in steps if s[1] == "complete"),
              file=sys.stderr)
        self.assertEqual(self.wait_ready().json(), {"directory": "ok", "store": "ok"})

    def wait_on_relay(self, client, label, delay_ms=0, timeout=10):
        """The relay (killed) is up again and the gateway uses it (a new connection through
        it)."""
        if self.relay.running():
            return
        self.relay.start(delay_ms)
        before = self.relay.accepted()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = client.get("/readyz")
            self.assertEqual(r.status, 200, f"{label}: /readyz\n{r.describe()}")
            if self.relay.accepted() > before:
                return
            time.sleep(0.2)
        self.fail(f"{label}: the gateway did not go back to the relay within {timeout}s")

    def test_2_first_uri_killed_during_the_run(self):
        initial = self.env.user_password
        gw = self.add_gateway(overrides={"directory": dict(
            DIRECTORY_TIMEOUTS, uris=[self.relay.uri, self.slapd_uri])})
        client = gw.client()
        # Enrolled through the relay while it is up.
        enrolled = [enroll(client, u, initial, email=f"{u}@example.org", mailbox=self.mail)
                    for u in KILL_USERS + (SLOW_USER,) + BURST_USERS]
        self.assertGreater(self.relay.accepted(), 0, "the gateway never used the first URI")
        kill_users, slow_user = enrolled[:len(KILL_USERS)], enrolled[len(KILL_USERS)]
        burst_users = enrolled[len(KILL_USERS) + 1:]

        # The normal latency of complete through the relay, from the first user's flow.
        steps = []
        user = kill_users[0]
        password = new_password("Relay")
        r = self.reset_flow(client, user, password, steps)
        self.assert_all_ok(steps, "relay healthy")
        self.assert_changed(user, password, r, "relay healthy")
        normal = steps[-1][3]
        print(f"normal complete through the relay: {normal * 1000:.0f} ms", file=sys.stderr)

        # The relay dies while a complete waits on it: hung (so the request is surely inside an
        # LDAP operation on it), then killed. None: hung before the complete is sent.
        outcomes = []
        for user, delay in zip(kill_users[1:], (None, 0.0, normal * 0.3, normal * 0.6,
                                                normal * 0.9)):
            label = "hung before" if delay is None else f"hung at +{delay * 1000:.0f}ms"
            self.wait_on_relay(client, label)
            password = new_password("Kill")

            def hang_then_kill(delay=delay):
                if delay:
                    time.sleep(delay)
                if delay is not None:
                    self.relay.hang()
                time.sleep(HUNG_S)
                self.relay.kill()

            killing = threading.Thread(target=hang_then_kill, daemon=True)
            steps = []

            def before_complete(delay=delay, killing=killing):
                if delay is None:
                    self.relay.hang()
                killing.start()

            r = self.reset_flow(client, user, password, steps, {"complete": before_complete})
            killing.join(15)
            self.assertFalse(killing.is_alive(), "the relay was not killed")
            self.assert_all_ok(steps, f"relay {label}, then killed")
            self.assert_changed(user, password, r, f"relay {label}, then killed")
            outcomes.append(f"{label}: complete {steps[-1][2]} in {steps[-1][3]:.2f}s")
        print("relay killed during complete:\n  " + "\n  ".join(outcomes), file=sys.stderr)

        # The worst moment: the relay dies while the bind that proves the new password waits on a
        # connection opened for it just now (the users' connections move back to the first URI
        # with a new one). Through the slow relay that bind is surely on its way 1.5 round trips
        # after its connection was accepted: the TLS handshake is done after one, the answer is
        # due after two.
        self.relay.kill()
        self.wait_on_relay(client, "slow relay", delay_ms=SLOW_MS)
        seen = {}

        def kill_under_new_connection():
            armed = self.relay.accepted()
            deadline = time.monotonic() + 10
            while self.relay.accepted() == armed and time.monotonic() < deadline:
                time.sleep(0.005)
            seen["new"] = self.relay.accepted() > armed
            time.sleep(1.5 * SLOW_MS / 1000)
            self.relay.kill()

        killing = threading.Thread(target=kill_under_new_connection, daemon=True)
        steps = []
        password = new_password("Slow")
        r = self.reset_flow(client, slow_user, password, steps, {"complete": killing.start})
        killing.join(15)
        self.assertTrue(seen.get("new"), "the complete opened no new connection through the relay")
        self.assert_all_ok(steps, "slow relay killed under a new connection")
        self.assert_changed(slow_user, password, r, "slow relay killed under a new connection")
        print(f"slow relay killed under a new connection: complete {steps[-1][2]} in "
              f"{steps[-1][3]:.2f}s", file=sys.stderr)

        # Four users run whole flows at once; the relay is killed once half of their steps
        # are answered.
        self.wait_on_relay(client, "before the burst")
        steps = []
        passwords = {u.login: new_password("Burst") for u in burst_users}
        completes = {}
        errors = []

        def run(user):
            try:
                completes[user.login] = self.reset_flow(gw.client(), user,
                                                        passwords[user.login], steps)
            except Exception as e:  # noqa: BLE001 - reported by the main thread
                errors.append(f"{user.login}: {type(e).__name__}: {e}")

        threads = [threading.Thread(target=run, args=(u,), daemon=True) for u in burst_users]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(steps) < 2 * len(burst_users) and time.monotonic() < deadline:
            time.sleep(0.002)
        self.relay.kill()
        killed_after = len(steps)
        for t in threads:
            t.join(60)
            self.assertFalse(t.is_alive(), "a flow of the burst hung")
        self.assertFalse(errors, "\n".join(errors))
        self.assert_all_ok(steps, f"relay killed after {killed_after} steps of the burst")
        for user in burst_users:
            self.assert_changed(user, passwords[user.login], completes.get(user.login),
                                f"{user.login} in the burst")
        print(f"burst: relay killed after {killed_after} of {len(steps)} steps", file=sys.stderr)
        # The gateway goes back to the first URI once it is up again, and still works.
        self.wait_on_relay(client, "after the burst")


if __name__ == "__main__":
    faultenv.main()
