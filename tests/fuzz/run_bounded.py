#!/usr/bin/env python3
"""The fuzzer's CI run: bounded in runs and in time, starting from the seed corpus.

    run_bounded.py FUZZER SEED_DIR ARTIFACT_DIR [libFuzzer flags...]

libFuzzer writes new inputs into its first corpus directory, so that is a scratch directory here and
the seed corpus (second) is only read. A crashing input is written to ARTIFACT_DIR/crash-<sha1>;
reproduce it with `FUZZER that-file`.

libFuzzer's own exit status for a crash is 77, which meson counts as a skipped test; a crash, a
timeout or a leak must fail the suite, so every error exits 1 here."""
import os
import subprocess
import sys
import tempfile

fuzzer, seeds, artifacts = sys.argv[1:4]
extra = sys.argv[4:]
with tempfile.TemporaryDirectory(prefix="tricolor-fuzz-") as scratch:
    cmd = [fuzzer,
           "-seed=1",
           "-runs=4000",
           "-max_total_time=20",
           "-max_len=1024",
           "-timeout=60",
           "-print_final_stats=1",
           "-error_exitcode=1",
           "-timeout_exitcode=1",
           "-artifact_prefix=" + os.path.join(artifacts, ""),
           *extra,
           scratch, seeds]
    print(" ".join(cmd), flush=True)
    rc = subprocess.call(cmd)
    # 77 is meson's "skipped"; whatever the fuzzer's flags, no failure may read as a skip.
    sys.exit(1 if rc == 77 else rc)
