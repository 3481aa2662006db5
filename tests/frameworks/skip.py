#!/usr/bin/env python3
"""Stands in for a framework test whose framework is not installed: says why, and exits 77 (meson: skipped)."""
import sys
print(sys.argv[1])
sys.exit(77)
