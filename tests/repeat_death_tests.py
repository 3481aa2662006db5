#!/usr/bin/env python3
"""Runs each death-test binary N times in a row, so that a death test that hangs or flakes once in a
while cannot hide (issue 10). Stops at the first failing run and prints its output.

Each REQUIRE_DEATH kills a child that hangs after its own timeout (tests/death.hpp), and every run here
has a limit too, so this ends even if that machinery breaks. Usage: repeat_death_tests.py N BINARY...
"""
import subprocess
import sys
import time

RUN_LIMIT_S = 600


def main():
    repeat = int(sys.argv[1])
    binaries = sys.argv[2:]
    start = time.monotonic()
    for binary in binaries:
        t0 = time.monotonic()
        for i in range(1, repeat + 1):
            try:
                proc = subprocess.run([binary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      errors="replace", timeout=RUN_LIMIT_S)
            except subprocess.TimeoutExpired as e:
                out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
                sys.exit(f"FAIL: {binary}, run {i} of {repeat}, hung: still running after {RUN_LIMIT_S} s\n{out[-20000:]}")
            if proc.returncode != 0:
                sys.exit(f"FAIL: {binary}, run {i} of {repeat}, exited with {proc.returncode}\n{proc.stdout[-20000:]}")
        print(f"ok   {binary}: {repeat} runs green in {time.monotonic() - t0:.1f} s", flush=True)
    print(f"all {len(binaries)} death-test binaries green {repeat} times each in {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main()
