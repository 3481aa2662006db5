#!/usr/bin/env python3
"""check_doc_example.py DOC EXAMPLE: DOC must contain EXAMPLE verbatim (EXAMPLE is compiled and run by
the test suite, so the document's code cannot rot)."""
import sys
doc, example = sys.argv[1], sys.argv[2]
if open(example).read().strip() not in open(doc).read():
    sys.exit(f"{doc}'s example differs from {example}: copy the file into {doc}")
