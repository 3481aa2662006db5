#!/usr/bin/env python3
"""The README's embedding example must be tests/readme_example.cpp verbatim (that file is compiled and
run by the test suite, so the README cannot rot)."""
import sys
readme, example = open(sys.argv[1]).read(), open(sys.argv[2]).read()
if example.strip() not in readme:
    sys.exit("README.md's example differs from tests/readme_example.cpp: copy the file into the README")
