#!/usr/bin/env python3
"""Writes the gateway configuration bench/run-flow-bench runs `ssprd serve` with.

Usage: flow_bench_config.py [--override JSON]... WORKDIR PORT SLAPD_DIR

The configuration is the one the gateway integration tests use (tests/integration/gateway/
harness.py: make_config, make_pki, make_keys), against the bench's own slapd in SLAPD_DIR
(scripts/testenv/slapd.sh), narrowed to what the bench needs: TOTP the only method, no SMTP or
SMS delivery, no notifications, SQLite and the audit trail in WORKDIR. Two files: ssprd.yaml with
server.response_floor and response_jitter at 0ms, ssprd-floored.yaml with the shipped 250ms + 50ms.
Prints the gateway CA's path (the bench verifies the gateway's certificate against it); the
certificate and key ssprd serves are tls/gateway.crt and tls/gateway.key in WORKDIR (ECDSA P-256).

--override JSON (repeatable) is deep-merged into both files after the above (harness.merge: a
null removes a key), e.g. bench/run-front-bench's '{"server": {"io_threads": 2}}'.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "gateway"))

import harness  # noqa: E402  (after the path above)


def instance_env(slapd_dir):
    """slapd.sh's instance.env as the KEY=VALUE pairs harness.make_config reads."""
    values = {}
    with open(os.path.join(slapd_dir, "instance.env"), encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep:
                values[key] = value
    return {
        "SSPR_OL_LDAPS_URI": values["OL_LDAPS_URI"],
        "SSPR_OL_BIND_DN": values["OL_BIND_DN"],
        "SSPR_OL_BIND_PASSWORD_FILE": os.path.join(slapd_dir, "sspr.pw"),
        "SSPR_OL_BASE": values["OL_BASE"],
        "SSPR_TEST_CA": values["OL_CA"],
    }


class BenchEnv(dict):
    """The SMTP and SMS keys make_config reads fill sections the overrides below remove."""

    def __missing__(self, key):
        if key.startswith(("SSPR_SMTP_", "SSPR_WEBHOOK_")):
            return "0"
        raise KeyError(f"{key}: not known to the flow bench")


def main():
    args, extra_overrides = [], []
    argv = sys.argv[1:]
    while argv:
        arg = argv.pop(0)
        if arg == "--override":
            if not argv:
                sys.exit("flow_bench_config.py: --override needs a JSON object")
            try:
                value = json.loads(argv.pop(0))
            except json.JSONDecodeError as e:
                sys.exit(f"flow_bench_config.py: --override: not JSON: {e}")
            if not isinstance(value, dict):
                sys.exit("flow_bench_config.py: --override: not a JSON object")
            extra_overrides.append(value)
        else:
            args.append(arg)
    if len(args) != 3:
        sys.exit(__doc__)
    workdir, port, slapd_dir = os.path.abspath(args[0]), int(args[1]), args[2]
    env = BenchEnv(instance_env(slapd_dir))
    ca, cert, key = harness.make_pki(os.path.join(workdir, "tls"))
    store_key, hmac_key = harness.make_keys(os.path.join(workdir, "keys"))
    overrides = {
        "delivery": None,
        "methods": {"email": None, "sms": None, "questions": None,
                    "totp": {"issuer": "ssprd flow bench"}},
        # Admins need two methods, and TOTP is the only one here: no admin groups, no rules.
        "policy": {"default_methods": ["totp"], "admin_groups": None, "rules": None},
        "notifications": {"on_reset": False, "on_change": False, "on_unlock": False,
                          "on_enrollment_change": False, "admin_recipients": None},
        "enrollment": {"required_methods": 1},
    }
    def write(path, extra):
        o = harness.merge(json.loads(json.dumps(overrides)), extra)
        cfg = harness.make_config(env, directory="openldap", port=port, tls_cert=cert,
                                  tls_key=key, store_key=store_key, hmac_key=hmac_key,
                                  workdir=workdir, audit_path=os.path.join(workdir, "audit.jsonl"),
                                  overrides=o)
        for more in extra_overrides:
            harness.merge(cfg, json.loads(json.dumps(more)))
        harness.write_private(path, "# written by bench/flow_bench_config.py\n" +
                              harness.to_yaml(cfg) + "\n")

    # ssprd starts without the timing floor (the throughput figure); the bench swaps the floored
    # file in and reloads with SIGHUP for its second run (the floor as shipped).
    write(os.path.join(workdir, "ssprd.yaml"),
          {"server": {"response_floor": "0ms", "response_jitter": "0ms"}})
    write(os.path.join(workdir, "ssprd-floored.yaml"), {})
    print(ca)


if __name__ == "__main__":
    main()
