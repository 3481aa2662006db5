#!/usr/bin/env python3
"""Writes the seed corpus of sizes_fuzz (tests/fuzz/corpus_sizes/): inputs that reach every entry point
with a size from every boundary family, so fuzzing starts at the boundaries.

    tests/fuzz/make_sizes_corpus.py        rewrites tests/fuzz/corpus_sizes/*

The encoding mirrors sizes_fuzz.cpp: one configuration byte (1: 64 MiB hard limit, 2: stop-the-world,
4: verifier), then per operation an opcode byte (mod 10) and 8 argument bytes; argument byte 0 picks
the size family (mod 8), byte 1 a power or page count, bytes 2-3 a signed 16-bit delta."""
import os
import random

LIMIT, STW, VERIFY = 1, 2, 4
ENTRY_POINTS = range(7)  # try_make_buffer .. make<T>/try_make<T>
DROP, COLLECT, CHECK = 7, 8, 9


def op(code, family=0, k=0, delta=0, b4=0, b5=0):
    d = delta & 0xFFFF
    return bytes([code, family, k, d >> 8, d & 0xFF, b4, b5, 0, 0])


def every_family(config):
    out = bytearray([config])
    for code in ENTRY_POINTS:
        for family in range(8):
            for delta in (-9, -1, 0, 1, 8):
                out += op(code, family, 40 + family, delta, family % 4, delta & 1)
        out += op(COLLECT)
    out += op(DROP, b4=0, b5=3) + op(CHECK)
    return bytes(out)


def powers_then_small(config):
    # Refused huge requests, each followed by a 64 KiB buffer (the overlap case).
    out = bytearray([config])
    for k in range(40, 64):
        out += op(1, 3, k, 0) + op(0, 6, 7, 0) + op(2, 2, 0, 4)
    return bytes(out + op(COLLECT) + op(CHECK))


def random_ops(seed, n):
    rng = random.Random(seed)
    out = bytearray([rng.randrange(8)])
    for _ in range(n):
        out += bytes([rng.randrange(10)] + [rng.randrange(256) for _ in range(8)])
    return bytes(out)


CORPUS = {
    "every_family": every_family(0),
    "every_family_limit_stw": every_family(LIMIT | STW | VERIFY),
    "powers_then_small": powers_then_small(0),
    "random_1": random_ops(1, 60),
    "random_2": random_ops(2, 60),
}

if __name__ == "__main__":
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus_sizes")
    os.makedirs(here, exist_ok=True)
    for name, data in CORPUS.items():
        with open(os.path.join(here, name), "wb") as f:
            f.write(data)
