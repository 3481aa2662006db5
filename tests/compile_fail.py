#!/usr/bin/env python3
"""Compile-time rules: compiles a snippet once per case and checks that case 0 compiles and every
other case fails with the expected message.

    compile_fail.py SNIPPET CASES MESSAGE COMPILER [COMPILER ARGS...]

CASES is the number of cases (0 .. CASES-1); the snippet selects its case with the macro CASE."""
import subprocess
import sys

snippet, cases, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
compiler = sys.argv[4:]
failed = False
for case in range(cases):
    cmd = compiler + ["-fsyntax-only", "-DCASE=%d" % case, snippet]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if case == 0:
        ok = r.returncode == 0
        what = "the control case compiles"
    else:
        ok = r.returncode != 0 and message in r.stderr
        what = "case %d fails with: %s" % (case, message)
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failed = True
        print(" ".join(cmd))
        print(r.stderr[-4000:])
sys.exit(1 if failed else 0)
