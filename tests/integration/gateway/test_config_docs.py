#!/usr/bin/env python3
"""docs/config.md and config/ssprd.schema.json name the same configuration keys:
  * every key path of the schema (properties walked recursively; a list's item keys as
    `key[].sub`; a patternProperties entry as `<name>`, e.g. `throttles.<name>.limit`) is a
    `## key` heading or the first cell (`` `key` ``) of a table row of docs/config.md;
  * every heading, table row and backticked key path in docs/config.md (a path starting with a
    top-level section, e.g. `policy.rules[].gates` or `delivery.smtp.enabled: true`) is a key of
    the schema;
  * the top-level sections appear as headings in the schema's (and the example file's) order, and
    every table row has a type, a default (or "required") and a description;
  * a row's default (its first `backticked` value) is the schema's "default", and a row that
    gives a literal default names a key whose schema has one (config.hpp's in-class values).
The loader's own tests keep the schema equal to the key table the loader is built from
(tests/unit/config/key_table_test.cpp), so this keeps the page equal to what ssprd reads.
Needs no servers.

  python3 test_config_docs.py
"""
import json
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CONFIG_MD = os.path.join(ROOT, "docs", "config.md")
SCHEMA = os.path.join(ROOT, "config", "ssprd.schema.json")
PATTERN_NAME = "<name>"


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def schema_keys(node, prefix=""):
    """Every key path below `node`, in schema order."""
    keys = []
    if node.get("type") == "object":
        children = list(node.get("properties", {}).items())
        children += [(PATTERN_NAME, v) for v in node.get("patternProperties", {}).values()]
        for name, child in children:
            path = prefix + "." + name if prefix else name
            keys.append(path)
            keys += schema_keys(child, path)
    elif node.get("type") == "array" and node.get("items", {}).get("type") == "object":
        keys += schema_keys(node["items"], prefix + "[]")
    return keys


KEY_RE = r"[a-z_]+(?:\[\])?(?:\.(?:[a-z0-9_]+|<name>)(?:\[\])?)*"


class Doc:
    def __init__(self, text, sections):
        self.headings = []   # key-like headings, in order
        self.rows = {}       # key -> cells
        self.row_order = []
        self.mentions = set()  # backticked key paths anywhere
        in_code = False
        for line in text.splitlines():
            if line.startswith("```"):
                in_code = not in_code
                continue
            if in_code:
                continue
            m = re.match(r"^#{2,4}\s+`?(" + KEY_RE + r")`?\s*$", line)
            if m and m.group(1).split(".")[0].split("[")[0] in sections:
                self.headings.append(m.group(1))
            m = re.match(r"^\|\s*`(" + KEY_RE + r")`\s*\|(.*)\|\s*$", line)
            if m:
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", m.group(2))]
                if m.group(1) in self.rows:
                    raise AssertionError("row for " + m.group(1) + " appears twice")
                self.rows[m.group(1)] = cells
                self.row_order.append(m.group(1))
            for tick in re.findall(r"`([^`]+)`", line):
                t = re.match(r"^(" + KEY_RE + r")(?::.*)?$", tick)
                if t and "." in t.group(1) and t.group(1).split(".")[0] in sections:
                    self.mentions.add(t.group(1))


class ConfigDocs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.schema = json.loads(read(SCHEMA))
        cls.keys = schema_keys(cls.schema)
        cls.sections = list(cls.schema["properties"])
        cls.doc = Doc(read(CONFIG_MD), set(cls.sections))

    def test_schema_walk_finds_nested_keys(self):
        # The walk itself: lists, patterns and deep nesting must all be reached.
        for key in ("server.tls.key_file", "policy.rules[].gates",
                    "methods.questions.pool[].text", "methods.questions.argon2.memory_kib",
                    "throttles." + PATTERN_NAME + ".limit", "delivery.sms.secret_header_files"):
            self.assertIn(key, self.keys)
        self.assertGreater(len(self.keys), 150)

    def test_every_schema_key_is_documented(self):
        documented = set(self.doc.headings) | set(self.doc.rows)
        missing = [k for k in self.keys if k not in documented]
        self.assertEqual(missing, [], "keys of config/ssprd.schema.json with no heading or table "
                         "row in docs/config.md")

    def test_doc_names_no_unknown_key(self):
        known = set(self.keys)
        named = set(self.doc.headings) | set(self.doc.rows) | self.doc.mentions
        unknown = sorted(k for k in named if k not in known)
        self.assertEqual(unknown, [], "docs/config.md names keys that config/ssprd.schema.json "
                         "lacks")

    def test_sections_in_order(self):
        top = [h for h in self.doc.headings if "." not in h]
        self.assertEqual(top, self.sections, "top-level sections as ## headings, in schema order")

    def test_rows_in_schema_order(self):
        order = {k: i for i, k in enumerate(self.keys)}
        rows = [k for k in self.doc.row_order if k in order]
        self.assertEqual(rows, sorted(rows, key=order.get),
                         "table rows not in the order of the schema (and the example file)")

    def test_rows_are_complete(self):
        for key, cells in self.doc.rows.items():
            with self.subTest(key=key):
                self.assertEqual(len(cells), 4, "expected | key | type | default | allowed | "
                                 "what it does |")
                kind, default, _allowed, what = cells
                self.assertTrue(kind and default and what, "empty type, default or description")

    def schema_node(self, key):
        node = self.schema
        for part in key.split("."):
            name = part[:-2] if part.endswith("[]") else part
            if name == PATTERN_NAME:
                node = next(iter(node["patternProperties"].values()))
            else:
                node = node["properties"][name]
            if part.endswith("[]"):
                node = node["items"]
        return node

    def test_defaults_match_schema(self):
        # [] means "every enabled method" here, which the schema's minItems: 1 cannot hold.
        no_schema_default = {"policy.default_methods"}
        known = set(self.keys)
        for key, cells in self.doc.rows.items():
            if key not in known:
                continue  # reported by test_doc_names_no_unknown_key
            node = self.schema_node(key)
            m = re.match(r"^`([^`]*)`", cells[1])
            literal = m.group(1) if m and m.group(1) not in known else None
            with self.subTest(key=key):
                if "default" in node:
                    self.assertIsNotNone(literal, "the schema has a default, the page none: " +
                                         json.dumps(node["default"]))
                    want = node["default"]
                    if isinstance(want, str) and literal == want:
                        continue
                    try:
                        got = json.loads(literal)
                    except ValueError:
                        got = literal
                    self.assertEqual(got, want, "default differs from the schema")
                elif literal is not None and key not in no_schema_default:
                    self.fail("the page gives the default " + literal + " but the schema has no "
                              '"default"')

    def test_required_keys_say_required(self):
        def walk(node, prefix):
            if node.get("type") == "object":
                for name in node.get("required", []):
                    yield prefix + "." + name if prefix else name
                for name, child in node.get("properties", {}).items():
                    yield from walk(child, prefix + "." + name if prefix else name)
                for child in node.get("patternProperties", {}).values():
                    yield from walk(child, prefix + "." + PATTERN_NAME)
            elif node.get("type") == "array" and node.get("items", {}).get("type") == "object":
                yield from walk(node["items"], prefix + "[]")

        for key in walk(self.schema, ""):
            if key in self.doc.rows:
                with self.subTest(key=key):
                    self.assertEqual(self.doc.rows[key][1], "required")


if __name__ == "__main__":
    unittest.main(verbosity=2)
