#!/usr/bin/env python3
"""docs/api.md and docs/openapi.yaml describe the same API:
  * the same endpoints (method + path): the `### \`METHOD /path\`` headings of api.md against the
    paths and operations of openapi.yaml;
  * the same problem codes, which are exactly the codes of flows/problem.hpp plus the gateway's
    own, each with the HTTP status problem.hpp gives it;
  * openapi.yaml is OpenAPI 3.1 and every operation has responses (and, with python3-yaml
    installed, every $ref resolves).
Needs no servers. PyYAML is used when importable (Debian: python3-yaml); otherwise a structural
parse of the file's two-space block layout does the endpoint and code checks.

  python3 test_docs.py
"""
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
API_MD = os.path.join(ROOT, "docs", "api.md")
OPENAPI = os.path.join(ROOT, "docs", "openapi.yaml")
PROBLEM_HPP = os.path.join(ROOT, "flows", "problem.hpp")
METHODS = ("get", "post", "put", "delete", "patch", "options", "head")

try:
    import yaml
except ImportError:
    yaml = None


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def md_endpoints(text):
    return {(m.group(1), m.group(2))
            for m in re.finditer(r"^###\s+`(GET|POST|PUT|DELETE|PATCH)\s+(/[^`\s]*)`", text,
                                 re.M)}


def md_codes(text):
    """status -> codes from the rows of the problem table (| 400 | `code` | …)."""
    codes = {}
    for m in re.finditer(r"^\|\s*(\d{3})\s*\|([^|]*)\|", text, re.M):
        for code in re.findall(r"`([a-z_]+)`", m.group(2)):
            codes[code] = int(m.group(1))
    return codes


def openapi_structural(text):
    """(endpoints, problem code enum) from the block layout, without a YAML library."""
    endpoints = set()
    in_paths = False
    path = None
    for line in text.splitlines():
        if re.match(r"^\S", line):
            in_paths = line.startswith("paths:")
            path = None
            continue
        if not in_paths:
            continue
        m = re.match(r"^  (/\S*):\s*$", line)
        if m:
            path = m.group(1)
            continue
        m = re.match(r"^    ([a-z]+):", line)
        if m and path and m.group(1) in METHODS:
            endpoints.add((m.group(1).upper(), path))
    codes = []
    schemas = text[text.find("\n  schemas:\n"):]
    block = re.search(r"^    Problem:\n(.*?)(?=^    \S|\Z)", schemas, re.M | re.S)
    if block:
        enum = re.search(r"^        code:\n.*?^          enum:\n((?:^            - \S+\n?)+)",
                         block.group(1), re.M | re.S)
        if enum:
            codes = re.findall(r"- (\S+)", enum.group(1))
    return endpoints, codes


def header_codes(text):
    """code -> status from the comment of flows/problem.hpp, and the enum's names."""
    names = re.search(r"enum class problem \{(.*?)\};", text, re.S).group(1)
    names = [n for n in re.findall(r"^\s*([a-z_]+),", names, re.M) if n != "invalid"]
    comment = re.search(r"// HTTP statuses \(http_status\):(.*?)(?=\n\s*\n|\n[^/])", text,
                        re.S).group(1)
    comment = re.sub(r"\s*//\s*", " ", comment)
    statuses = {}
    for name, status in re.findall(r"([a-z_]+\*?) (\d{3})", comment):
        statuses[name] = int(status)
    for name in names:
        if name.startswith("password_") and name not in statuses:
            statuses[name] = statuses["password_*"]
    statuses.pop("password_*", None)
    return names, statuses


class DocsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.md = read(API_MD)
        cls.spec_text = read(OPENAPI)
        cls.endpoints_md = md_endpoints(cls.md)
        cls.endpoints_api, cls.codes_api = openapi_structural(cls.spec_text)
        if yaml is not None:
            cls.spec = yaml.safe_load(cls.spec_text)
        else:
            cls.spec = None
            print("python3-yaml is not importable: structural checks only", file=sys.stderr)

    def test_the_same_endpoints(self):
        self.assertGreaterEqual(len(self.endpoints_md), 20, sorted(self.endpoints_md))
        self.assertEqual(sorted(self.endpoints_md - self.endpoints_api), [],
                         "in docs/api.md but not in docs/openapi.yaml")
        self.assertEqual(sorted(self.endpoints_api - self.endpoints_md), [],
                         "in docs/openapi.yaml but not in docs/api.md")
        if self.spec is not None:
            parsed = {(m.upper(), p) for p, ops in self.spec["paths"].items() for m in ops
                      if m in METHODS}
            self.assertEqual(parsed, self.endpoints_api, "structural parse and YAML disagree")

    def test_the_contract_endpoints_are_there(self):
        for kind in ("reset", "unlock"):
            for step in ("start", "challenge", "verify", "complete"):
                self.assertIn(("POST", f"/api/v1/{kind}/{step}"), self.endpoints_api)
        for ep in (("POST", "/api/v1/password/change"), ("POST", "/api/v1/enroll/session"),
                   ("GET", "/api/v1/enroll/methods"),
                   ("DELETE", "/api/v1/enroll/methods/{id}"),
                   ("POST", "/api/v1/enroll/email"), ("POST", "/api/v1/enroll/email/verify"),
                   ("POST", "/api/v1/enroll/sms"), ("POST", "/api/v1/enroll/sms/verify"),
                   ("POST", "/api/v1/enroll/totp"), ("POST", "/api/v1/enroll/totp/verify"),
                   ("GET", "/api/v1/enroll/questions"), ("PUT", "/api/v1/enroll/questions"),
                   ("GET", "/healthz"), ("GET", "/readyz")):
            self.assertIn(ep, self.endpoints_api)

    def test_the_same_problem_codes_as_the_code(self):
        names, statuses = header_codes(read(PROBLEM_HPP))
        documented = md_codes(self.md)
        expected = set(names) | set(statuses)
        self.assertEqual(sorted(expected - set(documented)), [],
                         "codes of flows/problem.hpp missing from the table in docs/api.md")
        self.assertEqual(sorted(set(documented) - expected), [],
                         "codes in docs/api.md that flows/problem.hpp does not know")
        for code, status in statuses.items():
            self.assertEqual(documented[code], status, f"status of {code}")
        self.assertEqual(sorted(set(self.codes_api)), sorted(documented),
                         "the Problem.code enum of openapi.yaml differs from docs/api.md")

    def test_openapi_shape(self):
        self.assertRegex(self.spec_text, r"(?m)^openapi: 3\.1\.\d+$")
        if self.spec is None:
            self.skipTest("python3-yaml is not installed: $ref and response checks need it "
                          "(apt-get install python3-yaml)")
        spec = self.spec
        self.assertTrue(str(spec["openapi"]).startswith("3.1"))
        for path, ops in spec["paths"].items():
            for method, op in ops.items():
                if method not in METHODS:
                    continue
                self.assertIn("responses", op, f"{method} {path}")
                self.assertTrue(op["responses"], f"{method} {path}")
                self.assertIn("operationId", op, f"{method} {path}")
                for status, resp in op["responses"].items():
                    self.assertRegex(str(status), r"^[1-5]\d\d$", f"{method} {path}")

        def resolve(ref):
            node = spec
            for part in ref.lstrip("#/").split("/"):
                node = node[part]
            return node

        def walk(node, where):
            if isinstance(node, dict):
                if "$ref" in node:
                    try:
                        resolve(node["$ref"])
                    except (KeyError, TypeError):
                        self.fail(f"unresolved $ref {node['$ref']} at {where}")
                for k, v in node.items():
                    walk(v, f"{where}/{k}")
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, f"{where}[{i}]")

        walk(spec, "#")
        operation_ids = [op["operationId"] for ops in spec["paths"].values()
                         for m, op in ops.items() if m in METHODS]
        self.assertEqual(len(operation_ids), len(set(operation_ids)), "duplicate operationId")


if __name__ == "__main__":
    unittest.main(verbosity=2)
