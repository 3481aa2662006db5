#!/usr/bin/env python3
"""Runs tricolor's benchmark suite side by side with Boehm (and Go where it is installed), then
prints a table and writes build/bench-report.json and build/bench-report.html.

Every workload runs once per collector, each in its own process (bench/{tricolor,boehm}/main.cpp
write one JSON record each), and once more with the collector idle (tricolor-bench --idle: collection
off, no heap limit; Go: GOGC=off), the baseline that shows the machine's own scheduling noise. All
derived figures -- percentiles, MMU, lateness above the baseline, histograms -- are computed by one
piece of code for every collector (tools/bench_stats.py), from the raw pause intervals, latency-probe
samples and CPU-probe counts.

Two further measurements have sections of their own (one process per configuration):
  mark-scaling  marking throughput of full collections on one large live tree, per marker count;
  rss-return    resident memory after the live heap drops from hundreds of MB to 10 MB.

Usage (tools/bench calls this after building):
  tools/report.py --build-dir build-release [--full] [--only quad-tree,gcbench] [--threads 2]
  tools/report.py --build-dir build-release --only mark-scaling --markers 1,2,4,8,16
  tools/report.py --render build/bench-report.json      (re-render table and HTML from a report)

python3 standard library only.
"""

import argparse
import datetime
import html
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time

import bench_stats as bs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Which recorded pause kinds stop every mutator at once ("stop-the-world"); the rest are one
# thread's time spent working for the collector (tricolor's per-thread handshakes and assists).
GLOBAL_KINDS = {"stw", "mark_start", "mark_termination", "full_stop", "sweep_termination"}

# MMU windows: the table shows 1, 10 and 100 ms (CPU probe) and 1 and 10 ms (pauses), the curves
# cover 1 ms .. 1 s.
MMU_WINDOWS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]

# "idle" is tricolor-bench --idle (collection off, no limit): the baseline of tricolor and Boehm, whose
# probes are the same C++ code (bench/common), so a CPU-probe count means the same work in all three.
# Go's probe is Go code, so Go gets its own baseline, "go-idle" (GOGC=off).
COLLECTORS = ["idle", "tricolor", "boehm", "go-idle", "go"]
BASELINE = {"idle": "idle", "tricolor": "idle", "boehm": "idle", "go-idle": "go-idle", "go": "go-idle"}
IDLE = {"idle", "go-idle"}
COLORS = {"idle": "#888888", "tricolor": "#1b9e77", "boehm": "#d95f02", "go-idle": "#bcbddc", "go": "#7570b3"}


# ---------------------------------------------------------------------------------------------
# The suite


def suite(full, threads, rounds):
    """The workloads and their parameters. Quick sizes keep the default run to a few minutes on a
    2-core machine; --full selects the standard sizes of issue 4."""
    bt_depth = 21 if full else 19
    qt_depth = 11 if full else 10
    return [
        {"name": "gcbench", "args": ["--workload", "gcbench"]},
        {"name": "gcbench-mt", "args": ["--workload", "gcbench-mt", "--threads", str(threads)]},
        {"name": "binary-trees", "args": ["--workload", "binary-trees", "--depth", str(bt_depth),
                                          "--threads", str(threads)]},
        {"name": "quad-tree", "args": ["--workload", "quad-tree", "--depth", str(qt_depth),
                                       "--threads", str(threads), "--rounds", str(rounds)]},
    ]


# The measurements with sections of their own (run_mark_scaling, run_rss_return), and every name
# --only accepts.
EXTRA_SECTIONS = ["mark-scaling", "rss-return"]
ALL_NAMES = ["gcbench", "gcbench-mt", "binary-trees", "quad-tree", "micro"] + EXTRA_SECTIONS
RSS_MODES = ["idle", "collect", "churn"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def mem_available_mb():
    """MemAvailable from /proc/meminfo in MiB, or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return None


def fit_to_memory(want_mb, per_mb, what):
    """want_mb of live data, scaled down so that per_mb x that stays within the memory available now
    (the processes run one at a time)."""
    avail = mem_available_mb()
    if avail is None or want_mb * per_mb <= avail:
        return want_mb
    got = max(16, int(avail / per_mb))
    log(f"{what}: {want_mb} MB live would need about {want_mb * per_mb:.0f} MB; "
        f"{avail:.0f} MB available, using {got} MB")
    return got


def default_markers(cpus):
    """1, 2, 4, 8 up to min(8, cores), and min(8, cores) itself when it is not one of those."""
    top = max(1, min(8, cpus or 1))
    counts = [m for m in (1, 2, 4, 8) if m <= top]
    if top not in counts:
        counts.append(top)
    return counts


def run_process(cmd, env, log_path, timeout):
    """Runs one benchmark process; returns (returncode or None on timeout, stderr tail)."""
    with open(log_path, "w") as logf:
        try:
            p = subprocess.run(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT, timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = None
    with open(log_path, errors="replace") as logf:
        tail = logf.read()[-2000:]
    return rc, tail


def failed_record(collector, workload, status, message):
    return {"collector": collector, "workload": workload, "status": status, "message": message,
            "pauses": [], "probe": [], "marks": [], "extra": {}}


def run_native(collector, binary, wl, args, runs_dir, timeout, heap_multiple, tag=""):
    out = os.path.join(runs_dir, f"{wl['name']}-{collector}{tag}.json")
    logp = os.path.join(runs_dir, f"{wl['name']}-{collector}{tag}.log")
    if os.path.exists(out):
        os.unlink(out)
    cmd = [binary] + wl["args"] + ["--heap-multiple", str(heap_multiple), "--json", out] + args
    log(f"  {collector:9s} {' '.join(os.path.relpath(c, ROOT) if c == binary else c for c in cmd)}")
    rc, tail = run_process(cmd, dict(os.environ), logp, timeout)
    if rc is None:
        return failed_record(collector, wl["name"], "timeout", f"killed after {timeout} s; log: {logp}")
    if os.path.exists(out) and os.path.getsize(out) > 0:
        try:
            with open(out) as f:
                rec = json.load(f)
            rec["log"] = logp
            rec["raw"] = out
            return rec
        except json.JSONDecodeError:
            pass
    if rc < 0:
        status = f"crashed ({signal.Signals(-rc).name})"
    else:
        status = f"failed (exit {rc})"
    return failed_record(collector, wl["name"], status, tail.strip().splitlines()[-1] if tail.strip() else logp)


# ---------------------------------------------------------------------------------------------
# Go (optional): the same workloads as small Go programs, GOGC set for the same heap multiple.
# Pauses come from GODEBUG=gctrace=1 (every cycle's two stop-the-world phases, with their times).

GCTRACE_RE = re.compile(r"^gc (\d+) @([0-9.]+)s [0-9]+%: ([0-9.]+)\+([0-9.]+)\+([0-9.]+) ms clock")


def parse_gctrace(text, start_offset_s):
    """Returns [[start_ns, dur_ns, kind]] relative to the workload's start. gctrace times are since
    process start; the program reports how long after process start its workload began."""
    pauses = []
    for line in text.splitlines():
        m = GCTRACE_RE.match(line)
        if not m:
            continue
        at = float(m.group(2)) - start_offset_s
        stw1, conc, stw2 = (float(m.group(i)) for i in (3, 4, 5))
        pauses.append([int(at * 1e9), int(stw1 * 1e6), "sweep_termination"])
        pauses.append([int((at + (stw1 + conc) / 1e3) * 1e9), int(stw2 * 1e6), "mark_termination"])
    return pauses


def build_go(build_dir):
    go = shutil.which("go")
    src = os.path.join(ROOT, "bench", "go")
    if go is None or not os.path.exists(os.path.join(src, "go.mod")):
        return None
    out = os.path.join(os.path.abspath(build_dir), "bench", "go-bench")
    env = dict(os.environ)
    env.setdefault("GOCACHE", os.path.join(os.path.abspath(build_dir), "go-cache"))
    env["GOFLAGS"] = "-mod=mod"
    env["GO111MODULE"] = "on"
    env["GOPROXY"] = "off"
    p = subprocess.run([go, "build", "-o", out, "."], cwd=src, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        log("go build failed; skipping the Go column:\n" + p.stdout)
        return None
    return out


def run_go(binary, wl, runs_dir, timeout, heap_multiple, tag="", idle_budget_mb=None):
    """One Go process; with idle_budget_mb, the Go baseline (GOGC=off, the program's --idle)."""
    name = "go" if idle_budget_mb is None else "go-idle"
    out = os.path.join(runs_dir, f"{wl['name']}-{name}{tag}.json")
    logp = os.path.join(runs_dir, f"{wl['name']}-{name}{tag}.log")
    if os.path.exists(out):
        os.unlink(out)
    env = dict(os.environ)
    env["GOGC"] = str(int(round((heap_multiple - 1) * 100))) if idle_budget_mb is None else "off"
    env["GODEBUG"] = "gctrace=1"
    env.pop("GOMEMLIMIT", None)
    cmd = [binary] + wl["args"] + ["--heap-multiple", str(heap_multiple), "--json", out]
    if idle_budget_mb is not None:
        cmd += ["--idle", "--idle-budget-mb", str(idle_budget_mb)]
    log(f"  {name:9s} GOGC={env['GOGC']} {' '.join(os.path.relpath(c, ROOT) if c == binary else c for c in cmd)}")
    rc, _ = run_process(cmd, env, logp, timeout)
    if rc is None:
        return failed_record(name, wl["name"], "timeout", f"killed after {timeout} s")
    try:
        with open(out) as f:
            rec = json.load(f)
    except (OSError, json.JSONDecodeError):
        return failed_record(name, wl["name"], f"failed (exit {rc})", logp)
    with open(logp, errors="replace") as f:
        rec["pauses"] = [p for p in parse_gctrace(f.read(), rec.get("start_offset_s", 0.0))
                         if p[0] + p[1] >= 0 and p[0] <= rec["duration_ns"]]
    rec["collections"] = len(rec["pauses"]) // 2 if rec.get("collections") is None else rec["collections"]
    rec["log"] = logp
    rec["raw"] = out
    # The pauses came from the log: keep them with the record so --render finds them.
    with open(out, "w") as f:
        json.dump(rec, f)
    return rec


# ---------------------------------------------------------------------------------------------
# mark-scaling and rss-return: tricolor and Boehm only (no Go versions), one process per marker count
# or mode, collectors interleaved; --repeat does not apply (mark-scaling takes medians itself).


def native_collectors(collectors, bins):
    return [c for c in collectors if c in bins]


def idle_budget(a):
    """The RSS an idle-collector run may reach before it ends (it never frees anything): --idle-budget-mb,
    or a third of the memory available now, at most 4 GB."""
    if a.idle_budget_mb:
        return a.idle_budget_mb
    avail = mem_available_mb()
    return int(min(4096, avail / 3)) if avail else 2048


def run_mark_scaling(a, bins, collectors, runs_dir, timeout):
    live_mb = a.scaling_mb or (1024 if a.full else 200)
    # A tricolor or Boehm process holds about 1.1-1.2x the tree; leave the rest of the machine room.
    live_mb = fit_to_memory(live_mb, 2.0, "mark-scaling")
    collections = 5 if a.full else 3
    markers = ([int(x) for x in a.markers.split(",") if x.strip()] if a.markers
               else default_markers(os.cpu_count()))
    args = ["--workload", "mark-scaling", "--live-mb", str(live_mb), "--collections", str(collections),
            "--no-probe", "--no-cpu-probe"]
    wl = {"name": "mark-scaling", "args": args}
    section = {"name": "mark-scaling", "args": args, "markers": markers, "live_mb": live_mb,
               "collections": collections, "runs": {}}
    log(f"mark-scaling: {live_mb} MB live, markers {','.join(map(str, markers))}")
    cs = native_collectors(collectors, bins)
    for c in cs:
        section["runs"][c] = []
    for m in markers:
        for c in cs:
            if not os.path.exists(bins[c]):
                rec = failed_record(c, "mark-scaling", "not built", bins[c])
                rec["params"] = {"markers": m}
            else:
                # No heap limit: the heap holds the tree and nothing else.
                rec = analyse_scaling(run_native(c, bins[c], wl, ["--markers", str(m)], runs_dir, timeout, 0,
                                                 f"-m{m}"))
            rec.setdefault("params", {})["markers"] = m
            section["runs"][c].append(rec)
            if rec.get("status") == "ok":
                sc = rec["scaling"]
                log(f"    {c:9s} {m} markers: mark {fmt(sc['mark_ms'], '{:.1f}')} ms "
                    f"({fmt(sc['mb_per_s'], '{:.0f}')} MB/s), marker cpu {fmt(sc['mark_cpu_ms'], '{:.1f}')} ms, "
                    f"STW/GC {fmt_ms(sc['pause_ms'])} ms")
            else:
                log(f"    {c:9s} {m} markers: {rec.get('status')}: {rec.get('message')}")
    return scaling_speedups(section)


def run_rss_return(a, bins, collectors, runs_dir, timeout):
    live_mb = a.rss_mb or (1024 if a.full else 300)
    # Churn can take the heap to about twice its size before the collector notices the drop.
    live_mb = fit_to_memory(live_mb, 3.0, "rss-return")
    small_mb, limit_s, churn = 10, a.rss_limit_s, a.churn_mb_s
    modes = [m for m in a.rss_modes.split(",") if m]
    for m in modes:
        if m not in RSS_MODES:
            raise SystemExit(f"--rss-modes: unknown mode {m!r} (known: {', '.join(RSS_MODES)})")
    args = ["--workload", "rss-return", "--live-mb", str(live_mb), "--small-mb", str(small_mb),
            "--limit-s", str(limit_s), "--churn-mb-s", str(churn), "--no-probe", "--no-cpu-probe"]
    section = {"name": "rss-return", "args": args, "modes": modes, "live_mb": live_mb, "small_mb": small_mb,
               "limit_s": limit_s, "churn_mb_s": churn, "runs": {}}
    log(f"rss-return: {live_mb} MB -> {small_mb} MB live, modes {','.join(modes)}, up to {limit_s:g} s each")
    cs = native_collectors(collectors, bins)
    for c in cs:
        section["runs"][c] = {}
    for mode in modes:
        wl = {"name": "rss-return", "args": args + ["--mode", mode]}
        for c in cs:
            if not os.path.exists(bins[c]):
                rec = failed_record(c, "rss-return", "not built", bins[c])
            else:
                rec = analyse_rss(run_native(c, bins[c], wl, [], runs_dir, timeout, a.heap_multiple, f"-{mode}"))
            section["runs"][c][mode] = rec
            if rec.get("status") == "ok":
                x = rec["rss"]
                log(f"    {c:9s} {mode:7s}: {x['at_drop_mb']:.0f} MB at the drop, under 2x live: "
                    f"{fmt_s(x['time_to_threshold_s'], x['limit_s'])}, final {x['final_mb']:.1f} MB")
            else:
                log(f"    {c:9s} {mode:7s}: {rec.get('status')}: {rec.get('message')}")
    return section


# ---------------------------------------------------------------------------------------------
# Figures


def analyse(rec):
    """Adds the figures of one run alone to its record (in place) and returns it; relate() adds those
    that need the idle baseline of the same workload."""
    if rec.get("status") != "ok":
        return rec
    dur = rec["duration_ns"]
    pauses = rec.get("pauses", [])
    glob = [p for p in pauses if p[2] in GLOBAL_KINDS]
    thread = [p for p in pauses if p[2] not in GLOBAL_KINDS]
    cp = rec.get("cpu_probe") or {}
    # Process CPU time without the CPU probe's own thread, which spins for the whole run.
    rec["cpu_probe_cpu_s"] = cp.get("thread_cpu_s", 0.0)
    rec["cpu_s"] = rec.get("cpu_user_s", 0) + rec.get("cpu_sys_s", 0) - rec["cpu_probe_cpu_s"]
    rec["stw"] = bs.summarize([p[1] for p in glob])
    rec["thread_pauses"] = bs.summarize([p[1] for p in thread])
    kinds = sorted({p[2] for p in pauses})
    rec["by_kind"] = {k: bs.summarize([p[1] for p in pauses if p[2] == k]) for k in kinds}
    rec["probe_summary"] = bs.summarize([s[1] for s in rec.get("probe", [])])
    # The part of each lateness spent after the sleep returned: for tricolor, leaving the blocking
    # scope plus the safepoint (the collector's doing); Boehm and Go stop threads inside the sleep.
    rec["probe_after_wake"] = bs.summarize([s[2] for s in rec.get("probe", []) if len(s) > 2])
    # Pause-based MMU: every recorded pause counts as stopping the mutators, tricolor's per-thread
    # handshakes and assists included (the pessimistic reading for tricolor: another thread's assist
    # does not stop this one), while Go records only its two stop-the-world phases (gctrace), so the
    # figures are not comparable across collectors; "pause_mmu_stw" counts global stops only. The
    # comparable figure is the CPU probe's (relate()).
    merged_all = bs.merge_intervals(pauses, dur)
    merged_glob = bs.merge_intervals(glob, dur)
    rec["pause_mmu"] = {str(w): bs.pause_mmu(merged_all, dur, w * 1_000_000) for w in MMU_WINDOWS_MS}
    rec["pause_mmu_stw"] = {str(w): bs.pause_mmu(merged_glob, dur, w * 1_000_000) for w in MMU_WINDOWS_MS}
    rec["paused_fraction"] = sum(e - s for s, e in merged_all) / dur if dur else None
    counts = cp.get("counts") or []
    if counts:
        mean = sum(counts) / len(counts)
        fast = bs.full_speed(counts)
        rec["cpu_probe_summary"] = {
            "windows": len(counts), "window_ms": cp.get("window_ns", 1_000_000) / 1e6,
            "mean_count": mean, "full_speed_count": fast,
            # The share of one core the probe got: its mean over the count of a window it ran through.
            "core_share": mean / fast if fast else None,
            "zero_windows": sum(1 for c in counts if c == 0), "dropped": cp.get("dropped", 0)}
    edges = bs.hist_bins()
    rec["pause_histogram"] = {"edges_ms": edges,
                              "stw": bs.histogram([p[1] / 1e6 for p in glob], edges),
                              "thread": bs.histogram([p[1] / 1e6 for p in thread], edges)}
    return rec


def relate(runs):
    """The figures of each run of one workload against its idle baseline (in place): the CPU probe's
    utilisation (each 1 ms window's count over the baseline's mean count per window) and its MMU, and
    the latency probe's lateness above the baseline's. The baseline is related to itself: its MMU is
    the floor the machine's own scheduling sets."""
    for c, r in runs.items():
        if r.get("status") != "ok":
            continue
        b = runs.get(BASELINE.get(c, ""))
        base_ok = b is not None and b.get("status") == "ok"
        r["baseline"] = BASELINE.get(c) if base_ok else None
        counts = (r.get("cpu_probe") or {}).get("counts") or []
        ref = bs.probe_reference((b.get("cpu_probe") or {}).get("counts") or []) if base_ok else None
        r["cpu_probe_reference"] = ref
        r["cpu_mmu"] = bs.cpu_probe_mmu(counts, ref, MMU_WINDOWS_MS) if counts and ref else \
            {str(w): None for w in MMU_WINDOWS_MS}
        r["cpu_util_mean"] = (sum(counts) / len(counts)) / ref if counts and ref else None
        if base_ok and c not in IDLE:
            r["probe_above"] = bs.lateness_above(r["probe_summary"], b["probe_summary"])
        else:
            r["probe_above"] = None
    return runs


# ---------------------------------------------------------------------------------------------
# mark-scaling and rss-return


def series_rows(rec, name):
    """The rows of a named series of a record as dicts keyed by column."""
    sr = (rec.get("series") or {}).get(name) or {}
    cols = sr.get("columns", [])
    return [dict(zip(cols, row)) for row in sr.get("rows", [])]


def analyse_scaling(rec):
    """Medians over the timed collections of one mark-scaling process (in place)."""
    if rec.get("status") != "ok":
        return rec
    rows = series_rows(rec, "collections")
    ex = rec.get("extra", {})
    live = ex.get("live_bytes", 0)
    mark = bs.median([r["mark_wall_ms"] for r in rows])
    cpu = bs.median([r["mark_cpu_ms"] for r in rows if r["mark_cpu_ms"] >= 0])
    rec["scaling"] = {
        "markers": int(ex.get("markers", rec.get("params", {}).get("markers", 0))),
        "live_mb": live / 2**20,
        "collections": len(rows),
        "mark_ms": mark,
        "mark_ms_all": [r["mark_wall_ms"] for r in rows],
        "mark_cpu_ms": cpu,
        "stats_mark_ms": bs.median([r.get("stats_mark_wall_ms") for r in rows]),
        "collect_ms": bs.median([r["collect_ms"] for r in rows]),
        "pause_ms": bs.median([r["global_pause_ms"] for r in rows]),
        "process_cpu_ms": bs.median([r["process_cpu_ms"] for r in rows]),
        "mb_per_s": live / 2**20 / (mark / 1e3) if mark else None,
        # Several cycles in one collect() call would make the per-collection figures sums.
        "extra_cycles": sum(1 for r in rows if r["cycles"] != 1),
    }
    return rec


def scaling_speedups(section):
    """Speedup of each run over the same collector's run with the fewest markers (normally 1)."""
    for c, recs in section["runs"].items():
        ok = [r for r in recs if r.get("status") == "ok" and r["scaling"]["mark_ms"]]
        if not ok:
            continue
        base = min(ok, key=lambda r: r["scaling"]["markers"])
        for r in ok:
            r["scaling"]["speedup"] = base["scaling"]["mark_ms"] / r["scaling"]["mark_ms"]
            r["scaling"]["speedup_base_markers"] = base["scaling"]["markers"]
    return section


def analyse_rss(rec):
    """Figures of one rss-return process from its RSS curve (in place)."""
    if rec.get("status") != "ok":
        return rec
    ex = rec.get("extra", {})
    pts = [(r["t_ms_since_drop"], r["rss_bytes"]) for r in series_rows(rec, "rss")]
    after = [(t, b) for t, b in pts if t > 0]
    at_drop = ex.get("rss_at_drop_bytes", 0)
    small = ex.get("small_live_bytes", 0)
    half = next((t for t, b in after if b < at_drop / 2), None)
    t2x = ex.get("time_to_threshold_ms", -1)
    final = ex.get("rss_final_bytes", 0)
    rec["rss"] = {
        "big_mb": ex.get("big_live_bytes", 0) / 2**20,
        "small_mb": small / 2**20,
        "threshold_mb": ex.get("threshold_bytes", 0) / 2**20,
        "baseline_mb": ex.get("rss_baseline_bytes", 0) / 2**20,
        "at_drop_mb": at_drop / 2**20,
        "peak_mb": max([b for _, b in pts] or [0]) / 2**20,
        "peak_after_drop_mb": max([b for _, b in after] or [0]) / 2**20,
        "min_after_drop_mb": min([b for _, b in after] or [0]) / 2**20,
        "final_mb": final / 2**20,
        "final_over_live": final / small if small else None,
        "time_to_threshold_s": t2x / 1e3 if t2x is not None and t2x >= 0 else None,
        "time_to_half_s": half / 1e3 if half is not None else None,
        "waited_s": ex.get("waited_ms", 0) / 1e3,
        "limit_s": ex.get("limit_s"),
        "gcs_after_drop": ex.get("collections_after_drop"),
        "churn_mb": ex.get("churn_bytes", 0) / 2**20,
    }
    return rec


def rss_harder(section):
    """Per collector, the mode that did worst: latest under the threshold (never counts as latest),
    then the highest final RSS."""
    out = {}
    for c, by_mode in section["runs"].items():
        ok = [(m, r) for m, r in by_mode.items() if r.get("status") == "ok"]
        if not ok:
            continue
        key = lambda mr: (mr[1]["rss"]["time_to_threshold_s"] if mr[1]["rss"]["time_to_threshold_s"] is not None
                          else float("inf"), mr[1]["rss"]["final_mb"])
        out[c] = max(ok, key=key)[0]
    return out


# ---------------------------------------------------------------------------------------------
# Micro benchmarks (Google Benchmark JSON)


def run_micro(binary, collector, runs_dir, min_time, timeout):
    out = os.path.join(runs_dir, f"micro-{collector}.json")
    logp = os.path.join(runs_dir, f"micro-{collector}.log")
    # Three repetitions, median reported: a timed batch that the OS preempts (the collector's threads
    # share the cores) would otherwise decide a single run.
    cmd = [binary, "--benchmark_format=console", f"--benchmark_out={out}",
           "--benchmark_out_format=json", f"--benchmark_min_time={min_time}",
           "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true"]
    log(f"  {collector:9s} {os.path.relpath(binary, ROOT)} {' '.join(cmd[4:])}")
    rc, tail = run_process(cmd, dict(os.environ), logp, timeout)
    if rc != 0:
        return {"collector": collector, "status": f"failed ({rc})", "message": tail[-500:], "benchmarks": []}
    with open(out) as f:
        data = json.load(f)
    rows = []
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        row = {"name": b["name"].split("/")[0].split("_median")[0], "real_time_ns": b.get("real_time"),
               "cpu_time_ns": b.get("cpu_time"), "iterations": b.get("iterations"),
               "time_unit": b.get("time_unit", "ns")}
        for k in ("allocs/op", "bytes/op", "ns/store", "collections", "discarded_batches", "heap_peak_MB"):
            if k in b:
                row[k] = b[k]
        rows.append(row)
    return {"collector": collector, "status": "ok", "benchmarks": rows, "context": data.get("context", {})}


# ---------------------------------------------------------------------------------------------
# Output: table


def fmt(v, spec="{:.2f}", none="-"):
    return none if v is None else spec.format(v)


def fmt_ms(v):
    if v is None:
        return "-"
    if v < 0.1:
        return f"{v:.3f}"
    if v < 10:
        return f"{v:.2f}"
    return f"{v:.0f}"


def best_cells(runs):
    """For each collector, the table columns in which it has the best value of its workload: lowest
    wall time, lowest STW max, lowest probe p99 above the idle baseline, highest CPU-probe MMU(10 ms).
    The idle baselines take no part."""
    ok = {c: r for c, r in runs.items() if r.get("status") == "ok" and c not in IDLE}
    keys = {2: lambda r: r["wall_s"], 6: lambda r: r["stw"]["max_ms"] or 0.0,
            9: lambda r: (r.get("probe_above") or {}).get("p99_ms"),
            10: lambda r: None if r["cpu_mmu"].get("10") is None else -r["cpu_mmu"]["10"]}
    best = {c: set() for c in runs}
    if len(ok) < 2:
        return best
    for col, key in keys.items():
        vals = {c: key(r) for c, r in ok.items() if key(r) is not None}
        if len(vals) >= 2:
            m = min(vals.values())
            for c, v in vals.items():
                if v == m:
                    best[c].add(col)
    return best


def run_note(c, r):
    """The table's note for one run: what the reader needs to weigh its figures."""
    note = []
    ex = r.get("extra") or {}
    if c in IDLE:
        note.append("baseline, collection off")
        if ex.get("idle_truncated"):
            note.append(f"ended at the RSS budget ({ex.get('idle_budget_bytes', 0) / 2**20:.0f} MB)")
    cs = r.get("cpu_probe_summary")
    if cs and cs.get("core_share") is not None:
        note.append(f"cpu probe had {cs['core_share'] * 100:.0f}% of a core")
    if r.get("pauses_truncated"):
        note.append("pauses truncated")
    if r.get("probe_dropped"):
        note.append(f"{r['probe_dropped']} probe samples dropped")
    return "; ".join(note)


def table_rows(report, with_best=False):
    rows = []
    for wl in report["workloads"]:
        runs = wl["runs"]
        best = best_cells(runs)
        base = runs.get("boehm")
        base_wall = base.get("wall_s") if base and base.get("status") == "ok" else None
        for c in COLLECTORS:
            r = runs.get(c)
            if r is None:
                continue
            if r.get("status") != "ok":
                cells = [wl["name"], c, r.get("status", "?")] + [""] * 11 + [(r.get("message") or "")[:60]]
                rows.append((cells, set()) if with_best else cells)
                continue
            truncated = bool((r.get("extra") or {}).get("idle_truncated"))
            ratio = r["wall_s"] / base_wall if base_wall and not truncated else None
            stw, pr, ab = r["stw"], r["probe_summary"], r.get("probe_above")
            cells = [
                wl["name"], c,
                f"{r['wall_s']:.2f}" + ("*" if truncated else ""),
                fmt(ratio, "{:.2f}x"),
                f"{r['cpu_s']:.2f}",
                str(r.get("collections", "-")),
                "/".join(fmt_ms(stw[k]) for k in ("p50_ms", "p99_ms", "max_ms")) if stw["count"] else "-",
                "/".join(fmt_ms(r["thread_pauses"][k]) for k in ("p99_ms", "max_ms"))
                if r["thread_pauses"]["count"] else "-",
                "/".join(fmt_ms(pr[k]) for k in ("p99_ms", "max_ms")) if pr["count"] else "-",
                "/".join(fmt_delta(ab[k]) for k in ("p99_ms", "max_ms")) if ab else "-",
                "/".join(fmt(r["cpu_mmu"].get(w), "{:.2f}") for w in ("1", "10", "100")),
                "/".join(fmt(r["pause_mmu"][w], "{:.2f}") for w in ("1", "10")),
                f"{r.get('max_rss_kb', 0) / 1024:.0f}",
                f"{r.get('heap_limit_bytes', 0) / 2**20:.0f}" if r.get("heap_limit_bytes") else "-",
                run_note(c, r),
            ]
            rows.append((cells, best[c]) if with_best else cells)
    return rows


def fmt_delta(v):
    """A lateness difference in ms, signed."""
    if v is None:
        return "-"
    return ("+" if v >= 0 else "-") + fmt_ms(abs(v))


TABLE_HEAD = ["workload", "collector", "wall s", "/Boehm", "cpu s", "GCs", "STW p50/p99/max ms",
              "thr p99/max ms", "probe p99/max ms", "above idle p99/max", "CPU-MMU 1/10/100ms",
              "pause-MMU 1/10ms", "RSS MB", "limit MB", "note"]

# What each figure counts, printed under the table and in the HTML.
TABLE_LEGEND = [
    "idle: the same workload on tricolor with collection off and no heap limit (tricolor-bench --idle),",
    "      the baseline of tricolor and Boehm (go-idle: GOGC=off, Go's). It shows the machine's own noise;",
    "      it touches fresh memory for every allocation, so its wall time is no throughput baseline",
    "      (* = ended at its RSS budget). cpu s: process CPU without the CPU probe's own thread.",
    "STW: pauses that stop every mutator (tricolor: mark start/termination, full stops; Boehm: stop-world",
    "     to start-world; Go: gctrace's two STW phases). thr: tricolor's per-thread handshakes and assists.",
    "probe: how late an attached thread sleeping 1 ms wakes (raw). above idle: that run's p99 and max",
    "     lateness minus the idle baseline's p99 and max (what the collector adds to the machine's noise).",
    "CPU-MMU: an attached thread that never allocates counts units of fixed arithmetic per 1 ms window;",
    "     utilisation = count / the idle run's mean count per window; MMU(w) = the least mean utilisation",
    "     over any w consecutive ms (at most 1). Counts everything that takes the CPU from a running",
    "     mutator: stops, its own handshakes, collector threads on the cores, the OS; not assists (it does",
    "     not allocate). The same code and the same reference for tricolor and Boehm: comparable.",
    "pause-MMU: from recorded pause intervals, every one counted as stopping all mutators: tricolor's",
    "     per-thread handshakes and assists included, Boehm's stops, Go's two STW phases only (assists and",
    "     mark workers not seen): not comparable across collectors.",
]


def text_table(head, rows, left=2):
    """Columns padded to their widest cell; the first `left` columns and the last left-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) if i < left or i == len(cells) - 1 else str(c).rjust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return [line(head), line(["-" * w for w in widths])] + [line(r) for r in rows]


def fmt_s(v, limit=None):
    if v is None:
        return f"never in {limit:g} s" if limit else "never"
    return f"{v:.2f} s"


SCALING_HEAD = ["collector", "markers", "mark ms", "MB/s", "speedup", "mark cpu ms", "collect ms",
                "STW ms/GC", "note"]


def scaling_rows(section):
    rows = []
    for c in COLLECTORS:
        for r in section["runs"].get(c, []):
            m = r.get("params", {}).get("markers", "?")
            if r.get("status") != "ok":
                rows.append([c, str(m), r.get("status", "?")] + [""] * 5 + [(r.get("message") or "")[:60]])
                continue
            sc = r["scaling"]
            note = []
            if sc["extra_cycles"]:
                note.append(f"{sc['extra_cycles']} collect() calls ran more than one cycle")
            if len(sc["mark_ms_all"]) > 1:
                note.append("runs " + "/".join(f"{x:.0f}" for x in sc["mark_ms_all"]))
            sm = sc.get("stats_mark_ms")
            if c == "tricolor" and sm is not None and sc["mark_ms"] and abs(sm - sc["mark_ms"]) > 0.1 * sc["mark_ms"]:
                note.append(f"Stats::mark_wall_ms {sm:.1f}")
            rows.append([c, str(sc["markers"]), fmt(sc["mark_ms"], "{:.1f}"), fmt(sc["mb_per_s"], "{:.0f}"),
                         fmt(sc.get("speedup"), "{:.2f}x"), fmt(sc["mark_cpu_ms"], "{:.1f}"),
                         fmt(sc["collect_ms"], "{:.1f}"), fmt_ms(sc["pause_ms"]), "; ".join(note)])
    return rows


RSS_HEAD = ["collector", "mode", "at drop MB", "peak after MB", "< 2x live", "half returned", "final MB",
            "final/live", "GCs after", "note"]


def rss_rows(section):
    rows = []
    harder = rss_harder(section)
    for c in COLLECTORS:
        for mode, r in (section["runs"].get(c) or {}).items():
            if r.get("status") != "ok":
                rows.append([c, mode, r.get("status", "?")] + [""] * 6 + [(r.get("message") or "")[:60]])
                continue
            x, ex = r["rss"], r.get("extra", {})
            note = []
            if mode == harder.get(c):
                note.append("harder")
            if c == "tricolor":
                note.append(f"released {ex.get('tricolor_released_bytes_at_end', 0) / 2**20:.0f} of "
                            f"{ex.get('tricolor_committed_bytes_at_end', 0) / 2**20:.0f} MB committed")
            elif c == "boehm":
                note.append(f"unmapped {ex.get('boehm_unmapped_bytes_at_end', 0) / 2**20:.0f} MB, heap "
                            f"{ex.get('boehm_heap_bytes_at_end', 0) / 2**20:.0f} MB")
            if x["churn_mb"]:
                note.append(f"churned {x['churn_mb']:.0f} MB")
            rows.append([c, mode, f"{x['at_drop_mb']:.0f}", f"{x['peak_after_drop_mb']:.0f}",
                         fmt_s(x["time_to_threshold_s"], x["limit_s"]), fmt_s(x["time_to_half_s"], x["limit_s"]),
                         f"{x['final_mb']:.1f}", fmt(x["final_over_live"], "{:.1f}x"),
                         str(x["gcs_after_drop"] if x["gcs_after_drop"] is not None else "-"), "; ".join(note)])
    return rows


def scaling_caption(section):
    return (f"mark-scaling: one live quad tree of {section['live_mb']:g} MB, no other objects; per process a "
            f"warm-up and {section['collections']} timed full collections, medians shown; one process per "
            f"marker count. speedup: mark time with the fewest markers / with these.")


def rss_caption(section):
    return (f"rss-return: grow to {section['live_mb']:g} MB + {section['small_mb']:g} MB live, drop to "
            f"{section['small_mb']:g} MB; RSS sampled every 10 ms until below 2x live or {section['limit_s']:g} s. "
            f"idle: nothing after the drop; collect: one explicit full collection; churn: "
            f"{section['churn_mb_s']:g} MB/s of short-lived trees, no explicit collection.")


def render_table(report):
    rows = table_rows(report)
    lines = []
    if rows:
        widths = [max(len(str(x)) for x in col) for col in zip(TABLE_HEAD, *rows)]
        line = lambda cells: "  ".join(str(c).ljust(w) if i < 2 or i == len(cells) - 1 else str(c).rjust(w)
                                       for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
        lines.append(line(TABLE_HEAD))
        lines.append(line(["-" * w for w in widths]))
        prev = None
        for r in rows:
            if prev is not None and r[0] != prev:
                lines.append("")
            prev = r[0]
            lines.append(line(r))
    micro = report.get("micro") or {}
    if micro:
        lines.append("")
        lines.append("micro (Google Benchmark)           " +
                     "  ".join(f"{c:>22s}" for c in ("tricolor", "boehm")))
        names = []
        for c in ("tricolor", "boehm"):
            for b in (micro.get(c) or {}).get("benchmarks", []):
                if b["name"] not in names:
                    names.append(b["name"])
        for n in names:
            cells = []
            for c in ("tricolor", "boehm"):
                b = next((x for x in (micro.get(c) or {}).get("benchmarks", []) if x["name"] == n), None)
                if b is None:
                    cells.append("-")
                elif "ns/store" in b:
                    cells.append(f"{b['ns/store']:.2f} ns/store")
                else:
                    cells.append(f"{b['real_time_ns']:.1f} ns/op {b.get('allocs/op', 0):.0f} alloc/op")
            lines.append(f"  {n:32s}" + "  ".join(f"{x:>22s}" for x in cells))
    if rows or micro:
        lines.append("")
        lines.extend(TABLE_LEGEND)
        lines.append(f"Heap limit = {report['meta']['heap_multiple']}x each collector's own peak live bytes.")
    sec = report.get("mark_scaling")
    if sec:
        lines.append("")
        lines.append(scaling_caption(sec))
        lines.extend(text_table(SCALING_HEAD, scaling_rows(sec)))
        lines.append("mark ms: marking wall time per collection (tricolor: start of the mark-start pause to the "
                     "end of the termination pause; Boehm: GC_EVENT_MARK_START..END, world stopped). STW ms/GC: "
                     "global pauses per collection.")
    sec = report.get("rss_return")
    if sec:
        lines.append("")
        lines.append(rss_caption(sec))
        lines.extend(text_table(RSS_HEAD, rss_rows(sec)))
        lines.append(f"< 2x live: time after the drop until RSS < {2 * sec['small_mb']:g} MB; half returned: "
                     "until RSS < half its value at the drop. harder: the mode that did worst for that collector.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Output: HTML with inline SVG


class Plot:
    """A small SVG chart: one x and one y axis, linear or log, with ticks and a grid."""

    def __init__(self, title, xlabel, ylabel, xr, yr, xlog=False, ylog=False, w=440, h=280):
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.xlog, self.ylog = xlog, ylog
        self.w, self.h = w, h
        self.ml, self.mr, self.mt, self.mb = 58, 14, 26, 40
        self.x0, self.x1 = xr
        self.y0, self.y1 = yr
        self.parts = []

    def _t(self, v, lo, hi, log_):
        if log_:
            v, lo, hi = math.log10(max(v, 1e-12)), math.log10(lo), math.log10(hi)
        return 0.0 if hi == lo else (v - lo) / (hi - lo)

    def X(self, v):
        return self.ml + self._t(v, self.x0, self.x1, self.xlog) * (self.w - self.ml - self.mr)

    def Y(self, v):
        t = min(1.0, max(0.0, self._t(v, self.y0, self.y1, self.ylog)))
        return self.h - self.mb - t * (self.h - self.mt - self.mb)

    @staticmethod
    def _ticks(lo, hi, log_):
        if log_:
            return [10 ** k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
                    if lo * 0.999 <= 10 ** k <= hi * 1.001]
        span = hi - lo
        if span <= 0:
            return [lo]
        step = 10 ** math.floor(math.log10(span / 5))
        for m in (1, 2, 5, 10):
            if span / (step * m) <= 6:
                step *= m
                break
        first = math.ceil(lo / step) * step
        return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]

    @staticmethod
    def _label(v):
        if v == 0:
            return "0"
        if abs(v) >= 10000 or abs(v) < 0.01:
            e = math.floor(math.log10(abs(v)))
            m = v / 10 ** e
            return f"1e{e}" if abs(m - 1) < 1e-9 else f"{m:g}e{e}"
        return f"{v:g}"

    def add(self, svg):
        self.parts.append(svg)

    def svg(self):
        o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
             f'viewBox="0 0 {self.w} {self.h}" font-family="sans-serif" font-size="10">',
             f'<text x="{self.w / 2}" y="14" text-anchor="middle" font-size="12" font-weight="bold">'
             f'{html.escape(self.title)}</text>']
        px0, px1 = self.ml, self.w - self.mr
        py0, py1 = self.mt, self.h - self.mb
        for t in self._ticks(self.x0, self.x1, self.xlog):
            x = self.X(t)
            o.append(f'<line x1="{x:.1f}" y1="{py0}" x2="{x:.1f}" y2="{py1}" stroke="#e4e4e4"/>')
            o.append(f'<text x="{x:.1f}" y="{py1 + 13}" text-anchor="middle">{self._label(t)}</text>')
        for t in self._ticks(self.y0, self.y1, self.ylog):
            y = self.Y(t)
            o.append(f'<line x1="{px0}" y1="{y:.1f}" x2="{px1}" y2="{y:.1f}" stroke="#e4e4e4"/>')
            o.append(f'<text x="{px0 - 4}" y="{y + 3:.1f}" text-anchor="end">{self._label(t)}</text>')
        o.append(f'<rect x="{px0}" y="{py0}" width="{px1 - px0}" height="{py1 - py0}" fill="none" stroke="#888"/>')
        o.append(f'<text x="{(px0 + px1) / 2}" y="{self.h - 6}" text-anchor="middle">{html.escape(self.xlabel)}</text>')
        o.append(f'<text transform="translate(12,{(py0 + py1) / 2}) rotate(-90)" text-anchor="middle">'
                 f'{html.escape(self.ylabel)}</text>')
        o.extend(self.parts)
        o.append("</svg>")
        return "\n".join(o)


def legend(plot, names):
    x = plot.ml + 8
    for i, n in enumerate(names):
        y = plot.mt + 12 + 13 * i
        plot.add(f'<rect x="{x}" y="{y - 8}" width="10" height="10" fill="{COLORS[n]}"/>'
                 f'<text x="{x + 14}" y="{y + 1}">{n}</text>')


def sample_points(points, keep=2500):
    """At most `keep` points, always including the largest ones (a chart must not hide a stall)."""
    if len(points) <= keep:
        return points, False
    by_size = sorted(points, key=lambda p: -p[1])
    top = by_size[: keep // 2]
    rest = by_size[keep // 2:]
    stride = max(1, len(rest) // (keep - len(top)))
    return top + rest[::stride], True


def chart_histogram(runs):
    """Pause counts per duration bin, log-log: stop-the-world pauses solid, per-thread pauses
    (tricolor's handshakes and assists) pale, so thousands of tiny assists do not hide one long stop."""
    edges = bs.hist_bins()
    series = []  # (label, collector, counts, opacity)
    for c in COLLECTORS:
        if c not in runs or c in IDLE:
            continue
        h = runs[c]["pause_histogram"]
        series.append((f"{c} STW", c, h["stw"], 0.95))
        if any(h["thread"]):
            series.append((f"{c} per-thread", c, h["thread"], 0.35))
    used = [i for i in range(len(edges) - 1) if any(sr[2][i] for sr in series)]
    if not used:
        return "<p>no pauses recorded</p>"
    lo, hi = max(0, used[0] - 1), min(len(edges) - 2, used[-1] + 1)
    cmax = max(max(sr[2]) for sr in series)
    p = Plot("pause durations", "pause (ms, log)", "pauses (log)",
             (edges[lo], edges[hi + 1]), (0.7, max(10, cmax * 1.5)), xlog=True, ylog=True)
    for k, (label, c, counts, op) in enumerate(series):
        for i in range(lo, hi + 1):
            if counts[i] <= 0:
                continue
            xa, xb = p.X(edges[i]), p.X(edges[i + 1])
            bw = (xb - xa) / len(series)
            x = xa + k * bw
            y = p.Y(counts[i])
            p.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bw - 0.5, 0.5):.1f}" '
                  f'height="{p.Y(0.7) - y:.1f}" fill="{COLORS[c]}" fill-opacity="{op}"><title>{label}: '
                  f'{counts[i]} in [{edges[i]:.3g}, {edges[i + 1]:.3g}) ms</title></rect>')
    x = p.ml + 8
    for k, (label, c, _, op) in enumerate(series):
        y = p.mt + 12 + 13 * k
        p.add(f'<rect x="{x}" y="{y - 8}" width="10" height="10" fill="{COLORS[c]}" fill-opacity="{op}"/>'
              f'<text x="{x + 14}" y="{y + 1}">{html.escape(label)}</text>')
    return p.svg()


def chart_over_time(runs, key, title, ylabel):
    names = [c for c in COLLECTORS if c in runs and not (key == "pauses" and c in IDLE)]
    series, sampled = {}, False
    tmax, vmax, vmin = 0.0, 0.0, None
    for c in names:
        r = runs[c]
        if key == "pauses":
            pts = [(p[0] / 1e9, p[1] / 1e6, p[2] in GLOBAL_KINDS) for p in r.get("pauses", [])]
        else:
            pts = [(s[0] / 1e9, s[1] / 1e6, True) for s in r.get("probe", [])]
        pts = [q for q in pts if q[1] > 0]
        pts, s = sample_points(pts)
        sampled |= s
        series[c] = pts
        tmax = max(tmax, r["duration_ns"] / 1e9)
        for q in pts:
            vmax = max(vmax, q[1])
            vmin = q[1] if vmin is None else min(vmin, q[1])
    if vmin is None:
        return "<p>nothing recorded</p>"
    lo = 10 ** math.floor(math.log10(max(vmin, 1e-4)))
    hi = 10 ** math.ceil(math.log10(max(vmax, lo * 10)))
    p = Plot(title + (" (sampled)" if sampled else ""), "time since start (s)", ylabel,
             (0, max(tmax, 1e-3)), (lo, hi), ylog=True)
    for c in names:
        for t, v, solid in series[c]:
            if solid:
                p.add(f'<circle cx="{p.X(t):.1f}" cy="{p.Y(v):.1f}" r="2" fill="{COLORS[c]}" fill-opacity="0.7"/>')
            else:
                p.add(f'<circle cx="{p.X(t):.1f}" cy="{p.Y(v):.1f}" r="1.6" fill="none" '
                      f'stroke="{COLORS[c]}" stroke-opacity="0.6"/>')
    legend(p, names)
    return p.svg()


def chart_mmu(runs):
    """MMU curves: the CPU probe's (solid, comparable across collectors) and the pause-based ones
    (dashed, each collector's own pause records)."""
    names = [c for c in COLLECTORS if c in runs]
    p = Plot("minimum mutator utilisation", "window (ms, log)", "MMU", (1, 1000), (0, 1), xlog=True)
    for c in names:
        for key, dash, what in (("cpu_mmu", "", "CPU probe"), ("pause_mmu", ' stroke-dasharray="5,3"', "pauses")):
            if c in IDLE and key == "pause_mmu":
                continue
            pts = [(float(w), v) for w, v in (runs[c].get(key) or {}).items() if v is not None]
            if not pts:
                continue
            d = " ".join(f"{p.X(w):.1f},{p.Y(v):.1f}" for w, v in pts)
            p.add(f'<polyline points="{d}" fill="none" stroke="{COLORS[c]}" stroke-width="2"{dash}/>')
            for w, v in pts:
                p.add(f'<circle cx="{p.X(w):.1f}" cy="{p.Y(v):.1f}" r="2.5" fill="{COLORS[c]}">'
                      f'<title>{c}: MMU({w:g} ms) by {what} = {v:.3f}</title></circle>')
    legend(p, names)
    return p.svg()


def chart_utilisation(runs, group_ms=10):
    """The CPU probe's utilisation over time, in means of group_ms windows, per collector."""
    names = [c for c in COLLECTORS if c in runs and runs[c].get("cpu_probe_reference")
             and (runs[c].get("cpu_probe") or {}).get("counts")]
    if not names:
        return "<p>no CPU-probe data</p>"
    series, tmax, vmax = {}, 0.0, 1.0
    for c in names:
        cp = runs[c]["cpu_probe"]
        util = bs.utilisation(cp["counts"], runs[c]["cpu_probe_reference"])
        k = max(1, int(group_ms * 1e6 / cp.get("window_ns", 1e6)))
        means = bs.window_means(util, k)
        t0 = cp.get("start_ns", 0) / 1e9
        pts = [(t0 + (i + 0.5) * k * cp.get("window_ns", 1e6) / 1e9, v) for i, v in enumerate(means)]
        stride = max(1, len(pts) // 2000)
        series[c] = pts[::stride]
        tmax = max(tmax, runs[c]["duration_ns"] / 1e9)
        vmax = max([vmax] + [v for _, v in pts])
    p = Plot(f"CPU probe: utilisation over time ({group_ms} ms means)", "time since start (s)",
             "utilisation (1 = idle mean)", (0, max(tmax, 1e-3)), (0, min(vmax, 3.0) * 1.05))
    p.add(f'<line x1="{p.X(0):.1f}" y1="{p.Y(1):.1f}" x2="{p.X(max(tmax, 1e-3)):.1f}" y2="{p.Y(1):.1f}" '
          f'stroke="#999" stroke-dasharray="4,3"/>')
    for c in names:
        d = " ".join(f"{p.X(t):.1f},{p.Y(min(v, 3.0)):.1f}" for t, v in series[c])
        p.add(f'<polyline points="{d}" fill="none" stroke="{COLORS[c]}" stroke-width="1" stroke-opacity="0.8"/>')
    legend(p, names)
    return p.svg()


def chart_scaling(section, key, title, ylabel):
    """One line per collector over the marker counts: `key` of each run's scaling figures."""
    names = [c for c in COLLECTORS if section["runs"].get(c)]
    pts = {c: [(r["scaling"]["markers"], r["scaling"].get(key)) for r in section["runs"][c]
               if r.get("status") == "ok" and r["scaling"].get(key) is not None] for c in names}
    xs = [x for c in names for x, _ in pts[c]]
    ys = [y for c in names for _, y in pts[c]]
    if not xs:
        return "<p>nothing measured</p>"
    xmax = max(xs + [2])
    ymax = max(ys + ([xmax] if key == "speedup" else [])) * 1.1
    p = Plot(title, "marker threads", ylabel, (0, xmax * 1.05), (0, ymax))
    if key == "speedup":  # ideal: speedup = markers
        p.add(f'<line x1="{p.X(1):.1f}" y1="{p.Y(1):.1f}" x2="{p.X(xmax):.1f}" y2="{p.Y(xmax):.1f}" '
              f'stroke="#999" stroke-dasharray="4,3"><title>ideal</title></line>')
    for c in names:
        q = sorted(pts[c])
        if not q:
            continue
        d = " ".join(f"{p.X(x):.1f},{p.Y(y):.1f}" for x, y in q)
        p.add(f'<polyline points="{d}" fill="none" stroke="{COLORS[c]}" stroke-width="2"/>')
        for x, y in q:
            p.add(f'<circle cx="{p.X(x):.1f}" cy="{p.Y(y):.1f}" r="3" fill="{COLORS[c]}">'
                  f'<title>{c}, {x} markers: {y:.3g}</title></circle>')
    legend(p, names)
    return p.svg()


def chart_rss(section, mode):
    """RSS over time for one mode, every collector, time 0 at the drop; log y so the tail near the
    threshold stays readable next to the peak."""
    names = [c for c in COLLECTORS if (section["runs"].get(c) or {}).get(mode, {}).get("status") == "ok"]
    if not names:
        return f"<p>{html.escape(mode)}: nothing measured</p>"
    curves = {}
    for c in names:
        r = section["runs"][c][mode]
        curves[c] = [(t / 1e3, b / 2**20) for t, b in
                     ((row["t_ms_since_drop"], row["rss_bytes"]) for row in series_rows(r, "rss"))]
    t0 = min(t for c in names for t, _ in curves[c])
    t1 = max(t for c in names for t, _ in curves[c])
    vmax = max(v for c in names for _, v in curves[c])
    vmin = min(v for c in names for _, v in curves[c])
    thr = section["small_mb"] * 2
    lo = 10 ** math.floor(math.log10(min(thr * 0.8, max(vmin, 1.0))))
    hi = 10 ** math.ceil(math.log10(vmax * 1.1))
    p = Plot(f"rss-return, {mode}: RSS over time", "seconds since the drop", "RSS (MB, log)",
             (t0, max(t1, 0.1)), (lo, hi), ylog=True)
    p.add(f'<line x1="{p.X(t0):.1f}" y1="{p.Y(thr):.1f}" x2="{p.X(t1):.1f}" y2="{p.Y(thr):.1f}" '
          f'stroke="#c00" stroke-dasharray="4,3"><title>2x live after the drop: {thr:g} MB</title></line>')
    p.add(f'<line x1="{p.X(0):.1f}" y1="{p.mt}" x2="{p.X(0):.1f}" y2="{p.h - p.mb}" stroke="#555" '
          f'stroke-dasharray="2,2"><title>drop</title></line>')
    for c in names:
        q = curves[c][::max(1, len(curves[c]) // 1500)]
        d = " ".join(f"{p.X(t):.1f},{p.Y(v):.1f}" for t, v in q)
        p.add(f'<polyline points="{d}" fill="none" stroke="{COLORS[c]}" stroke-width="1.8"/>')
    legend(p, names)
    return p.svg()


def html_table(head, rows):
    return ("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" +
            "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows) +
            "</table>")


def render_sections_html(report):
    o = []
    sec = report.get("mark_scaling")
    if sec:
        o.append(f"<h2>mark-scaling <small><code>{html.escape(' '.join(sec['args']))}</code> "
                 f"--markers {','.join(str(m) for m in sec['markers'])}</small></h2>")
        o.append(f"<p>{html.escape(scaling_caption(sec))}</p>")
        o.append(html_table(SCALING_HEAD, scaling_rows(sec)))
        o.append('<div class="charts">')
        o.append(chart_scaling(sec, "speedup", "marking speedup (dashed: ideal)", "speedup over 1 marker"))
        o.append(chart_scaling(sec, "mb_per_s", "marking throughput", "MB marked per second"))
        o.append("</div>")
        o.append("<p>tricolor: <code>Config::marker_threads</code> background markers; the collecting "
                 "thread waits in <code>heap.collect()</code> as a blocked thread, automatic collections are "
                 "off (<code>gc_percent -1</code>). Boehm: <code>GC_set_markers_count(n)</code> before "
                 "<code>GC_INIT</code> (like <code>GC_MARKERS=n</code>: n counts the collecting thread), "
                 "<code>GC_start_mark_threads()</code>, collection disabled while the tree is built; its "
                 "marking is a stop-the-world pause, so its mark time is also its pause per collection. "
                 "The machine's other load counts: compare mark ms with mark cpu ms.</p>")
    sec = report.get("rss_return")
    if sec:
        o.append(f"<h2>rss-return <small><code>{html.escape(' '.join(sec['args']))}</code></small></h2>")
        o.append(f"<p>{html.escape(rss_caption(sec))}</p>")
        o.append(html_table(RSS_HEAD, rss_rows(sec)))
        o.append('<div class="charts">')
        for mode in sec["modes"]:
            o.append(chart_rss(sec, mode))
        o.append("</div>")
        o.append("<p>tricolor: its defaults (the scavenger in the background sweeper returns spans free for "
                 "<code>scavenge_delay_ms</code>, 500 ms), the suite's heap limit and pacing. Boehm: Debian's "
                 "libgc with unmapping (blocks free for <code>GC_UNMAP_THRESHOLD</code> collections are "
                 "unmapped at a collection) and <code>GC_set_force_unmap_on_gcollect(1)</code>, so an explicit "
                 "<code>GC_gcollect()</code> unmaps what it can. Dashed red: 2&times; the live data after the "
                 "drop. RSS includes each process's baseline (code, libraries, the collector's metadata).</p>")
    return "\n".join(o)


def render_html(report):
    m = report["meta"]
    o = ["<!DOCTYPE html>", '<html><head><meta charset="utf-8"><title>tricolor benchmark report</title>',
         "<style>body{font-family:sans-serif;margin:20px;max-width:1400px}"
         "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
         "td:first-child,td:nth-child(2),th{text-align:left}.bad{background:#fde0d0}.good{background:#d8f3e8}"
         ".charts{display:flex;flex-wrap:wrap;gap:10px}pre{background:#f6f6f6;padding:8px;overflow:auto}"
         "h2{margin-top:32px;border-bottom:1px solid #ddd}</style></head><body>",
         "<h1>tricolor vs Boehm" + (" vs Go" if m.get("go") else "") + "</h1>",
         f"<p>{html.escape(m['date'])} &middot; {html.escape(m['mode'])} run &middot; "
         f"{m['cpus']} CPUs ({html.escape(m['cpu_model'])}) &middot; commit {html.escape(m['commit'])} &middot; "
         f"heap limit {m['heap_multiple']}&times; each collector's peak live data &middot; "
         f"{m['threads']} mutator threads</p>",
         f"<p>Command: <code>{html.escape(m['command'])}</code></p>"]
    # Summary table, best value per workload highlighted.
    if report["workloads"]:
        o.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in TABLE_HEAD) + "</tr>")
        for row, best in table_rows(report, with_best=True):
            o.append("<tr>" + "".join(f'<td{" class=good" if i in best else ""}>{html.escape(str(c))}</td>'
                                      for i, c in enumerate(row)) + "</tr>")
        o.append("</table>")
        o.append("<pre>" + html.escape("\n".join(TABLE_LEGEND)) + "</pre><p>Green: the best of its workload "
                 "in that column (idle baselines excluded).</p>")
    for wl in report["workloads"]:
        runs = {c: r for c, r in wl["runs"].items() if r.get("status") == "ok"}
        o.append(f"<h2>{html.escape(wl['name'])} <small><code>{html.escape(' '.join(wl['args']))}</code></small></h2>")
        for c, r in wl["runs"].items():
            if r.get("status") != "ok":
                o.append(f"<p><b>{c}</b>: {html.escape(r.get('status', '?'))} "
                         f"{html.escape(r.get('message') or '')}</p>")
        if not runs:
            continue
        o.append('<div class="charts">')
        o.append(chart_histogram(runs))
        o.append(chart_over_time(runs, "pauses", "pauses over time (filled: stop-the-world)", "pause (ms, log)"))
        o.append(chart_over_time(runs, "probe", "latency probe: lateness of a 1 ms sleep", "late (ms, log)"))
        o.append(chart_utilisation(runs))
        o.append(chart_mmu(runs))
        o.append("</div>")
        o.append("<table><tr><th>collector</th><th>kind</th><th>count</th><th>p50 ms</th><th>p90 ms</th>"
                 "<th>p99 ms</th><th>max ms</th><th>total ms</th></tr>")
        for c, r in runs.items():
            rows = list(r["by_kind"].items()) + [("probe lateness", r["probe_summary"])]
            if r.get("probe_above"):
                rows.append((f"probe lateness above {r['baseline']}",
                             dict(r["probe_above"], count=r["probe_summary"]["count"], p90_ms=None,
                                  total_ms=None)))
            if r.get("probe_after_wake", {}).get("max_ms"):
                rows.append(("probe: after the sleep returned", r["probe_after_wake"]))
            for k, s in rows:
                f = fmt_delta if k.startswith("probe lateness above") else fmt_ms
                o.append(f"<tr><td>{c}</td><td>{html.escape(k)}</td><td>{s['count']}</td>" +
                         "".join(f"<td>{f(s[x])}</td>" for x in ("p50_ms", "p90_ms", "p99_ms", "max_ms")) +
                         f"<td>{fmt(s['total_ms'], '{:.1f}')}</td></tr>")
        o.append("</table>")
        o.append("<table><tr><th>collector</th><th>MMU by</th>" +
                 "".join(f"<th>{w} ms</th>" for w in MMU_WINDOWS_MS) + "<th>mean</th><th>note</th></tr>")
        for c, r in runs.items():
            cs = r.get("cpu_probe_summary") or {}
            o.append(f"<tr><td>{c}</td><td>CPU probe</td>" +
                     "".join(f"<td>{fmt(r['cpu_mmu'].get(str(w)), '{:.3f}')}</td>" for w in MMU_WINDOWS_MS) +
                     f"<td>{fmt(r.get('cpu_util_mean'), '{:.3f}')}</td><td>reference: {r.get('baseline') or '-'}'s "
                     f"mean {fmt(r.get('cpu_probe_reference'), '{:.0f}')} units/ms; this run: "
                     f"{fmt(cs.get('mean_count'), '{:.0f}')} units/ms, {cs.get('zero_windows', '-')} empty windows "
                     f"of {cs.get('windows', '-')}, {fmt((cs.get('core_share') or 0) * 100, '{:.0f}')}% of a "
                     f"core</td></tr>")
            if c in IDLE:
                continue
            o.append(f"<tr><td>{c}</td><td>pauses</td>" +
                     "".join(f"<td>{fmt(r['pause_mmu'][str(w)], '{:.3f}')}</td>" for w in MMU_WINDOWS_MS) +
                     f"<td>{fmt(1 - (r['paused_fraction'] or 0), '{:.3f}')}</td><td>every recorded pause "
                     f"as a stop</td></tr>")
            o.append(f"<tr><td>{c}</td><td>global stops</td>" +
                     "".join(f"<td>{fmt(r['pause_mmu_stw'][str(w)], '{:.3f}')}</td>" for w in MMU_WINDOWS_MS) +
                     "<td></td><td>STW pauses only</td></tr>")
        o.append("</table>")
    o.append(render_sections_html(report))
    micro = report.get("micro") or {}
    if micro:
        o.append("<h2>micro benchmarks (Google Benchmark)</h2><table><tr><th>collector</th><th>benchmark</th>"
                 "<th>time/iter</th><th>allocs/op</th><th>bytes/op</th><th>ns/store</th><th>collections</th>"
                 "<th>heap peak MB</th></tr>")
        for c, mrun in micro.items():
            for b in mrun.get("benchmarks", []):
                o.append(f"<tr><td>{c}</td><td>{html.escape(b['name'])}</td>"
                         f"<td>{b['real_time_ns']:.1f} {b.get('time_unit', 'ns')}</td>" +
                         "".join(f"<td>{fmt(b.get(k), '{:g}')}</td>"
                                 for k in ("allocs/op", "bytes/op", "ns/store", "collections", "heap_peak_MB"))
                         + "</tr>")
        o.append("</table><p>MemberStore_MarkingOn: stores timed only in batches that ran wholly while a "
                 "collection was marking (a background thread collects back to back on a ~100 MB heap). "
                 "Boehm's PointerStore is a plain store: it has no barrier in its default mode.</p>")
    o.append("<h2>table as printed</h2><pre>" + html.escape(render_table(report)) + "</pre>")
    o.append("</body></html>")
    return "\n".join(o)


# ---------------------------------------------------------------------------------------------


def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip() or "?"
    except OSError:
        return "?"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def slim(rec):
    """The report keeps every derived figure; the raw pause and probe lists stay in the per-run
    files under bench-runs/ (the HTML is rendered before slimming)."""
    out = {k: v for k, v in rec.items() if k not in ("pauses", "probe", "cpu_probe")}
    out["pause_count"] = len(rec.get("pauses", []))
    out["probe_count"] = len(rec.get("probe", []))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-release"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build"), help="where the reports go")
    ap.add_argument("--full", action="store_true", help="standard sizes (binary-trees 21, quad tree 11)")
    ap.add_argument("--only", default="", help="comma-separated workloads (gcbench, gcbench-mt, "
                    "binary-trees, quad-tree, micro, mark-scaling, rss-return)")
    ap.add_argument("--collectors", default="idle,tricolor,boehm,go-idle,go",
                    help="idle: tricolor-bench with collection off, the baseline of tricolor and Boehm; "
                    "go-idle: GOGC=off, the baseline of Go")
    ap.add_argument("--idle-budget-mb", type=int, default=0, help="RSS at which an idle-collector run "
                    "ends (default: a third of the memory available, at most 4096)")
    ap.add_argument("--threads", type=int, default=2, help="mutator threads of the multi-threaded workloads")
    ap.add_argument("--rounds", type=int, default=20, help="quad-tree churn rounds")
    ap.add_argument("--heap-multiple", type=float, default=2.5)
    ap.add_argument("--timeout", type=int, default=0, help="seconds per process (default 180, 1200 with --full)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per workload and collector; the median "
                    "wall time's run is reported")
    ap.add_argument("--no-micro", action="store_true")
    ap.add_argument("--no-cpu-probe", action="store_true", help="run the workloads without the CPU probe "
                    "(it keeps one thread busy, so wall times are comparable with runs made before it)")
    ap.add_argument("--markers", default="", help="mark-scaling: comma-separated marker counts "
                    "(default 1,2,4,8 up to min(8, cores))")
    ap.add_argument("--scaling-mb", type=int, default=0, help="mark-scaling: live MB (default 200, 1024 "
                    "with --full; scaled down to the memory available)")
    ap.add_argument("--rss-mb", type=int, default=0, help="rss-return: live MB before the drop (default 300, "
                    "1024 with --full; scaled down to the memory available)")
    ap.add_argument("--rss-modes", default=",".join(RSS_MODES), help="rss-return: idle,collect,churn")
    ap.add_argument("--rss-limit-s", type=float, default=10.0, help="rss-return: how long to wait per run")
    ap.add_argument("--churn-mb-s", type=float, default=32.0, help="rss-return churn mode: MB/s of garbage")
    ap.add_argument("--render", metavar="REPORT_JSON", help="re-render table and HTML from a saved report")
    a = ap.parse_args()

    if a.render:
        with open(a.render) as f:
            report = json.load(f)
        def reload(r, fn):
            raw = r.get("raw")
            if raw and os.path.exists(raw):
                with open(raw) as f:
                    return fn(json.load(f))
            return r

        for wl in report["workloads"]:
            for c, r in wl["runs"].items():
                wl["runs"][c] = reload(r, analyse)
            relate(wl["runs"])
        sec = report.get("mark_scaling")
        if sec:
            sec["runs"] = {c: [reload(r, analyse_scaling) for r in recs] for c, recs in sec["runs"].items()}
            scaling_speedups(sec)
        sec = report.get("rss_return")
        if sec:
            sec["runs"] = {c: {m: reload(r, analyse_rss) for m, r in by_mode.items()}
                           for c, by_mode in sec["runs"].items()}
        print(render_table(report))
        out_html = os.path.splitext(a.render)[0] + ".html"
        with open(out_html, "w") as f:
            f.write(render_html(report))
        log(f"wrote {out_html}")
        return 0

    bindir = os.path.join(os.path.abspath(a.build_dir), "bench")
    bins = {"tricolor": os.path.join(bindir, "tricolor-bench"), "boehm": os.path.join(bindir, "boehm-bench")}
    collectors = [c for c in a.collectors.split(",") if c]
    only = [x for x in a.only.split(",") if x]
    unknown = [x for x in only if x not in ALL_NAMES]
    if unknown:
        ap.error(f"--only: unknown {', '.join(unknown)} (known: {', '.join(ALL_NAMES)})")
    timeout = a.timeout or (1200 if a.full else 180)
    os.makedirs(a.out, exist_ok=True)
    runs_dir = os.path.join(a.out, "bench-runs")
    os.makedirs(runs_dir, exist_ok=True)

    go_bin = build_go(a.build_dir) if ("go" in collectors or "go-idle" in collectors) else None
    if "go" in collectors and go_bin is None:
        log("go: not on PATH (TRICOLOR_SETUP_GO=1 tools/setup installs it); no Go column")

    report = {"meta": {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "mode": "full" if a.full else "quick",
        "cpus": os.cpu_count(), "cpu_model": cpu_model(), "commit": git_commit(),
        "heap_multiple": a.heap_multiple, "threads": a.threads, "go": go_bin is not None,
        "repeat": a.repeat,
        "command": " ".join(["tools/bench"] + sys.argv[1:] if os.environ.get("TRICOLOR_BENCH_SCRIPT")
                            else [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
    }, "workloads": [], "micro": {}, "mark_scaling": None, "rss_return": None}

    t_start = time.time()
    for wl in suite(a.full, a.threads, a.rounds):
        if only and wl["name"] not in only:
            continue
        if a.no_cpu_probe:
            wl["args"] = wl["args"] + ["--no-cpu-probe"]
        log(f"{wl['name']}:")
        entry = {"name": wl["name"], "args": wl["args"], "runs": {}, "repeats": {}}
        attempts = {c: [] for c in collectors}
        # Repetitions interleave the collectors, so a noisy stretch of the machine hits all alike.
        for k in range(a.repeat):
            tag = f"-r{k + 1}" if a.repeat > 1 else ""
            for c in collectors:
                if c in ("go", "go-idle"):
                    if go_bin:
                        attempts[c].append(run_go(go_bin, wl, runs_dir, timeout, a.heap_multiple, tag,
                                                  idle_budget(a) if c == "go-idle" else None))
                    continue
                binary = bins["tricolor"] if c == "idle" else bins.get(c, "")
                if not os.path.exists(binary):
                    attempts[c].append(failed_record(c, wl["name"], "not built", binary or c))
                    continue
                extra = ["--idle", "--idle-budget-mb", str(idle_budget(a))] if c == "idle" else []
                attempts[c].append(run_native(c, binary, wl, extra, runs_dir, timeout, a.heap_multiple, tag))
        for c, recs in attempts.items():
            if not recs:
                continue
            bad = [r for r in recs if r.get("status") != "ok"]
            # Any failure is the result; otherwise the run with the median wall time stands for all.
            chosen = bad[0] if bad else sorted(recs, key=lambda r: r["wall_s"])[len(recs) // 2]
            entry["runs"][c] = analyse(chosen)
            if len(recs) > 1:
                entry["repeats"][c] = [r.get("wall_s") if r.get("status") == "ok" else r.get("status")
                                       for r in recs]
        relate(entry["runs"])
        for c, r in entry["runs"].items():
            if r.get("status") == "ok":
                log(f"    {c:9s} {r['wall_s']:.2f} s, {r.get('collections')} GCs, STW max "
                    f"{fmt_ms(r['stw']['max_ms'])} ms, probe max {fmt_ms(r['probe_summary']['max_ms'])} ms, "
                    f"CPU-probe MMU(10 ms) {fmt(r['cpu_mmu'].get('10'))}"
                    + (f" (walls {', '.join(f'{w:.2f}' if isinstance(w, float) else str(w) for w in entry['repeats'][c])})"
                       if c in entry["repeats"] else ""))
            else:
                log(f"    {c:9s} {r.get('status')}: {r.get('message')}")
        report["workloads"].append(entry)

    if not only or "mark-scaling" in only:
        report["mark_scaling"] = run_mark_scaling(a, bins, collectors, runs_dir, timeout)
    if not only or "rss-return" in only:
        report["rss_return"] = run_rss_return(a, bins, collectors, runs_dir, timeout)

    if not a.no_micro and (not only or "micro" in only):
        log("micro:")
        for c in ("tricolor", "boehm"):
            if c not in collectors:
                continue
            b = os.path.join(bindir, f"micro-{c}")
            if os.path.exists(b):
                report["micro"][c] = run_micro(b, c, runs_dir, 1.0 if a.full else 0.2, min(timeout, 240))
    report["meta"]["suite_seconds"] = round(time.time() - t_start, 1)

    print(render_table(report))
    html_path = os.path.join(a.out, "bench-report.html")
    with open(html_path, "w") as f:
        f.write(render_html(report))
    for wl in report["workloads"]:
        wl["runs"] = {c: slim(r) for c, r in wl["runs"].items()}
    if report["mark_scaling"]:
        report["mark_scaling"]["runs"] = {c: [slim(r) for r in recs]
                                          for c, recs in report["mark_scaling"]["runs"].items()}
    if report["rss_return"]:
        report["rss_return"]["runs"] = {c: {m: slim(r) for m, r in by_mode.items()}
                                        for c, by_mode in report["rss_return"]["runs"].items()}
    json_path = os.path.join(a.out, "bench-report.json")
    with open(json_path, "w") as f:
        json.dump(report, f, indent=1)
    log(f"wrote {json_path} and {html_path} (suite took {report['meta']['suite_seconds']} s)")
    failed = [f"{wl['name']}/{c}" for wl in report["workloads"] for c, r in wl["runs"].items()
              if r.get("status") != "ok"]
    if report["mark_scaling"]:
        failed += [f"mark-scaling/{c}/{r.get('params', {}).get('markers')}"
                   for c, recs in report["mark_scaling"]["runs"].items() for r in recs if r.get("status") != "ok"]
    if report["rss_return"]:
        failed += [f"rss-return/{c}/{m}" for c, by_mode in report["rss_return"]["runs"].items()
                   for m, r in by_mode.items() if r.get("status") != "ok"]
    if failed:
        log("not ok: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
