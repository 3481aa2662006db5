"""The statistics of tricolor's benchmark suite, apart from running and rendering (tools/report.py),
so that they can be tested alone (tools/bench_stats_test.py, `meson test bench-stats`).

Every figure of every collector is computed here by the same code from the same kind of raw record:

- pause intervals [start_ns, duration_ns, kind]  -> percentiles, the union of pauses, pause-based MMU;
- latency-probe samples [woke_ns, late_ns, ...]   -> lateness percentiles, and lateness above the
  idle-collector baseline of the same workload;
- CPU-probe counts (units of fixed work completed per 1 ms window) -> a utilisation series relative to
  the idle-collector baseline's mean count per window, and MMU from that series.

analyse() adds a run record's own figures, relate() those against the idle baseline of the same
workload; analyse_scaling() and analyse_rss() summarise the mark-scaling and rss-return sections.

Conventions: percentiles are nearest-rank; times in the raw records are nanoseconds, summaries are
milliseconds; "None" stands for "not measurable" (no samples, window longer than the run).

python3 standard library only.
"""

import bisect
import math

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


# ---------------------------------------------------------------------------------------------
# Percentiles and summaries


def percentile(sorted_vals, q):
    """Nearest-rank percentile of an ascending list (q in 0..100): the smallest value such that at
    least q% of the values are at most it. None when the list is empty."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(math.ceil(q / 100.0 * len(sorted_vals))) - 1))
    return sorted_vals[k]


def summarize(vals_ns):
    """count, p50/p90/p99/max and total of a list of nanosecond durations, in milliseconds."""
    v = sorted(vals_ns)
    ms = lambda x: None if x is None else x / 1e6
    return {"count": len(v), "p50_ms": ms(percentile(v, 50)), "p90_ms": ms(percentile(v, 90)),
            "p99_ms": ms(percentile(v, 99)), "max_ms": ms(v[-1] if v else None),
            "total_ms": sum(v) / 1e6}


def median(vals):
    """The median of the values that are not None (mean of the middle two for an even count)."""
    v = sorted(x for x in vals if x is not None)
    if not v:
        return None
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


# ---------------------------------------------------------------------------------------------
# Pause-based figures


def merge_intervals(pauses, duration_ns):
    """The union of the pause intervals [start, duration, kind...], clipped to [0, duration_ns], as an
    ascending list of disjoint [start, end] pairs."""
    iv = sorted((max(0, p[0]), min(duration_ns, p[0] + p[1])) for p in pauses if p[1] > 0)
    merged = []
    for s, e in iv:
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1][1] = e
        else:
            merged.append([s, e])
    return merged


def pause_mmu(merged, duration_ns, window_ns):
    """Pause-based minimum mutator utilisation for one window length: the least fraction of any
    window of that length inside [0, duration_ns] during which no recorded pause ran.

    The paused time in a sliding window is piecewise linear in the window's start and peaks only
    where the window starts at a pause start or ends at a pause end, so those are the only
    candidates; a two-pointer sweep keeps each window size linear. None when the window is longer
    than the run."""
    if window_ns > duration_ns or duration_ns <= 0:
        return None
    if not merged:
        return 1.0
    cands = sorted({min(max(0, s), duration_ns - window_ns) for s, _ in merged} |
                   {min(max(0, e - window_ns), duration_ns - window_ns) for _, e in merged})
    n = len(merged)
    cum = [0] * (n + 1)  # cum[i]: paused time of intervals [0, i)
    for i, (s, e) in enumerate(merged):
        cum[i + 1] = cum[i] + (e - s)

    def make_paused_before():
        idx = [0]

        def paused_before(t):  # paused time in [0, t]; t must not decrease between calls
            i = idx[0]
            while i < n and merged[i][1] <= t:
                i += 1
            idx[0] = i
            p = cum[i]
            if i < n and merged[i][0] < t:
                p += t - merged[i][0]
            return p
        return paused_before

    at_start, at_end = make_paused_before(), make_paused_before()
    worst = 0
    for t in cands:
        paused = at_end(t + window_ns) - at_start(t)
        if paused > worst:
            worst = paused
    return max(0.0, 1.0 - worst / window_ns)


# ---------------------------------------------------------------------------------------------
# The CPU probe: utilisation series and MMU


def probe_reference(counts):
    """The idle-collector run's mean count per window: utilisation 1.0 in every other run of the same
    workload. Every recorded window counts, those in which the probe did not run included, so that
    the baseline's long-run utilisation is exactly 1 and its short-window dips are the machine's own
    scheduling. None when there is nothing to average."""
    if not counts:
        return None
    mean = sum(counts) / len(counts)
    return mean if mean > 0 else None


def full_speed(counts, q=99):
    """The count of a window in which the probe ran throughout (the q-th percentile of the counts):
    mean / full_speed is the share of one core the probe got on average."""
    return percentile(sorted(counts), q) if counts else None


def utilisation(counts, reference):
    """The utilisation series: each window's count over the reference count per window."""
    if not reference:
        return None
    return [c / reference for c in counts]


def series_mmu(util, window):
    """MMU of a utilisation series for a window of `window` consecutive entries: the least mean
    utilisation over any `window` consecutive entries, at most 1.0 (a window in which the probe did
    more than its idle mean does not count as more than fully utilised). None when the window is
    longer than the series."""
    n = len(util) if util is not None else 0
    if window < 1 or window > n:
        return None
    s = sum(util[:window])
    worst = s
    for i in range(window, n):
        s += util[i] - util[i - window]
        if s < worst:
            worst = s
    return min(1.0, max(0.0, worst / window))


def cpu_probe_mmu(counts, reference, window_ms_list, window_ns=1_000_000):
    """{str(window_ms): MMU} of the CPU probe's counts against the reference, for each window length
    in milliseconds (a multiple of the probe's window)."""
    util = utilisation(counts, reference)
    out = {}
    for w in window_ms_list:
        k = int(round(w * 1_000_000 / window_ns))
        out[str(w)] = series_mmu(util, k) if util is not None else None
    return out


def window_means(util, k):
    """Mean utilisation over consecutive non-overlapping groups of k entries (for plotting)."""
    if not util:
        return []
    return [sum(util[i:i + k]) / len(util[i:i + k]) for i in range(0, len(util), k)]


# ---------------------------------------------------------------------------------------------
# Lateness above the idle baseline


def above(value, baseline):
    """value - baseline, or None where either is missing. Negative where the run did better than its
    baseline (noise): shown as measured, not clamped."""
    if value is None or baseline is None:
        return None
    return value - baseline


def lateness_above(summary, baseline_summary, keys=("p50_ms", "p99_ms", "max_ms")):
    """A probe summary minus the idle baseline's, key by key (percentile minus percentile: the
    lateness the collector adds on top of the machine's own scheduling noise at that rank)."""
    return {k: above(summary.get(k), baseline_summary.get(k)) for k in keys}


# ---------------------------------------------------------------------------------------------
# Histograms


def hist_bins():
    """Log-spaced pause-duration bin edges in ms: 5 per decade from 1 us to 10 s."""
    return [10 ** (k / 5.0) for k in range(-15, 21)]


def histogram(vals_ms, edges):
    """Counts per bin; values below the first edge land in the first bin, above the last in the last."""
    counts = [0] * (len(edges) - 1)
    for v in vals_ms:
        i = bisect.bisect_right(edges, v) - 1
        counts[min(max(i, 0), len(counts) - 1)] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# A run record's figures


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
    rec["stw"] = summarize([p[1] for p in glob])
    rec["thread_pauses"] = summarize([p[1] for p in thread])
    kinds = sorted({p[2] for p in pauses})
    rec["by_kind"] = {k: summarize([p[1] for p in pauses if p[2] == k]) for k in kinds}
    rec["probe_summary"] = summarize([s[1] for s in rec.get("probe", [])])
    # The part of each lateness spent after the sleep returned: for tricolor, leaving the blocking
    # scope plus the safepoint (the collector's doing); Boehm and Go stop threads inside the sleep.
    rec["probe_after_wake"] = summarize([s[2] for s in rec.get("probe", []) if len(s) > 2])
    # Pause-based MMU: every recorded pause counts as stopping the mutators, tricolor's per-thread
    # handshakes and assists included (the pessimistic reading for tricolor: another thread's assist
    # does not stop this one), while Go records only its two stop-the-world phases (gctrace), so the
    # figures are not comparable across collectors; "pause_mmu_stw" counts global stops only. The
    # comparable figure is the CPU probe's (relate()).
    merged_all = merge_intervals(pauses, dur)
    merged_glob = merge_intervals(glob, dur)
    rec["pause_mmu"] = {str(w): pause_mmu(merged_all, dur, w * 1_000_000) for w in MMU_WINDOWS_MS}
    rec["pause_mmu_stw"] = {str(w): pause_mmu(merged_glob, dur, w * 1_000_000) for w in MMU_WINDOWS_MS}
    rec["paused_fraction"] = sum(e - s for s, e in merged_all) / dur if dur else None
    counts = cp.get("counts") or []
    if counts:
        mean = sum(counts) / len(counts)
        fast = full_speed(counts)
        rec["cpu_probe_summary"] = {
            "windows": len(counts), "window_ms": cp.get("window_ns", 1_000_000) / 1e6,
            "mean_count": mean, "full_speed_count": fast,
            # The share of one core the probe got: its mean over the count of a window it ran through.
            "core_share": mean / fast if fast else None,
            "zero_windows": sum(1 for c in counts if c == 0), "dropped": cp.get("dropped", 0)}
    edges = hist_bins()
    rec["pause_histogram"] = {"edges_ms": edges,
                              "stw": histogram([p[1] / 1e6 for p in glob], edges),
                              "thread": histogram([p[1] / 1e6 for p in thread], edges)}
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
        ref = probe_reference((b.get("cpu_probe") or {}).get("counts") or []) if base_ok else None
        r["cpu_probe_reference"] = ref
        r["cpu_mmu"] = cpu_probe_mmu(counts, ref, MMU_WINDOWS_MS) if counts and ref else \
            {str(w): None for w in MMU_WINDOWS_MS}
        r["cpu_util_mean"] = (sum(counts) / len(counts)) / ref if counts and ref else None
        if base_ok and c not in IDLE:
            r["probe_above"] = lateness_above(r["probe_summary"], b["probe_summary"])
        else:
            r["probe_above"] = None
    return runs


def representative(recs):
    """The run that stands for a collector's repeats of one workload, and every run's wall time (or
    its status if it failed): any failure is the result; otherwise the run with the median wall
    time (on a noisy machine a whole process's speed varies, so one run could invert a comparison)."""
    walls = [r.get("wall_s") if r.get("status") == "ok" else r.get("status") for r in recs]
    bad = [r for r in recs if r.get("status") != "ok"]
    chosen = bad[0] if bad else sorted(recs, key=lambda r: r["wall_s"])[len(recs) // 2] if recs else None
    return chosen, walls


def throughput(recs):
    """A workload's throughput figures for one collector, from its runs without the probes (the
    workload alone, as a user runs it; report.py runs them beside the probed runs that the pause
    figures come from): the run with the median wall time stands for all, as for the probed runs,
    and any failure is the result. Process CPU is the whole process's (there is no probe thread to
    leave out). walls: every run's wall time, or its status if it failed."""
    chosen, walls = representative(recs)
    if chosen is None or chosen.get("status") != "ok":
        first = chosen or {"status": "not run", "message": ""}
        return {"status": first.get("status"), "message": first.get("message"), "walls": walls}
    return {"status": "ok", "wall_s": chosen["wall_s"],
            "cpu_s": chosen.get("cpu_user_s", 0) + chosen.get("cpu_sys_s", 0),
            "max_rss_kb": chosen.get("max_rss_kb", 0), "collections": chosen.get("collections"),
            "heap_limit_bytes": chosen.get("heap_limit_bytes"), "walls": walls}


# ---------------------------------------------------------------------------------------------
# mark-scaling and rss-return


def series_rows(rec, name):
    """The rows of a named series of a record as dicts keyed by column."""
    sr = (rec.get("series") or {}).get(name) or {}
    cols = sr.get("columns", [])
    return [dict(zip(cols, row)) for row in sr.get("rows", [])]


def scaling_figures(rows, markers, live):
    """Medians over the timed collections in rows (series_rows of one or more mark-scaling processes)."""
    mark = median([r["mark_wall_ms"] for r in rows])
    return {
        "markers": markers,
        "live_mb": live / 2**20,
        "collections": len(rows),
        "mark_ms": mark,
        "mark_ms_all": [r["mark_wall_ms"] for r in rows],
        "mark_cpu_ms": median([r["mark_cpu_ms"] for r in rows if r["mark_cpu_ms"] >= 0]),
        "stats_mark_ms": median([r.get("stats_mark_wall_ms") for r in rows]),
        "collect_ms": median([r["collect_ms"] for r in rows]),
        "pause_ms": median([r["global_pause_ms"] for r in rows]),
        "process_cpu_ms": median([r["process_cpu_ms"] for r in rows]),
        "mb_per_s": live / 2**20 / (mark / 1e3) if mark else None,
        # Several cycles in one collect() call would make the per-collection figures sums.
        "extra_cycles": sum(1 for r in rows if r["cycles"] != 1),
    }


def scaling_markers(rec):
    return int(rec.get("extra", {}).get("markers", rec.get("params", {}).get("markers", 0)))


def analyse_scaling(rec):
    """Medians over the timed collections of one mark-scaling process (in place)."""
    if rec.get("status") != "ok":
        return rec
    rec["scaling"] = scaling_figures(series_rows(rec, "collections"), scaling_markers(rec),
                                     rec.get("extra", {}).get("live_bytes", 0))
    return rec


def merge_scaling(recs):
    """One mark-scaling record from several processes of the same collector and marker count (each
    already through analyse_scaling): every figure is a median over all the timed collections of all
    the processes, and process_mark_ms lists each process's own median mark time. On a shared or
    virtual machine the speed of a whole process drifts (the same binary's one-marker runs differed by
    1.8x between processes here, while the collections inside one process agreed within 5%), so a
    speedup taken from one process per marker count can swing either way; processes interleaved
    across marker counts and pooled do not. The record kept is the first successful process's (its
    params, log and series; the others' logs are beside it in the runs directory). When none
    succeeded, the first failure is returned, with failed_processes set."""
    ok = [r for r in recs if r.get("status") == "ok" and r.get("scaling", {}).get("mark_ms")]
    if not ok:
        failed = dict(recs[0])
        failed["failed_processes"] = len(recs)
        return failed
    rec = dict(ok[0])
    rows = [row for r in ok for row in series_rows(r, "collections")]
    sc = scaling_figures(rows, scaling_markers(ok[0]), ok[0].get("extra", {}).get("live_bytes", 0))
    sc["processes"] = len(ok)
    sc["failed_processes"] = len(recs) - len(ok)
    sc["process_mark_ms"] = [r["scaling"]["mark_ms"] for r in ok]
    rec["scaling"] = sc
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
