"""The output of tricolor's benchmark suite: the table tools/bench prints and the self-contained HTML
report with inline SVG charts, from a report whose figures tools/bench_stats.py computed
(tools/report.py runs the processes; `tools/report.py --render` redraws a saved report).

python3 standard library only.
"""

import html
import math

from bench_stats import (COLLECTORS, GLOBAL_KINDS, IDLE, MMU_WINDOWS_MS, hist_bins, rss_harder,
                         series_rows, utilisation, window_means)

COLORS = {"idle": "#888888", "tricolor": "#1b9e77", "boehm": "#d95f02", "go-idle": "#bcbddc", "go": "#7570b3"}


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


def fmt_walls(walls, sep="/"):
    """Every repetition's wall time, or its status where it failed."""
    return sep.join(f"{w:.2f}" if isinstance(w, (int, float)) else str(w) for w in walls)


def alone(wl, c):
    """The throughput figures of collector c on workload wl from its runs without probes
    (bench_stats.throughput), or None where there are none: an idle baseline, a report made with
    --no-cpu-probe or before those runs existed (the table then takes the probed run's)."""
    return (wl.get("throughput") or {}).get(c)


def best_cells(runs, throughput=None):
    """For each collector, the table columns in which it alone has the best value of its workload:
    lowest wall time (of the runs without probes where there are some), lowest STW max, lowest probe
    p99 above the idle baseline, highest CPU-probe MMU(10 ms). Values are compared as the table
    prints them, and a tie for the best paints no cell: a win is a difference the reader can see.
    The idle baselines take no part."""
    ok = {c: r for c, r in runs.items() if r.get("status") == "ok" and c not in IDLE}
    throughput = throughput or {}

    def wall(c, r):
        if not throughput:  # a report without runs alone: the probed walls, as before
            return r["wall_s"]
        t = throughput.get(c)  # never a probed wall against the others' walls alone
        return t["wall_s"] if t is not None and t.get("status") == "ok" else None

    keys = {2: (wall, lambda v: f"{v:.2f}"),
            6: (lambda c, r: r["stw"]["max_ms"] or 0.0, fmt_ms),
            9: (lambda c, r: (r.get("probe_above") or {}).get("p99_ms"), fmt_delta),
            10: (lambda c, r: None if r["cpu_mmu"].get("10") is None else -r["cpu_mmu"]["10"],
                 lambda v: f"{-v:.2f}")}
    best = {c: set() for c in runs}
    if len(ok) < 2:
        return best
    for col, (key, shown) in keys.items():
        vals = {c: key(c, r) for c, r in ok.items() if key(c, r) is not None}
        if len(vals) < 2:
            continue
        winner = min(vals, key=vals.get)
        if sum(1 for v in vals.values() if shown(v) == shown(vals[winner])) == 1:
            best[winner].add(col)
    return best


def run_note(c, r, repeats=None, t=None):
    """The table's note for one run: what the reader needs to weigh its figures. repeats: the wall
    times of every repetition of this workload and collector, when there were several (the row is the
    run with the median wall time); t: the collector's runs without probes (alone()), whose walls
    come first when there are several."""
    note = []
    if t and len(t.get("walls") or []) > 1:
        note.append("walls alone " + fmt_walls(t["walls"]))
    if repeats and len(repeats) > 1:
        note.append(("probed " if t else "median of walls ") + fmt_walls(repeats))
    ex = r.get("extra") or {}
    if c in IDLE:
        note.append("baseline, collection off")
        if ex.get("idle_truncated"):
            note.append(f"ended at the RSS budget ({ex.get('idle_budget_bytes', 0) / 2**20:.0f} MB)")
    cs = r.get("cpu_probe_summary")
    if cs and cs.get("core_share") is not None:
        note.append(f"cpu probe had {cs['core_share'] * 100:.0f}% of a core")
    la = r.get("loadavg") or []
    if len(la) == 2 and None not in la:
        note.append(f"load {la[0]:.1f}->{la[1]:.1f}")
    if r.get("pauses_truncated"):
        note.append("pauses truncated")
    if r.get("probe_dropped"):
        note.append(f"{r['probe_dropped']} probe samples dropped")
    return "; ".join(note)


def table_rows(report, with_best=False):
    rows = []
    for wl in report["workloads"]:
        runs = wl["runs"]
        has_alone = bool(wl.get("throughput"))
        best = best_cells(runs, wl.get("throughput"))
        base = runs.get("boehm")
        base_wall = base.get("wall_s") if base and base.get("status") == "ok" else None
        base_t = alone(wl, "boehm")
        base_alone = base_t.get("wall_s") if base_t and base_t.get("status") == "ok" else None
        for c in COLLECTORS:
            r = runs.get(c)
            if r is None:
                continue
            t = alone(wl, c)
            if r.get("status") != "ok":
                cells = [wl["name"], c, r.get("status", "?")] + [""] * 12 + [(r.get("message") or "")[:60]]
                rows.append((cells, set()) if with_best else cells)
                continue
            truncated = bool((r.get("extra") or {}).get("idle_truncated"))
            # wall, /Boehm, cpu s, GCs, RSS MB of a run (probed) or of the runs alone (t).
            figures = lambda x, base, mark="": [f"{x['wall_s']:.2f}" + mark,
                                                fmt(x["wall_s"] / base if base and not mark else None, "{:.2f}x"),
                                                f"{x['cpu_s']:.2f}", str(x.get("collections", "-")),
                                                f"{x.get('max_rss_kb', 0) / 1024:.0f}"]
            probed = figures(r, base_wall, "*" if truncated else "")
            if t is not None and t.get("status") == "ok":
                main = figures(t, base_alone)
            elif t is not None:
                main = [t.get("status", "?"), "-", "-", "-", "-"]
            elif has_alone:  # an idle baseline: only probed runs
                main = ["-"] * 5
            else:  # no runs without probes in this report: the probed run's figures, as they were
                main, probed = probed, None
            probed = " ".join((probed[0], probed[1], probed[4])) if probed else "-"
            stw, pr, ab = r["stw"], r["probe_summary"], r.get("probe_above")
            cells = [
                wl["name"], c, main[0], main[1], main[2], main[3],
                "/".join(fmt_ms(stw[k]) for k in ("p50_ms", "p99_ms", "max_ms")) if stw["count"] else "-",
                "/".join(fmt_ms(r["thread_pauses"][k]) for k in ("p99_ms", "max_ms"))
                if r["thread_pauses"]["count"] else "-",
                "/".join(fmt_ms(pr[k]) for k in ("p99_ms", "max_ms")) if pr["count"] else "-",
                "/".join(fmt_delta(ab[k]) for k in ("p99_ms", "max_ms")) if ab else "-",
                "/".join(fmt(r["cpu_mmu"].get(w), "{:.2f}") for w in ("1", "10", "100")),
                "/".join(fmt(r["pause_mmu"][w], "{:.2f}") for w in ("1", "10")),
                main[4],
                f"{r.get('heap_limit_bytes', 0) / 2**20:.0f}" if r.get("heap_limit_bytes") else "-",
                probed,
                run_note(c, r, (wl.get("repeats") or {}).get(c), t),
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
              "pause-MMU 1/10ms", "RSS MB", "limit MB", "probed: wall /Boehm RSS", "note"]

# What each figure counts, printed under the table and in the HTML.
TABLE_LEGEND = [
    "wall s, /Boehm, cpu s, GCs, RSS MB: the workload alone, in runs without either probe, as a user",
    "     runs it (the median-wall run of the repeats; /Boehm: against Boehm's run alone). Every pause,",
    "     probe and MMU column comes from the runs with both probes; probed: those runs' wall, its ratio",
    "     to Boehm's probed wall, and their RSS. The CPU probe keeps a thread busy all along: on 2 cores it",
    "     takes a third of the machine from a 2-thread workload, and a tricolor handshake round then waits",
    "     for each preempted mutator to be scheduled again. (A report without runs alone: every column",
    "     from the probed runs, and probed \"-\".)",
    "idle: the same workload on tricolor with collection off and no heap limit (tricolor-bench --idle),",
    "      the baseline of tricolor and Boehm (go-idle: GOGC=off, Go's). It shows the machine's own noise;",
    "      it touches fresh memory for every allocation, so its wall time is no throughput baseline",
    "      (* = ended at its RSS budget); it runs with the probes only. cpu s: process CPU (in a probed",
    "      run, without the CPU probe's own thread).",
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
            if len(sc.get("process_mark_ms", [])) > 1:
                note.append("processes " + "/".join(f"{x:.0f}" for x in sc["process_mark_ms"]))
            elif len(sc["mark_ms_all"]) > 1:
                note.append("runs " + "/".join(f"{x:.0f}" for x in sc["mark_ms_all"]))
            if sc.get("failed_processes"):
                n = sc["failed_processes"]
                note.append(f"{n} process{'es' if n > 1 else ''} failed")
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
    procs = section.get("processes", 1)
    per = (f"{procs} processes per collector and marker count, interleaved; medians over all their timed "
           f"collections (processes: each one's own median)" if procs > 1 else "one process per marker count")
    return (f"mark-scaling: one live quad tree of {section['live_mb']:g} MB, no other objects; per process a "
            f"warm-up and {section['collections']} timed full collections; {per}. speedup: mark time with "
            f"the fewest markers / with these.")


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
                     "  ".join(f"{c:>30s}" for c in ("tricolor", "boehm")))
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
                    med = f" (median {b['ns/store_median']:.2f})" if "ns/store_median" in b else ""
                    cells.append(f"{b['ns/store']:.2f} ns/store{med}")
                else:
                    cells.append(f"{b['real_time_ns']:.1f} ns/op {b.get('allocs/op', 0):.0f} alloc/op")
            lines.append(f"  {n:32s}" + "  ".join(f"{x:>30s}" for x in cells))
    if rows or micro:
        lines.append("")
        lines.extend(TABLE_LEGEND)
        lines.append(f"Heap limit = {report['meta']['heap_multiple']}x each collector's own peak live bytes.")
    sec = report.get("mark_scaling")
    if sec:
        lines.append("")
        lines.append(scaling_caption(sec))
        lines.extend(text_table(SCALING_HEAD, scaling_rows(sec)))
        lines.append("mark ms: marking wall time per collection (tricolor: start of the barrier round to the end "
                     "of termination, handshake rounds, not pauses; Boehm: GC_EVENT_MARK_START..END, world "
                     "stopped). STW ms/GC: global pauses per collection.")
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
    stride = max(1, -(-len(rest) // (keep - len(top))))  # rounded up: never more than `keep` in all
    return top + rest[::stride], True


def chart_histogram(runs):
    """Pause counts per duration bin, log-log: stop-the-world pauses solid, per-thread pauses
    (tricolor's handshakes and assists) pale, so thousands of tiny assists do not hide one long stop."""
    edges = hist_bins()
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
    p = Plot("pause durations: how many recorded pauses fell in each duration bin (solid: stop-the-world, pale: per-thread)", "pause (ms, log)", "pauses (log)",
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
        # A saved report keeps the sampled points (tools/report.py, slim()) and says it sampled them.
        sampled |= s or bool(r.get(key + "_sampled"))
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
    p = Plot("minimum mutator utilisation: the smallest share of any window of that length left to the program (solid: CPU probe, dashed: recorded pauses)", "window (ms, log)", "MMU", (1, 1000), (0, 1), xlog=True)
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
        util = utilisation(cp["counts"], runs[c]["cpu_probe_reference"])
        k = max(1, int(group_ms * 1e6 / cp.get("window_ns", 1e6)))
        means = window_means(util, k)
        t0 = cp.get("start_ns", 0) / 1e9
        pts = [(t0 + (i + 0.5) * k * cp.get("window_ns", 1e6) / 1e9, v) for i, v in enumerate(means)]
        stride = max(1, len(pts) // 2000)
        series[c] = pts[::stride]
        tmax = max(tmax, runs[c]["duration_ns"] / 1e9)
        vmax = max([vmax] + [v for _, v in pts])
    p = Plot(f"CPU probe: its work per window over its idle-run mean, over time ({group_ms} ms means)", "time since start (s)",
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
    p = Plot(f"rss-return, {mode}: the process's resident memory over time", "seconds since the drop", "RSS (MB, log)",
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
        o.append(chart_scaling(sec, "speedup", "marking speedup: one marker's mark time over N markers' (dashed: ideal)", "speedup over 1 marker"))
        o.append(chart_scaling(sec, "mb_per_s", "marking throughput: MB of live heap marked per second of mark time", "MB marked per second"))
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
        o.append(chart_over_time(runs, "pauses", "pauses over time: one dot per recorded pause, at its start (filled: stop-the-world)", "pause (ms, log)"))
        o.append(chart_over_time(runs, "probe", "latency probe: one dot per 1 ms sleep, how late it woke", "late (ms, log)"))
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
                 "<th>time/iter</th><th>allocs/op</th><th>bytes/op</th><th>ns/store</th><th>median batch ns/store</th>"
                 "<th>collections</th><th>heap peak MB</th></tr>")
        for c, mrun in micro.items():
            for b in mrun.get("benchmarks", []):
                o.append(f"<tr><td>{c}</td><td>{html.escape(b['name'])}</td>"
                         f"<td>{b['real_time_ns']:.1f} {b.get('time_unit', 'ns')}</td>" +
                         "".join(f"<td>{fmt(b.get(k), '{:g}')}</td>"
                                 for k in ("allocs/op", "bytes/op", "ns/store", "ns/store_median", "collections",
                                           "heap_peak_MB"))
                         + "</tr>")
        o.append("</table><p>MemberStore_MarkingOn: stores timed only in batches that ran wholly while a "
                 "collection was marking (a background thread collects back to back on a ~100 MB heap). "
                 "ns/store is the mean over the batches; the median batch leaves out those that the "
                 "collector's own threads preempted on a machine with few cores. "
                 "Boehm's PointerStore is a plain store: it has no barrier in its default mode.</p>")
    o.append("<h2>table as printed</h2><pre>" + html.escape(render_table(report)) + "</pre>")
    o.append("</body></html>")
    return "\n".join(o)
