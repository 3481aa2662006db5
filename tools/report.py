#!/usr/bin/env python3
"""Runs tricolor's benchmark suite side by side with Boehm (and Go where it is installed), then
prints a table and writes build/bench-report.json and build/bench-report.html.

Every workload runs once per collector with the probes, each in its own process
(bench/{tricolor,boehm}/main.cpp write one JSON record each), once more with the collector idle
(tricolor-bench --idle: collection off, no heap limit; Go: GOGC=off), the baseline that shows the
machine's own scheduling noise, and once per collector alone (--no-probe --no-cpu-probe), the run
that wall time, CPU and RSS are taken from (the CPU probe's busy thread competes with the workload);
all of it --repeat times, interleaved. This
file runs the processes; every derived figure -- percentiles, MMU, lateness above the baseline,
histograms -- is computed by one piece of code for every collector (tools/bench_stats.py) from the raw
pause intervals, latency-probe samples and CPU-probe counts, and tools/bench_render.py draws the table
and the HTML.

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
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time

from bench_render import fmt, fmt_ms, fmt_s, fmt_walls, render_html, render_table, sample_points
from bench_stats import (IDLE, analyse, analyse_rss, analyse_scaling, merge_scaling, relate, representative,
                         scaling_speedups, throughput)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def loadavg():
    """The 1-minute load average now (None where unreadable): the machine's other load, which every
    figure of a run shares with the collector."""
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


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
    load0 = loadavg()
    rc, tail = run_process(cmd, dict(os.environ), logp, timeout)
    if rc is None:
        return failed_record(collector, wl["name"], "timeout", f"killed after {timeout} s; log: {logp}")
    if os.path.exists(out) and os.path.getsize(out) > 0:
        try:
            with open(out) as f:
                rec = json.load(f)
            rec["log"] = logp
            rec["raw"] = out
            rec["loadavg"] = [load0, loadavg()]
            return rec
        except json.JSONDecodeError:
            pass
    if rc < 0:
        status = f"crashed ({signal.Signals(-rc).name})"
    else:
        status = f"failed (exit {rc})"
    return failed_record(collector, wl["name"], status, tail.strip().splitlines()[-1] if tail.strip() else logp)


# ---------------------------------------------------------------------------------------------
# Go (optional): the same workloads as small Go programs, with Go's default pacing (GOGC=100), as
# tricolor and Boehm run with their defaults.
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
    env["GOGC"] = "100" if idle_budget_mb is None else "off"
    env["GODEBUG"] = "gctrace=1"
    env.pop("GOMEMLIMIT", None)
    cmd = [binary] + wl["args"] + ["--heap-multiple", str(heap_multiple), "--json", out]
    if idle_budget_mb is not None:
        cmd += ["--idle", "--idle-budget-mb", str(idle_budget_mb)]
    log(f"  {name:9s} GOGC={env['GOGC']} {' '.join(os.path.relpath(c, ROOT) if c == binary else c for c in cmd)}")
    load0 = loadavg()
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
    rec["loadavg"] = [load0, loadavg()]
    # The pauses came from the log: keep them with the record so --render finds them.
    with open(out, "w") as f:
        json.dump(rec, f)
    return rec


# ---------------------------------------------------------------------------------------------
# mark-scaling and rss-return: tricolor and Boehm only (no Go versions), collectors interleaved;
# rss-return runs one process per mode, mark-scaling --scaling-processes per marker count (pooled by
# bench_stats.merge_scaling); --repeat does not apply (both take medians themselves).


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
    procs = max(1, a.scaling_processes)
    section["processes"] = procs
    log(f"mark-scaling: {live_mb} MB live, markers {','.join(map(str, markers))}, {procs} processes each")
    cs = native_collectors(collectors, bins)
    runs = {(c, m): [] for c in cs for m in markers}
    # Interleaved (every marker count and collector once, then again): a drift in the machine's speed
    # lands on all of them alike instead of on one marker count (bench_stats.merge_scaling).
    for p in range(procs):
        for m in markers:
            for c in cs:
                if not os.path.exists(bins[c]):
                    rec = failed_record(c, "mark-scaling", "not built", bins[c])
                    rec["params"] = {"markers": m}
                else:
                    # No heap limit: the heap holds the tree and nothing else.
                    rec = analyse_scaling(run_native(c, bins[c], wl, ["--markers", str(m)], runs_dir, timeout, 0,
                                                     f"-m{m}" + (f"-p{p + 1}" if procs > 1 else "")))
                rec.setdefault("params", {})["markers"] = m
                runs[(c, m)].append(rec)
                if rec.get("status") == "ok":
                    sc = rec["scaling"]
                    log(f"    {c:9s} {m} markers: mark {fmt(sc['mark_ms'], '{:.1f}')} ms "
                        f"({fmt(sc['mb_per_s'], '{:.0f}')} MB/s), marker cpu {fmt(sc['mark_cpu_ms'], '{:.1f}')} ms, "
                        f"STW/GC {fmt_ms(sc['pause_ms'])} ms")
                else:
                    log(f"    {c:9s} {m} markers: {rec.get('status')}: {rec.get('message')}")
    section["runs"] = {c: [merge_scaling(runs[(c, m)]) for m in markers] for c in cs}
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
        for k in ("allocs/op", "bytes/op", "ns/store", "ns/store_median", "collections", "discarded_batches",
                  "heap_peak_MB"):
            if k in b:
                row[k] = b[k]
        rows.append(row)
    return {"collector": collector, "status": "ok", "benchmarks": rows, "context": data.get("context", {})}


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
    """What the report keeps of a run: every derived figure, and of the raw pause and probe lists the
    points the charts draw (sampled as they are: the largest always kept, and a flag saying so), so
    that --render draws the same charts from the report alone, wherever it is opened. The full
    lists stay in the per-run files under bench-runs/."""
    out = {k: v for k, v in rec.items() if k not in ("pauses", "probe")}
    for key in ("pauses", "probe"):
        pts = [p for p in rec.get(key, []) if p[1] > 0]
        kept, sampled = sample_points(pts)
        out[key] = kept
        out[key + "_sampled"] = sampled or bool(rec.get(key + "_sampled"))
    out["pause_count"] = rec.get("pause_count", len(rec.get("pauses", [])))
    out["probe_count"] = rec.get("probe_count", len(rec.get("probe", [])))
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
    ap.add_argument("--repeat", type=int, default=0, help="runs per workload and collector, interleaved; "
                    "the run with the median wall time is reported (default 3, 1 with --full)")
    ap.add_argument("--no-micro", action="store_true")
    ap.add_argument("--no-cpu-probe", action="store_true", help="run the workloads without the CPU probe "
                    "(it keeps one thread busy); the separate runs without probes, for throughput, are then "
                    "not made, and the table's throughput columns come from these runs")
    ap.add_argument("--markers", default="", help="mark-scaling: comma-separated marker counts "
                    "(default 1,2,4,8 up to min(8, cores))")
    ap.add_argument("--scaling-processes", type=int, default=3,
                    help="mark-scaling: processes per collector and marker count, interleaved; the figures "
                         "are medians over all their timed collections (default 3)")
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
        # Exactly the saved run: the report carries every figure and chart point (slim()); nothing
        # is re-read from bench-runs/ or re-analysed, so the result does not depend on where it is
        # opened or on the analysis code of the day.
        with open(a.render) as f:
            report = json.load(f)
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
    # Three runs each at default sizes: on a small or virtual machine a whole process's speed varies
    # (the same binary's quad-tree wall was 0.51-1.18 s in single runs on this project's 2-core VM),
    # so one run per collector can invert a comparison. --full's runs are long; they run once.
    a.repeat = a.repeat or (1 if a.full else 3)
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
        entry = {"name": wl["name"], "args": wl["args"], "runs": {}, "repeats": {}, "throughput": {}}
        attempts = {c: [] for c in collectors}
        # Throughput runs: the workload alone, without either probe. The CPU probe keeps a thread
        # busy for the whole run: on a 2-core machine it takes a third of the cores from a 2-thread
        # workload, and it makes every tricolor handshake round wait until each preempted mutator is
        # scheduled again (gcbench-mt: rounds of 2-4 ms instead of 0.2 ms, most of the run inside
        # rounds), so wall time, CPU and RSS are measured without it and reported beside the probed
        # runs' (which every pause and MMU figure comes from). Not for the idle baselines, whose wall
        # time is no throughput figure, nor when the probed runs have no CPU probe already.
        unprobed_wl = {"name": wl["name"], "args": wl["args"] + ["--no-probe", "--no-cpu-probe"]}
        unprobed = {c: [] for c in collectors if c not in IDLE and not a.no_cpu_probe}
        # Repetitions interleave the collectors, so a noisy stretch of the machine hits all alike.
        for k in range(a.repeat):
            for probed in (True, False):
                tag = (f"-r{k + 1}" if a.repeat > 1 else "") if probed else f"-u{k + 1}"
                work = wl if probed else unprobed_wl
                for c in collectors:
                    if not probed and c not in unprobed:
                        continue
                    into = attempts[c] if probed else unprobed[c]
                    if c in ("go", "go-idle"):
                        if go_bin:
                            into.append(run_go(go_bin, work, runs_dir, timeout, a.heap_multiple, tag,
                                               idle_budget(a) if c == "go-idle" else None))
                        continue
                    binary = bins["tricolor"] if c == "idle" else bins.get(c, "")
                    if not os.path.exists(binary):
                        into.append(failed_record(c, wl["name"], "not built", binary or c))
                        continue
                    extra = ["--idle", "--idle-budget-mb", str(idle_budget(a))] if c == "idle" else []
                    into.append(run_native(c, binary, work, extra, runs_dir, timeout, a.heap_multiple, tag))
        for c, recs in unprobed.items():
            if recs:
                entry["throughput"][c] = throughput(recs)
        for c, recs in attempts.items():
            if not recs:
                continue
            chosen, walls = representative(recs)
            entry["runs"][c] = analyse(chosen)
            if len(recs) > 1:
                entry["repeats"][c] = walls
        relate(entry["runs"])
        for c, t in entry["throughput"].items():
            if t.get("status") == "ok":
                log(f"    {c:9s} alone: {t['wall_s']:.2f} s, {t.get('collections')} GCs, RSS "
                    f"{t['max_rss_kb'] / 1024:.0f} MB (walls {fmt_walls(t['walls'], ', ')})")
            else:
                log(f"    {c:9s} alone: {t.get('status')}: {t.get('message')}")
        for c, r in entry["runs"].items():
            if r.get("status") == "ok":
                log(f"    {c:9s} {r['wall_s']:.2f} s, {r.get('collections')} GCs, STW max "
                    f"{fmt_ms(r['stw']['max_ms'])} ms, probe max {fmt_ms(r['probe_summary']['max_ms'])} ms, "
                    f"CPU-probe MMU(10 ms) {fmt(r['cpu_mmu'].get('10'))}"
                    + (f" (walls {fmt_walls(entry['repeats'][c], ', ')})"
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

    # Slimmed first and rendered from what is saved: --render on the JSON gives the same table and HTML.
    for wl in report["workloads"]:
        wl["runs"] = {c: slim(r) for c, r in wl["runs"].items()}
    if report["mark_scaling"]:
        report["mark_scaling"]["runs"] = {c: [slim(r) for r in recs]
                                          for c, recs in report["mark_scaling"]["runs"].items()}
    if report["rss_return"]:
        report["rss_return"]["runs"] = {c: {m: slim(r) for m, r in by_mode.items()}
                                        for c, by_mode in report["rss_return"]["runs"].items()}
    print(render_table(report))
    html_path = os.path.join(a.out, "bench-report.html")
    with open(html_path, "w") as f:
        f.write(render_html(report))
    json_path = os.path.join(a.out, "bench-report.json")
    with open(json_path, "w") as f:
        json.dump(report, f, indent=1)
    log(f"wrote {json_path} and {html_path} (suite took {report['meta']['suite_seconds']} s)")
    failed = [f"{wl['name']}/{c}" for wl in report["workloads"] for c, r in wl["runs"].items()
              if r.get("status") != "ok"]
    failed += [f"{wl['name']}/{c} alone" for wl in report["workloads"]
               for c, t in (wl.get("throughput") or {}).items() if t.get("status") != "ok"]
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
