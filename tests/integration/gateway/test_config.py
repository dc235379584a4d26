#!/usr/bin/env python3
"""The configurations the harness writes pass `ssprd check-config`: every directory and store
combination the gateway tests use, so a failing gateway test is never a config typo.

  python3 test_config.py SSPRD
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class GeneratedConfigTest(unittest.TestCase):
    def check(self, directory, store, overrides=None, allowed_warnings=()):
        gw = harness.Gateway(name=f"config-{directory}-{store}", directory=directory,
                             store=store, overrides=overrides)
        try:
            rc, out, err = gw.check_config()
            self.assertEqual(rc, 0, f"check-config {gw.config_path} exited {rc}:\n{err}\n{out}")
            warnings = [line for line in err.splitlines() if ": warning: " in line]
            unexpected = [w for w in warnings if not any(a in w for a in allowed_warnings)]
            self.assertEqual(unexpected, [], f"unexpected warnings for {directory}/{store}")
            self.assertNotIn("error", err.lower(), err)
            # Key files are private, the gateway key too.
            for path in (gw.key, gw.store_key, gw.hmac_key):
                self.assertEqual(os.stat(path).st_mode & 0o077, 0, path)
        finally:
            gw.cleanup()

    def test_openldap_sqlite_is_clean(self):
        self.check("openldap", "sqlite")

    def test_ad_sqlite_is_clean(self):
        self.check("ad", "sqlite")

    def test_openldap_postgres_only_warns_about_sslmode(self):
        # The test PostgreSQL has no TLS: sslmode disable, which check-config rightly warns about.
        self.check("openldap", "postgres", allowed_warnings=("store.postgres.sslmode",))

    def test_ad_postgres_only_warns_about_sslmode(self):
        self.check("ad", "postgres", allowed_warnings=("store.postgres.sslmode",))

    def test_the_variants_other_modules_use(self):
        breached_dir = harness.tempfile.mkdtemp(prefix="ssprd-breached-")
        try:
            breached = harness.make_breached_file(breached_dir, ["Breached-Harbor-77"])
            self.check("openldap", "sqlite",
                       {"password": {"ad_complexity": True, "breached_file": breached}})
        finally:
            harness.shutil.rmtree(breached_dir, ignore_errors=True)
        self.check("ad", "sqlite", {"ui": {"organisation": "Reloaded Corp"},
                                    "server": {"max_body_bytes": 1024}})

    def test_an_unknown_key_is_refused(self):
        # The bad file the SIGHUP test uses must really be bad.
        gw = harness.Gateway(name="config-bad", directory="openldap")
        try:
            with open(gw.config_path, encoding="utf-8") as f:
                text = f.read()
            gw.write_config(raw=text.replace("server:\n", "server:\n  no_such_key: 1\n", 1))
            rc, out, err = gw.check_config()
            self.assertEqual(rc, 2, err)
            self.assertIn("no_such_key", err)
        finally:
            gw.cleanup()


if __name__ == "__main__":
    harness.main()
