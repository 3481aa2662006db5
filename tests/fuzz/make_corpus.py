#!/usr/bin/env python3
"""Writes the seed corpus of api_fuzz (tests/fuzz/corpus/): small inputs that each reach one part of
the API, so fuzzing starts from every operation rather than from random bytes.

    tests/fuzz/make_corpus.py        rewrites tests/fuzz/corpus/*

The encoding mirrors api_fuzz.cpp: two configuration bytes, then per operation an opcode byte and its
argument bytes (OPS below must match the Op enum and kArgs there)."""
import os
import random

# name: (opcode, argument count), in the order of api_fuzz.cpp's Op enum.
OPS = {
    "alloc_small": (0, 1), "alloc_var": (1, 2), "alloc_large": (2, 2), "alloc_buffer": (3, 2),
    "link": (4, 2), "unlink": (5, 2), "push_root": (6, 1), "pop_root": (7, 0), "set_root": (8, 1),
    "set_global": (9, 2), "clear_global": (10, 1), "set_weak": (11, 2), "get_weak": (12, 2),
    "collect": (13, 0), "safepoint": (14, 0), "verify": (15, 1),
}

# Configuration byte 0: 1 stop-the-world, 2 two markers, 8 an 8 MiB limit, 16 no background sweeper.
# Byte 1: bits 0-1 gc_percent (25, 50, 100, 400), bits 2-3 initial heap (256 KiB << n).
CONCURRENT, STW, TWO_MARKERS, LIMIT, NO_BG_SWEEP = 0, 1, 2, 8, 16


def encode(config, ops):
    out = bytearray(config)
    for name, *args in ops:
        code, nargs = OPS[name]
        assert len(args) == nargs, (name, args)
        out.append(code)
        out.extend(a & 0xFF for a in args)
    return bytes(out)


def chain_and_drop():
    # A rooted chain built through edges, then cut in the middle.
    ops = [("alloc_small", 0)]
    ops += [("alloc_small", 1 | (i << 3)) for i in range(40)]
    ops += [("collect",), ("unlink", 7, 0), ("unlink", 9, 1), ("collect",), ("verify", 0)]
    return encode([CONCURRENT | TWO_MARKERS, 0], ops)


def sizes():
    # Every allocation kind, big and small, linked from roots and globals.
    ops = []
    for i in range(12):
        ops += [("alloc_var", 0, i * 21), ("alloc_large", 1 | (i << 3), i * 20), ("alloc_buffer", i, i * 20)]
    ops += [("alloc_buffer", 3, 250), ("set_global", 0, 5), ("set_global", 1, 9), ("collect",)]
    ops += [("pop_root",)] * 12 + [("collect",), ("clear_global", 0), ("collect",)]
    return encode([CONCURRENT, 4], ops)


def roots():
    ops = []
    for i in range(20):
        ops += [("alloc_small", 0), ("push_root", i), ("set_root", 0xFF if i % 3 == 0 else i * 7)]
    ops += [("safepoint",), ("collect",)]
    ops += [("pop_root",)] * 25 + [("collect",)]
    return encode([STW, 1], ops)


def weak_refs():
    # Weak references to objects that die, live, and die after a full collection; reads that
    # resurrect while the collector may be marking.
    ops = [("alloc_small", 0), ("alloc_small", 0), ("alloc_small", 0)]
    ops += [("set_weak", 0, 1), ("set_weak", 1, 2), ("pop_root",), ("get_weak", 1, 1), ("collect",)]
    ops += [("get_weak", 0, 0), ("get_weak", 1, 1)]
    for i in range(30):
        ops += [("alloc_var", 0, 100), ("set_weak", i, i + 1), ("pop_root",), ("get_weak", i * 3, 1)]
    ops += [("collect",), ("get_weak", 2, 1)]
    return encode([CONCURRENT | TWO_MARKERS, 0], ops)


def weak_resurrect():
    # The fuzzer's first finding of this kind (a weak read between the last quiet flush round and the
    # weak check, then the slot overwritten): weak_refs's loop twice over, resurrecting objects while
    # the cycles that a 256 KiB heap at gc_percent 25 starts are marking.
    ops = [("alloc_small", 0), ("alloc_small", 0), ("alloc_small", 0)]
    ops += [("set_weak", 0, 1), ("set_weak", 1, 2), ("pop_root",), ("get_weak", 1, 1), ("collect",)]
    for rep in range(2):
        for i in range(rep, 30):
            ops += [("alloc_var", 0, 100), ("set_weak", i, i + 1), ("pop_root",), ("get_weak", i * 3, 1)]
    ops += [("collect",)]
    return encode([CONCURRENT | TWO_MARKERS, 0], ops)


def heap_limit():
    # Past the 8 MiB limit: allocations fail cleanly; dropping the roots makes room again.
    ops = [("alloc_large", 0, 255) for _ in range(40)]
    ops += [("alloc_buffer", 1, 255)] + [("pop_root",)] * 40 + [("collect",)]
    ops += [("alloc_large", 0, 100) for _ in range(10)]
    return encode([CONCURRENT | LIMIT, 0], ops)


def barrier_churn():
    # Many stores while automatic cycles run (gc_percent 25): links, unlinks, global swaps.
    rng = random.Random(7)
    ops = [("alloc_small", 0) for _ in range(8)]
    for _ in range(300):
        r = rng.randrange(6)
        if r == 0:
            ops.append(("alloc_var", rng.randrange(256), rng.randrange(64)))
        elif r == 1:
            ops.append(("link", rng.randrange(256), rng.randrange(256)))
        elif r == 2:
            ops.append(("unlink", rng.randrange(256), rng.randrange(4)))
        elif r == 3:
            ops.append(("set_global", rng.randrange(4), rng.randrange(256)))
        elif r == 4:
            ops.append(("set_root", rng.randrange(256)))
        else:
            ops.append(("alloc_small", rng.randrange(256)))
    ops.append(("collect",))
    return encode([CONCURRENT | TWO_MARKERS | NO_BG_SWEEP, 0], ops)


def random_bytes(seed, n):
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n))


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    seeds = {
        "chain_and_drop": chain_and_drop(),
        "sizes": sizes(),
        "roots": roots(),
        "weak_refs": weak_refs(),
        "weak_resurrect": weak_resurrect(),
        "heap_limit": heap_limit(),
        "barrier_churn": barrier_churn(),
        "random_1": random_bytes(1, 256),
        "random_2": random_bytes(2, 512),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(seeds)} inputs to {out}")


if __name__ == "__main__":
    main()
