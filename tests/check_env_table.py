#!/usr/bin/env python3
"""Every TRICOLOR_* variable the library reads (getenv in gc/api.cpp) has its row in the README's
configuration table and its line in include/tricolor/config.hpp, so that no knob goes undocumented."""
import re
import sys

api, readme, config = (open(p).read() for p in sys.argv[1:4])
read = sorted(set(re.findall(r'getenv\("(TRICOLOR_[A-Z_]+)"\)', api)))
if not read:
    sys.exit("check_env_table.py: found no getenv(\"TRICOLOR_...\") in gc/api.cpp: the pattern is stale")
table = set(re.findall(r'^\|[^|\n]*\| `(TRICOLOR_[A-Z_]+)` \|', readme, re.M))
missing = [v for v in read if v not in table]
undocumented = [v for v in read if not re.search(r'^//\s+' + v + r'\b', config, re.M)]
if missing or undocumented:
    if missing:
        print("README.md's configuration table lacks a row for: " + ", ".join(missing))
    if undocumented:
        print("include/tricolor/config.hpp's header comment lacks: " + ", ".join(undocumented))
    sys.exit(1)
print(f"{len(read)} variables, each in the README table and config.hpp")
