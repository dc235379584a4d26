#!/usr/bin/env python3
"""Private test servers for the fault tests (python3 standard library only).

Every fault test breaks a server on purpose (SIGSTOP, stop, SIGKILL of ssprd), so it never uses
the shared test environment of SSPR_TESTENV_FILE: PrivateEnv starts its own CA, slapd, SMTP sink,
SMS webhook and (when asked) PostgreSQL with the scripts of scripts/testenv/, on free loopback
ports of their own, in a temporary directory, writes a testenv.env for them and points
tests/integration/gateway/harness.py at it. stop() stops every server by its recorded PID (the
scripts' stop commands, then SIGKILL of any recorded PID still alive); call it in a finally.

Exit 77 (ctest: skipped) only when a server program is not installed (scripts/install-deps
installs them all); anything else that does not work is a failure.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
import harness  # noqa: E402

TESTENV = os.path.join(harness.SOURCE_DIR, "scripts", "testenv")
PG_BIN = "/usr/lib/postgresql/15/bin"


def skip(why, hint=" (run scripts/install-deps)"):
    print(f"SKIP: {why}{hint}", flush=True)
    sys.exit(harness.SKIP_RC)


def check_tools(postgres=False):
    if not os.access("/usr/sbin/slapd", os.X_OK):
        skip("/usr/sbin/slapd is not installed")
    p = subprocess.run(["/usr/bin/python3", "-c", "import aiosmtpd"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
    if p.returncode != 0:
        skip("python3-aiosmtpd is not installed for /usr/bin/python3")
    if postgres and not os.access(os.path.join(PG_BIN, "postgres"), os.X_OK):
        skip(f"PostgreSQL 15 is not installed in {PG_BIN}")


def read_pidfile(path):
    """(pid, starttime) from a testenv PID file, or None."""
    try:
        with open(path, encoding="ascii") as f:
            parts = f.read().split()
        return int(parts[0]), parts[1] if len(parts) > 1 else ""
    except (OSError, ValueError, IndexError):
        return None


def proc_starttime(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()[19]


def alive(pid, start):
    return proc_starttime(pid) == start


def threads_stopped(pid):
    """Whether every thread of `pid` is stopped ('T' in /proc/PID/task/TID/stat)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        for tid in tasks:
            with open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
            if stat[stat.rindex(")") + 2:][:1] != "T":
                return False
    except (OSError, ValueError):
        return False
    return bool(tasks)


def audit_events(path):
    """The audit file's events (one JSON object a line); a torn last line is skipped."""
    events = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass
    except FileNotFoundError:
        pass
    return events


def rss_kib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def _redact(value):
    if isinstance(value, dict):
        return {k: (f"<{len(v)} chars>" if k in harness.SecretRegistry.SECRET_KEYS and
                    isinstance(v, str) else _redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _redacted_body(data):
    if data is None:
        return ""
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except ValueError:
            return f"<{len(data)} bytes>"
    return json.dumps(_redact(data), ensure_ascii=False)[:1500]


def safe_describe(self):
    """Response.describe without secrets: the values of secret keys (flow, passwords, codes,
    answers, tokens) in the request and the response are replaced by their length."""
    body = self.body
    if self.content_type.endswith("json"):
        body = _redacted_body(body)
    else:
        body = f"<{len(body)} bytes of {self.content_type or 'no type'}>"
    return (f"request: {self.method} {self.path} {_redacted_body(self.request_body)}\n"
            f"response: {self.status} {self.reason} (X-Request-Id "
            f"{self.header('X-Request-Id')}, Retry-After {self.header('Retry-After')})\n"
            f"  body: {body}")


# No secret in the output of a fault test, not even in a failure message.
harness.Response.describe = safe_describe


class PrivateEnv:
    """CA + slapd + SMTP sink + webhook (+ PostgreSQL) of one test, on ports of its own."""

    SERVERS = ("openldap", "smtp", "webhook", "postgres")

    def __init__(self, postgres=False):
        check_tools(postgres)
        self.postgres = postgres
        # 0711: the postgres user (PostgreSQL refuses to run as root) must reach DIR/postgres.
        self.dir = tempfile.mkdtemp(prefix="sspr-faults-")
        os.chmod(self.dir, 0o711)
        self.started = []
        self.relays = []
        self.mounts = []
        self.ports = {}
        self.env_path = os.path.join(self.dir, "testenv.env")

    def _ctl(self, script, action, name, extra_env=None, timeout=120):
        env = dict(os.environ)
        env["SSPR_TEST_CA_DIR"] = os.path.join(self.dir, "ca")
        # The scripts' own safety net: a leaked server ends after 20 minutes.
        env["SSPR_TESTENV_MAX_RUNTIME"] = "1200"
        env["SSPR_OL_LOGLEVEL"] = "0"
        env.update(extra_env or {})
        p = subprocess.run([os.path.join(TESTENV, script), action, os.path.join(self.dir, name)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                           timeout=timeout)
        if p.returncode != 0:
            raise AssertionError(f"{script} {action} {name} exited {p.returncode}:\n"
                                 f"{p.stdout.decode(errors='replace')[-2000:]}")
        return p

    def start(self):
        began = time.monotonic()
        self._ctl("certs.sh", "ca", "ca")
        ol, ols, smtp, smtps, hook = (harness.free_port() for _ in range(5))
        self.ports.update(ldap=ol, ldaps=ols, smtp=smtp, smtps=smtps, webhook=hook)
        self._setup_start("slapd.sh", "openldap",
                          {"SSPR_OL_PORT": str(ol), "SSPR_OL_TLS_PORT": str(ols)})
        self._setup_start("smtp.sh", "smtp",
                          {"SSPR_SMTP_PORT": str(smtp), "SSPR_SMTP_TLS_PORT": str(smtps)})
        self._setup_start("webhook.sh", "webhook", {"SSPR_WEBHOOK_PORT": str(hook)})
        if self.postgres:
            pg = harness.free_port()
            self.ports["postgres"] = pg
            self._setup_start("postgres.sh", "postgres", {"SSPR_PG_PORT": str(pg)})
        self._write_env()
        os.environ["SSPR_TESTENV_FILE"] = self.env_path
        harness.ENV = harness.TestEnv(self.env_path)
        print(f"[faultenv] private servers up in {time.monotonic() - began:.1f}s: "
              f"{self.ports}", file=sys.stderr)
        return harness.ENV

    def _setup_start(self, script, name, env):
        self._ctl(script, "setup", name, env)
        self.started.append((script, name))
        self._ctl(script, "start", name)

    def _write_env(self):
        d = self.dir
        ol = {}
        with open(os.path.join(d, "openldap", "instance.env"), encoding="utf-8") as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    ol[k] = v
        # The sample data's passwords (scripts/testenv/testdata.sh), as scripts/testenv/up
        # writes them.
        td = subprocess.run(["bash", "-c", '. "$1"; printf "%s\\n%s\\n%s" "$TD_PASSWORD" '
                             '"$TD_UNICODE_LOGIN" "$TD_UNICODE_PASSWORD"', "_",
                             os.path.join(TESTENV, "testdata.sh")],
                            stdout=subprocess.PIPE, check=True, timeout=30)
        password, ulogin, upassword = td.stdout.decode().split("\n")
        lines = [
            f"SSPR_TEST_CA={d}/ca/ca.crt",
            f"SSPR_TEST_USER_PASSWORD={password}",
            f"SSPR_TEST_UNICODE_LOGIN={ulogin}",
            f"SSPR_TEST_UNICODE_PASSWORD={upassword}",
            f"SSPR_OL_LDAP_URI={ol['OL_LDAP_URI']}",
            f"SSPR_OL_LDAPS_URI={ol['OL_LDAPS_URI']}",
            f"SSPR_OL_LDAPI_URI={ol['OL_LDAPI_URI']}",
            f"SSPR_OL_BASE={ol['OL_BASE']}",
            f"SSPR_OL_BIND_DN={ol['OL_BIND_DN']}",
            f"SSPR_OL_BIND_PASSWORD_FILE={d}/openldap/sspr.pw",
            f"SSPR_OL_DIR={d}/openldap",
            f"SSPR_OL_CTL={TESTENV}/slapd.sh",
        ]
        for name in ("smtp", "webhook") + (("postgres",) if self.postgres else ()):
            with open(os.path.join(d, name, f"{name}.env"), encoding="utf-8") as f:
                lines += [ln.rstrip("\n") for ln in f if "=" in ln]
        with open(self.env_path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    # -- breaking things --
    def server_pid(self, name):
        """(pid, starttime) of the running server `name` (its DIR/server.pid)."""
        rec = read_pidfile(os.path.join(self.dir, name, "server.pid"))
        if rec is None or not alive(*rec):
            raise AssertionError(f"{name} is not running (no live PID in "
                                 f"{self.dir}/{name}/server.pid)")
        return rec

    def signal_server(self, name, sig):
        """Sends `sig`; for SIGSTOP, returns once every thread of the server is stopped (kill()
        returns before the stop takes effect, and a thread still running could answer)."""
        pid, start = self.server_pid(name)
        os.kill(pid, sig)
        if sig == signal.SIGSTOP:
            deadline = time.monotonic() + 5
            while not threads_stopped(pid):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGCONT)
                    raise AssertionError(f"{name} did not stop within 5 s of SIGSTOP")
                time.sleep(0.001)

    def stop_server(self, name):
        script = {"openldap": "slapd.sh", "smtp": "smtp.sh", "webhook": "webhook.sh",
                  "postgres": "postgres.sh"}[name]
        self._ctl(script, "stop", name)

    def start_server(self, name):
        script = {"openldap": "slapd.sh", "smtp": "smtp.sh", "webhook": "webhook.sh",
                  "postgres": "postgres.sh"}[name]
        self._ctl(script, "start", name)

    def start_relay(self, target_port, port=None, delay_ms=0):
        """A TCP relay (tcp_relay.py) to 127.0.0.1:target_port on a port of its own: a second
        address of a server that the test can kill or hang alone, or, with delay_ms, a slow one.
        Stopped by stop()."""
        relay = Relay(self.dir, target_port, port)
        self.relays.append(relay)
        return relay.start(delay_ms=delay_ms)

    def mount_tmpfs(self, name, size):
        """A tmpfs of `size` (mount -o size=..., e.g. "4m") on DIR/name: a small file system to
        fill. Needs root; unmounted by stop()."""
        path = os.path.join(self.dir, name)
        os.makedirs(path, mode=0o700)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                            path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        if p.returncode != 0:
            raise AssertionError(f"mount -t tmpfs on {path} failed ({p.returncode}): "
                                 f"{p.stdout.decode(errors='replace').strip()}")
        self.mounts.append(path)
        return path

    # -- the end --
    def stop(self, keep=False):
        """Stops every server this env started, by recorded PID; never raises."""
        problems = []
        for relay in self.relays:
            relay.kill()
        self.relays = []
        for path in reversed(self.mounts):
            if keep or os.environ.get("SSPR_KEEP_TMP") == "1":
                shutil.copytree(path, path + ".kept", dirs_exist_ok=True)
            p = subprocess.run(["umount", path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
            if p.returncode != 0:
                problems.append(f"umount {path} failed: {p.stdout.decode(errors='replace')}")
        self.mounts = []
        for script, name in reversed(self.started):
            # A test may have left slapd SIGSTOPped: stop_pidfiles sends SIGCONT too, but do it
            # first so that nothing waits on a stopped process.
            for pidfile in ("server.pid", "launch.pid"):
                rec = read_pidfile(os.path.join(self.dir, name, pidfile))
                if rec and alive(*rec):
                    try:
                        os.kill(rec[0], signal.SIGCONT)
                    except OSError:
                        pass
            try:
                self._ctl(script, "stop", name, timeout=60)
            except (AssertionError, subprocess.TimeoutExpired) as e:
                problems.append(str(e))
            for pidfile in ("server.pid", "launch.pid"):
                rec = read_pidfile(os.path.join(self.dir, name, pidfile))
                if rec and alive(*rec):
                    problems.append(f"{name}: pid {rec[0]} still alive after stop; SIGKILL")
                    try:
                        os.kill(rec[0], signal.SIGKILL)
                    except OSError:
                        pass
        self.started = []
        for p in problems:
            print(f"[faultenv] {p}", file=sys.stderr)
        if keep or os.environ.get("SSPR_KEEP_TMP") == "1":
            print(f"[faultenv] kept {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return problems


class Relay:
    """One tcp_relay.py process on 127.0.0.1:port; kill() is a crash of the server at that address
    (every relayed connection and the listener closed by the kernel), stop()/cont() a hang, and
    start() brings it back on the same port."""

    def __init__(self, workdir, target_port, port=None):
        self.target_port = target_port
        self.port = port or harness.free_port()
        self.log_path = os.path.join(workdir, f"relay-{self.port}.log")
        self.proc = None

    @property
    def uri(self):
        return f"ldaps://127.0.0.1:{self.port}"

    def start(self, delay_ms=0, timeout=10):
        """Listening again on its port; with delay_ms, every answer of the server comes that
        much late (tcp_relay.py DELAY_MS)."""
        assert not self.running(), "relay already running"
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write("started\n")
            log.flush()
            self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "tcp_relay.py"),
                                          str(self.port), str(self.target_port),
                                          str(delay_ms)],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path, encoding="utf-8") as f:
                if f.read().rsplit("started\n", 1)[-1].startswith("listening\n"):
                    return self
            if self.proc.poll() is not None:
                raise AssertionError(f"tcp_relay.py on {self.port} exited with "
                                     f"{self.proc.returncode}")
            time.sleep(0.02)
        self.kill()
        raise AssertionError(f"tcp_relay.py on {self.port} not listening within {timeout}s")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def accepted(self):
        """Connections accepted since the relay was first started (over every restart)."""
        try:
            with open(self.log_path, encoding="utf-8") as f:
                return sum(1 for line in f if line.startswith("accepted "))
        except FileNotFoundError:
            return 0

    def hang(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def kill(self):
        """SIGKILL by PID (also of a SIGSTOPped relay), then wait; safe when not running."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


class FaultTestCase(harness.GatewayTestCase):
    """A GatewayTestCase whose servers are private (PrivateEnv) and stopped after the class."""

    POSTGRES = False
    DIRECTORY = "openldap"

    @classmethod
    def setUpClass(cls):
        cls.penv = PrivateEnv(postgres=cls.POSTGRES)
        try:
            cls.penv.start()
            cls.GATEWAY_OPTIONS = cls.gateway_options()
            super().setUpClass()
        except BaseException:
            cls.penv.stop(keep=True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.penv.stop()

    @classmethod
    def gateway_options(cls):
        """The first gateway's options, asked once the private servers are up (so that they may
        name their ports); GATEWAY_OPTIONS by default."""
        return cls.GATEWAY_OPTIONS

    def gated_flow(self, user):
        """A reset flow of `user` with its e-mail gate passed: ready to complete."""
        start = self.start_flow(user.login)
        self.full_gate(start["flow"], harness.method_of(start, "email"), user)
        return start["flow"]


def main():
    # The servers are private: no SSPR_TESTENV_FILE needed (PrivateEnv sets it for the harness).
    harness.main(needs_testenv=False)
