#!/usr/bin/python3
"""Validates config/ssprd.example.yaml against config/ssprd.schema.json the way an editor does
(PyYAML reads YAML 1.1, jsonschema checks draft 2020-12), and checks that the schema refuses a few
mistakes the loader refuses too. Usage: validate_schema.py SCHEMA EXAMPLE"""

import copy
import json
import sys

import jsonschema
import yaml


def errors_of(validator, document):
    return sorted(validator.iter_errors(document), key=lambda e: list(e.path))


def main():
    schema_path, example_path = sys.argv[1], sys.argv[2]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    with open(example_path, encoding="utf-8") as f:
        example = yaml.safe_load(f)
    failures = 0
    for error in errors_of(validator, example):
        print(f"{example_path}: {'.'.join(str(p) for p in error.path)}: {error.message}")
        failures += 1
    if failures:
        print(f"FAIL: the example does not match the schema ({failures} errors)")
        return 1

    # Each mistake must be refused by the schema, as it is by the loader.
    def mutated(change):
        doc = copy.deepcopy(example)
        change(doc)
        return doc

    mistakes = {
        "unknown top-level key": lambda d: d.__setitem__("servre", {}),
        "unknown nested key": lambda d: d["directory"].__setitem__("pool_sise", 4),
        "inline secret": lambda d: d["directory"].__setitem__("bind_password", "x"),
        "missing required key": lambda d: d["directory"].pop("bind_dn"),
        "missing required section": lambda d: d.pop("policy"),
        "string where an integer belongs": lambda d: d["directory"].__setitem__("pool_size", "4"),
        "integer out of range": lambda d: d["directory"].__setitem__("pool_size", 0),
        "unknown enum value": lambda d: d["directory"].__setitem__("dialect", "activedirectory"),
        "duration without unit": lambda d: d["server"].__setitem__("request_timeout", 30),
        "duration with a bad unit": lambda d: d["server"].__setitem__("request_timeout", "30x"),
        "text where a boolean belongs": lambda d: d["directory"].__setitem__("tls_verify", "true"),
        "duplicate list entry": lambda d: d["policy"].__setitem__("default_methods",
                                                                  ["email", "email"]),
        "unknown throttle bucket": lambda d: d["throttles"].__setitem__("logins", {"limit": 1}),
        "language without translation": lambda d: d["ui"].__setitem__("languages", ["en", "fr"]),
        "empty required text": lambda d: d["ui"].__setitem__("organisation", ""),
    }
    for name, change in mistakes.items():
        if not errors_of(validator, mutated(change)):
            print(f"FAIL: the schema accepts a mistake: {name}")
            failures += 1
    if failures:
        return 1
    print(f"OK: {example_path} matches {schema_path}; {len(mistakes)} mistakes refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
