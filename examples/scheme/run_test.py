#!/usr/bin/env python3
"""Runs one Scheme program and compares its output (stdout and stderr together, in order) with the
expected output.

    run_test.py [--backend NAME] [--stress] INTERP SCRIPT EXPECTED [SCRIPT-ARGS...]

Directives in the script's leading comment lines:
    ;; test-options: OPTS     interpreter options for this program (e.g. --max-peak=16m)
    ;; test-backends: NAMES   run only on these back ends; elsewhere the test is skipped (status 77)

The expected exit status is 1 when the expected output has an "error:" line, else 0; anything else
(a crash, a --max-peak or --check-teardown failure) fails the test.
"""
import argparse
import difflib
import shlex
import subprocess
import sys

SKIP = 77


def directives(script):
    found = {}
    with open(script, encoding="utf-8") as f:
        for line in f:
            if not line.startswith(";;"):
                break
            key, sep, value = line[2:].partition(":")
            if sep:
                found[key.strip()] = value.strip()
    return found


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--backend", default="tricolor")
    p.add_argument("--stress", action="store_true")
    p.add_argument("interp")
    p.add_argument("script")
    p.add_argument("expected")
    p.add_argument("script_args", nargs="*")
    a = p.parse_args()

    d = directives(a.script)
    if "test-backends" in d and a.backend not in d["test-backends"].split():
        print(f"skipped: {a.script} runs only on {d['test-backends']}")
        return SKIP

    cmd = [a.interp]
    if a.stress:
        cmd.append("--stress")
    if a.backend == "tricolor":
        cmd.append("--check-teardown")
    cmd += shlex.split(d.get("test-options", ""))
    cmd += [a.script] + a.script_args
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    actual = proc.stdout.decode("utf-8", errors="replace")
    with open(a.expected, encoding="utf-8") as f:
        expected = f.read()

    ok = True
    if actual != expected:
        ok = False
        print("output differs from " + a.expected + ":")
        sys.stdout.writelines(difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True), "expected", "actual"))
    want = 1 if any(line.startswith("error:") for line in expected.splitlines()) else 0
    if proc.returncode != want:
        ok = False
        print(f"exit status {proc.returncode}, expected {want}")
    if not ok:
        print("command: " + " ".join(shlex.quote(c) for c in cmd))
        print("--- full output ---")
        print(actual)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
