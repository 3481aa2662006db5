"""The statistics of tricolor's benchmark suite, apart from running and rendering (tools/report.py),
so that they can be tested alone (tools/bench_stats_test.py, `meson test bench-stats`).

Every figure of every collector is computed here by the same code from the same kind of raw record:

- pause intervals [start_ns, duration_ns, kind]  -> percentiles, the union of pauses, pause-based MMU;
- latency-probe samples [woke_ns, late_ns, ...]   -> lateness percentiles, and lateness above the
  idle-collector baseline of the same workload;
- CPU-probe counts (units of fixed work completed per 1 ms window) -> a utilisation series relative to
  the idle-collector baseline's mean count per window, and MMU from that series.

Conventions: percentiles are nearest-rank; times in the raw records are nanoseconds, summaries are
milliseconds; "None" stands for "not measurable" (no samples, window longer than the run).

python3 standard library only.
"""

import bisect
import math


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
