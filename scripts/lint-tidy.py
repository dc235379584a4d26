#!/usr/bin/env python3
"""clang-tidy over the translation units of a compilation database, for scripts/lint.

Runs `jobs` clang-tidy processes at once, prints each finding once (a finding in a header shows up
in every translation unit that includes it), a count by check, and exits 1 if there was any
finding or a clang-tidy that did not finish (a crash is a failure, not a pass).

Results are cached by what decides them: the clang-tidy version, .clang-tidy, the compile command
and the unit's preprocessed text (g++ -E, so every header it includes), with the checkout and build
paths taken out, so that an unchanged unit is not checked again in another checkout either (CI's
fresh clone). Only clean exits of units that did not change meanwhile are cached.
SSPR_LINT_CACHE=0 turns the cache off.
"""

import argparse
import collections
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time

CACHE_FORMAT = "1"  # bump when what is cached or how it is keyed changes
CACHE_DAYS = 30  # entries not used for this long are removed

# Findings that are the analyzer's mistake, told by their path, each with its upstream report. Only
# what can be neither fixed nor marked NOLINT belongs here (the finding is inside a system header).
KNOWN_FALSE_POSITIVES = [
    # The analyzer runs the members' destructors in a union's destructor, so a std::optional<T>
    # (libstdc++'s _Storage union) destroys T twice: a double free or use after free that is not.
    ("clang-analyzer-cplusplus.NewDelete", re.compile(r"note: Calling '~_Storage'"),
     "llvm-project#119415"),
    # Not the analyzer's mistake but a third-party header's choice: kainjow::mustache's context
    # constructor calls its own push(), which is what it means (nothing derives from context). The
    # analyzer reaches it on some paths through gateway/pages.cpp's renders only.
    ("clang-analyzer-optin.cplusplus.VirtualCall",
     re.compile(r"kainjow/mustache\.hpp:\d+:\d+: warning: Call to virtual method 'context::push' "
                r"during construction"),
     "kainjow::mustache context(const basic_data*) calls push()"),
]

# A finding is its place and its check: the analyzer words one finding differently per call path.
HEAD = re.compile(r"^((?:[^ :][^:]*:\d+:\d+: )?)(?:warning|error): (.*?)(?: \[([\w.,-]+)\])?$")


def compile_args(entry):
    args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
    return [str(a) for a in args]


def preprocess_args(args):
    """The compile command with -E instead of -c and no output file."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
        elif a in ("-c", "-MD", "-MMD"):
            if a == "-c":
                out.append("-E")
        else:
            out.append(a)
    return out


class Cache:
    def __init__(self, directory, salt, root, build):
        self.directory, self.salt = directory, salt
        # Longest first: the build folder is often inside the checkout.
        self.paths = sorted([(build, b"@BUILD@"), (root, b"@ROOT@")], key=lambda p: -len(p[0]))
        os.makedirs(directory, exist_ok=True)

    def normalise(self, data):
        for path, token in self.paths:
            data = data.replace(path.encode(), token)
        return data

    def restore(self, data):
        for path, token in self.paths:
            data = data.replace(token, path.encode())
        return data

    def key(self, entry, args):
        """None when the unit does not preprocess; then it is checked and not cached."""
        h = hashlib.sha256(self.salt)
        h.update(self.normalise("\0".join(args).encode()))
        try:
            pp = subprocess.run(preprocess_args(args), cwd=entry["directory"], capture_output=True,
                                check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
        h.update(b"\0")
        h.update(self.normalise(pp))
        return h.hexdigest()

    def get(self, key):
        path = os.path.join(self.directory, key)
        try:
            with open(path, "rb") as f:
                data = f.read()
            os.utime(path)
        except OSError:
            return None
        return self.restore(data).decode(errors="replace")

    def put(self, key, output):
        path = os.path.join(self.directory, key)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(self.normalise(output.encode()))
        os.replace(tmp, path)

    def prune(self):
        old = time.time() - CACHE_DAYS * 86400
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            try:
                if os.path.getmtime(path) < old:
                    os.remove(path)
            except OSError:
                pass


def check(unit, entry, clang_tidy, build, cache):
    """(output, failure or None, from_cache) for one translation unit."""
    args = compile_args(entry)
    key = cache.key(entry, args) if cache else None
    if key:
        cached = cache.get(key)
        if cached is not None:
            return cached, None, True
    p = subprocess.run([clang_tidy, "-p", build, "--quiet", "--extra-arg=-Wno-unknown-warning-option",
                        unit], capture_output=True, text=True, errors="replace")
    if p.returncode != 0:
        # A crash prints its stack to stderr; its last lines say where.
        tail = "\n".join(p.stderr.strip().splitlines()[-5:])
        return p.stdout, f"{unit}: clang-tidy exited {p.returncode}\n{tail}", False
    # Not cached if the unit or a header changed while it was checked (an edit, a git checkout).
    if key and cache.key(entry, args) == key:
        cache.put(key, p.stdout)
    return p.stdout, None, False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clang-tidy", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cache", default="", help="cache folder; empty: no cache")
    ap.add_argument("--skip", action="append", default=[],
                    help="leave out the units under this folder of the tree (repeatable)")
    ap.add_argument("units", nargs="*", help="only these files (default: all in the tree)")
    opt = ap.parse_args()
    root = os.path.realpath(opt.root)
    build = os.path.realpath(opt.build)

    with open(os.path.join(build, "compile_commands.json")) as f:
        db = json.load(f)
    entries = {}
    for e in db:
        path = os.path.realpath(os.path.join(e["directory"], e["file"]))
        entries.setdefault(path, e)  # a file built twice is checked once, as clang-tidy -p does
    wanted = {os.path.realpath(u) for u in opt.units}
    skipped = tuple(os.path.join(root, s.strip("/")) + "/" for s in opt.skip)
    units = sorted(u for u in entries if u.startswith(root + "/") and (not wanted or u in wanted)
                   and not (skipped and u.startswith(skipped)))
    missing = wanted - set(units)
    if missing or not units:
        for m in sorted(missing):
            print(f"lint: ERROR: {m} is not in {build}/compile_commands.json", file=sys.stderr)
        if not units:
            print(f"lint: ERROR: no translation unit to check in {build}", file=sys.stderr)
        return 2

    cache = None
    if opt.cache:
        version = subprocess.run([opt.clang_tidy, "--version"], capture_output=True).stdout
        with open(os.path.join(root, ".clang-tidy"), "rb") as f:
            config = f.read()
        salt = b"\0".join([CACHE_FORMAT.encode(), version, config, str(root.startswith("/usr/")).encode()])
        try:
            cache = Cache(opt.cache, salt, root, build)
        except OSError as e:
            print(f"lint: no cache ({e})", file=sys.stderr)

    print(f"lint: clang-tidy on {len(units)} translation units, {opt.jobs} at a time", file=sys.stderr)
    start = time.monotonic()
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=opt.jobs) as pool:
        futures = {pool.submit(check, u, entries[u], opt.clang_tidy, build, cache): u for u in units}
        for future in concurrent.futures.as_completed(futures):
            results[futures[future]] = future.result()
    seconds = time.monotonic() - start
    if cache:
        cache.prune()

    blocks, order, failures = {}, [], []
    prefix = root + "/"
    for unit in units:
        output, failure, _ = results[unit]
        if failure:
            failures.append(failure.replace(prefix, ""))
        current = None
        for line in output.splitlines(keepends=True):
            m = HEAD.match(line.rstrip("\n"))
            if m:
                name = m.group(3) or "clang-diagnostic-error"
                current = (m.group(1) or m.group(2), name)
                if current in blocks:
                    current = None  # seen from another translation unit
                else:
                    blocks[current] = [line.replace(prefix, "")]
                    order.append(current)
            elif current is not None:
                blocks[current].append(line.replace(prefix, ""))
    ignored = collections.Counter()
    for key in list(order):
        text = "".join(blocks[key])
        for name, pattern, report in KNOWN_FALSE_POSITIVES:
            if key[1] == name and pattern.search(text):
                order.remove(key)
                ignored[report] += 1
                break
    for key in order:
        sys.stdout.write("".join(blocks[key]))
    for f in failures:
        print(f)

    for report, n in ignored.items():
        print(f"lint: left out {n} known false positives ({report})", file=sys.stderr)
    cached = sum(1 for r in results.values() if r[2])
    cpu = os.times()
    print(f"lint: clang-tidy took {seconds:.0f} s ({cpu.children_user + cpu.children_system:.0f} "
          f"CPU-s; {cached} of {len(units)} units from the cache)", file=sys.stderr)
    if order or failures:
        by_check = collections.Counter(name for _, name in order)
        summary = ", ".join(f"{n} {c}" for c, n in by_check.most_common()) or "none"
        print(f"lint: clang-tidy: {len(order)} findings ({summary}); {len(failures)} translation "
              "units did not finish", file=sys.stderr)
        return 1
    print(f"lint: clang-tidy: {len(units)} translation units clean", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
