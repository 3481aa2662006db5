#!/usr/bin/env python3
"""Writes the seed corpus of c_api_fuzz (tests/fuzz/c_api_corpus/): small inputs that each reach one
part of what it tests, so fuzzing starts from every operation rather than from random bytes.

    tests/fuzz/make_c_api_corpus.py        rewrites tests/fuzz/c_api_corpus/*

The encoding mirrors c_api_fuzz.cpp: a configuration byte, then per operation an opcode byte and the
bytes its arguments read (OPS, EDGE and the describe() layout below must match the harness). A few
reads depend on what the heap returned (a trailing object's count, a link's field); the seeds do not
need to line up exactly for those, only to start the fuzzer near each path."""
import os
import random

OPS = {"describe": 0, "new": 1, "alloc": 2, "trailing": 3, "buffer": 4, "link": 5, "weak": 6, "pop": 7,
       "collect": 8, "safepoint": 9}

# Reader::edge selectors.
EDGE = {"small": 0, "aligned": 1, "at": 2, "past": 3, "below": 4, "size_max": 5, "size_max_aligned": 6,
        "pow2": 7, "pow2_plus": 8, "reserve": 9, "pages": 10, "u64": 11, "small_max": 12, "medium": 13}

# Configuration byte: 1 stop-the-world, 2 two markers, 4 background sweeper.
CONCURRENT, STW, TWO_MARKERS, BG_SWEEP = 0, 1, 2, 4

# describe() flags.
NULL_POINTERS, NULL_WEAKS, TRAILING, DESTROY, TRACE, EDGE_SIZE = 0x01, 0x02, 0x04, 0x08, 0x10, 0x80


def edge(kind, k=0, value=0):
    out = [k & 0xFF, EDGE[kind]]
    if kind == "u64":
        out += list(value.to_bytes(8, "little"))
    return out


def describe(size_words=0, pointers=(), weaks=(), flags=0, count=None, size_edge=None):
    """pointers/weaks: ints (word indexes) or ("edge", kind, k) tuples; count: a word index or an edge."""
    out = [OPS["describe"], flags | (EDGE_SIZE if size_edge else 0)]
    out += [size_words] + (edge(*size_edge) if size_edge else [])
    out += [len(pointers), len(weaks)]
    for field in list(pointers) + list(weaks):
        if isinstance(field, tuple):
            out += [1] + edge(*field[1:])
        else:
            out += [0, field]
    if count is None or isinstance(count, int):
        out += [0]  # the count at offset 0 (or unused)
    else:
        out += [1] + edge(*count[1:])
    return out


def pick(i):
    return [i >> 8 & 0xFF, i & 0xFF]


def good_types():
    # A pair (two pointers), a weak box (a pointer and a weak field), a vector (count + slots), with
    # and without destroy callbacks.
    return (describe(2, [0, 1], flags=DESTROY) + describe(2, [0], [1]) +
            describe(1, flags=TRAILING | DESTROY) + describe(3, [1], flags=TRAILING | TRACE))


def graph():
    ops = good_types()
    for i in range(12):
        ops += [OPS["new"]] + pick(i % 2)
        ops += [OPS["trailing"]] + pick(i % 2) + [1, 6]
    for i in range(24):
        ops += [OPS["link"], i % 24, (i * 7) % 24, i % 3, 1]
        ops += [OPS["weak"], (i * 5) % 24, (i * 3) % 24, 0]
    ops += [OPS["collect"]] + [OPS["pop"]] * 10 + [OPS["collect"]] + [OPS["safepoint"]]
    ops += [OPS["pop"]] * 10 + [OPS["collect"]]
    return bytes([CONCURRENT | TWO_MARKERS]) + bytes(ops)


def bad_descriptors():
    ops = []
    for kind in ("size_max", "size_max_aligned", "past", "at", "pow2", "u64", "small"):
        ops += describe(2, [("edge", kind, 3)])
        ops += describe(2, [0], [("edge", kind, 5)])
        ops += describe(2, [1], flags=TRAILING, count=("edge", kind, 7))
    ops += describe(2, [0], [0])                         # strong and weak at once
    ops += describe(2, [0], flags=TRAILING, count=0)     # the count is a pointer field
    ops += describe(2, [0], flags=NULL_POINTERS)         # a count without its table
    ops += describe(0, flags=TRAILING, size_edge=("small", 5))  # unaligned trailing size
    return bytes([STW]) + bytes(ops)


def huge_sizes():
    ops = good_types() + describe(0, size_edge=("size_max_aligned", 0))
    for kind in ("size_max", "size_max_aligned", "pow2", "pow2_plus", "reserve", "u64", "small_max", "pages"):
        for k in (0, 1, 8, 23):
            ops += [OPS["alloc"]] + pick(k) + edge(kind, k, 2**64 - 1 - k)
            ops += [OPS["buffer"]] + edge(kind, k, 2**63 + k) + [0x5A]
            ops += [OPS["trailing"]] + pick(k) + [0] + edge(kind, k, 2**61 + k)
        ops += [OPS["new"]] + pick(4) + [OPS["collect"]]
    return bytes([CONCURRENT | BG_SWEEP]) + bytes(ops)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "c_api_corpus")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(20240611)
    seeds = {"graph": graph(), "bad_descriptors": bad_descriptors(), "huge_sizes": huge_sizes(),
             "random_1": bytes(rng.randrange(256) for _ in range(512)),
             "random_2": bytes([0]) + bytes(good_types()) + bytes(rng.randrange(256) for _ in range(512))}
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
