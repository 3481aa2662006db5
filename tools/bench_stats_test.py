#!/usr/bin/env python3
"""Unit tests of tools/bench_stats.py against hand-computed series (meson test: bench-stats)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_stats as bs  # noqa: E402

MS = 1_000_000


def gap_series(n, gap_start, gap_len, level=1.0):
    """n windows at `level`, with gap_len windows of 0 from gap_start."""
    return [0.0 if gap_start <= i < gap_start + gap_len else level for i in range(n)]


class PercentileTest(unittest.TestCase):
    def test_nearest_rank(self):
        v = list(range(1, 11))  # 1..10
        self.assertEqual(bs.percentile(v, 50), 5)
        self.assertEqual(bs.percentile(v, 90), 9)
        self.assertEqual(bs.percentile(v, 99), 10)
        self.assertEqual(bs.percentile(v, 100), 10)
        self.assertEqual(bs.percentile(v, 0), 1)
        self.assertEqual(bs.percentile([7], 99), 7)
        self.assertIsNone(bs.percentile([], 50))

    def test_p99_of_a_hundred_is_the_99th(self):
        v = list(range(1, 101))
        self.assertEqual(bs.percentile(v, 99), 99)
        self.assertEqual(bs.percentile(v + [1000], 99), 100)

    def test_summarize_in_ms(self):
        s = bs.summarize([3 * MS, 1 * MS, 2 * MS])
        self.assertEqual(s["count"], 3)
        self.assertEqual(s["p50_ms"], 2.0)
        self.assertEqual(s["max_ms"], 3.0)
        self.assertEqual(s["total_ms"], 6.0)
        e = bs.summarize([])
        self.assertEqual(e["count"], 0)
        self.assertIsNone(e["p99_ms"])
        self.assertIsNone(e["max_ms"])

    def test_median(self):
        self.assertEqual(bs.median([3, 1, 2]), 2)
        self.assertEqual(bs.median([4, 1, 3, 2]), 2.5)
        self.assertEqual(bs.median([None, 5]), 5)
        self.assertIsNone(bs.median([None]))


class PauseMmuTest(unittest.TestCase):
    def test_merge_overlapping_clipped_and_empty(self):
        pauses = [[10, 5, "a"], [12, 6, "b"], [30, 0, "c"], [-4, 6, "d"], [95, 10, "e"]]
        self.assertEqual(bs.merge_intervals(pauses, 100), [[0, 2], [10, 18], [95, 100]])

    def test_one_5ms_pause_in_100ms(self):
        merged = bs.merge_intervals([[20 * MS, 5 * MS, "stw"]], 100 * MS)
        self.assertEqual(bs.pause_mmu(merged, 100 * MS, 1 * MS), 0.0)
        self.assertEqual(bs.pause_mmu(merged, 100 * MS, 5 * MS), 0.0)
        self.assertAlmostEqual(bs.pause_mmu(merged, 100 * MS, 10 * MS), 0.5)
        self.assertAlmostEqual(bs.pause_mmu(merged, 100 * MS, 20 * MS), 0.75)
        self.assertAlmostEqual(bs.pause_mmu(merged, 100 * MS, 100 * MS), 0.95)
        self.assertIsNone(bs.pause_mmu(merged, 100 * MS, 101 * MS))

    def test_two_pauses_share_a_window(self):
        # 3 ms at 10..13 and 3 ms at 16..19: a 10 ms window holds both (6 ms), a 20 ms one too; a
        # 5 ms window holds at most one whole pause (3 ms).
        merged = bs.merge_intervals([[10 * MS, 3 * MS, "x"], [16 * MS, 3 * MS, "x"]], 100 * MS)
        self.assertAlmostEqual(bs.pause_mmu(merged, 100 * MS, 10 * MS), 0.4)
        self.assertAlmostEqual(bs.pause_mmu(merged, 100 * MS, 20 * MS), 0.7)
        self.assertAlmostEqual(bs.pause_mmu(merged, 100 * MS, 5 * MS), 0.4)
        self.assertAlmostEqual(bs.pause_mmu(merged, 100 * MS, 3 * MS), 0.0)

    def test_no_pauses(self):
        self.assertEqual(bs.pause_mmu([], 100 * MS, 10 * MS), 1.0)


class CpuProbeTest(unittest.TestCase):
    def test_one_5ms_gap_gives_half_at_10ms(self):
        u = gap_series(100, 40, 5)
        self.assertEqual(bs.series_mmu(u, 1), 0.0)
        self.assertEqual(bs.series_mmu(u, 5), 0.0)
        self.assertAlmostEqual(bs.series_mmu(u, 10), 0.5)
        self.assertAlmostEqual(bs.series_mmu(u, 20), 0.75)
        self.assertAlmostEqual(bs.series_mmu(u, 100), 0.95)
        self.assertIsNone(bs.series_mmu(u, 101))
        self.assertIsNone(bs.series_mmu(u, 0))

    def test_gap_at_the_edges(self):
        self.assertAlmostEqual(bs.series_mmu(gap_series(50, 0, 5), 10), 0.5)
        self.assertAlmostEqual(bs.series_mmu(gap_series(50, 45, 5), 10), 0.5)

    def test_partial_windows(self):
        # A window at a quarter of the idle rate next to one at half: the 2 ms MMU is their mean.
        u = [1.0] * 10 + [0.25, 0.5] + [1.0] * 10
        self.assertAlmostEqual(bs.series_mmu(u, 1), 0.25)
        self.assertAlmostEqual(bs.series_mmu(u, 2), 0.375)
        self.assertAlmostEqual(bs.series_mmu(u, 4), (1 + 0.25 + 0.5 + 1) / 4)

    def test_capped_at_one(self):
        self.assertEqual(bs.series_mmu([1.5] * 20, 10), 1.0)

    def test_reference_is_the_idle_mean_counting_idle_windows(self):
        # The idle probe ran every other window at 2000 units: mean 1000 per window.
        idle = [2000, 0] * 50
        ref = bs.probe_reference(idle)
        self.assertEqual(ref, 1000)
        self.assertEqual(bs.full_speed(idle), 2000)
        # Its own MMU shows the scheduling: 0 at 1 ms, 1 at 2 ms, 2/3 at 3 ms.
        mmu = bs.cpu_probe_mmu(idle, ref, [1, 2, 3, 100])
        self.assertEqual(mmu["1"], 0.0)
        self.assertAlmostEqual(mmu["2"], 1.0)
        self.assertAlmostEqual(mmu["3"], 2 / 3)
        self.assertAlmostEqual(mmu["100"], 1.0)
        # A collector run against that reference: 1000 a window with a 5 ms stop.
        run = [0 if 40 <= i < 45 else 1000 for i in range(200)]
        mmu = bs.cpu_probe_mmu(run, ref, [1, 10, 100])
        self.assertEqual(mmu["1"], 0.0)
        self.assertAlmostEqual(mmu["10"], 0.5)
        self.assertAlmostEqual(mmu["100"], 0.95)

    def test_no_reference(self):
        self.assertIsNone(bs.probe_reference([]))
        self.assertIsNone(bs.probe_reference([0, 0]))
        self.assertEqual(bs.cpu_probe_mmu([5, 5], None, [1]), {"1": None})

    def test_agrees_with_pause_mmu_on_aligned_pauses(self):
        # Pauses on whole milliseconds: the utilisation series (0 in a paused millisecond, 1
        # otherwise) and the pause intervals must give the same MMU at every window length.
        paused_ms = {3, 4, 17, 30, 31, 32, 33, 34, 35, 36, 60}
        n = 100
        u = [0.0 if i in paused_ms else 1.0 for i in range(n)]
        pauses = [[i * MS, MS, "stw"] for i in sorted(paused_ms)]
        merged = bs.merge_intervals(pauses, n * MS)
        for w in (1, 2, 5, 7, 10, 20, 50, 100):
            self.assertAlmostEqual(bs.series_mmu(u, w), bs.pause_mmu(merged, n * MS, w * MS), msg=f"window {w}")

    def test_window_means(self):
        self.assertEqual(bs.window_means([1, 1, 0, 0, 1], 2), [1, 0, 1])


class LatenessAboveTest(unittest.TestCase):
    def test_percentile_minus_baseline(self):
        run = {"p50_ms": 0.2, "p99_ms": 3.0, "max_ms": 10.0}
        idle = {"p50_ms": 0.1, "p99_ms": 1.0, "max_ms": 4.0}
        d = bs.lateness_above(run, idle)
        self.assertAlmostEqual(d["p50_ms"], 0.1)
        self.assertAlmostEqual(d["p99_ms"], 2.0)
        self.assertAlmostEqual(d["max_ms"], 6.0)

    def test_negative_is_kept_and_missing_is_none(self):
        d = bs.lateness_above({"p99_ms": 0.5, "max_ms": None}, {"p99_ms": 0.8, "max_ms": 2.0})
        self.assertAlmostEqual(d["p99_ms"], -0.3)
        self.assertIsNone(d["max_ms"])
        self.assertIsNone(d["p50_ms"])


class RelateTest(unittest.TestCase):
    @staticmethod
    def record(collector, counts, lateness_ms, pauses=()):
        n = len(counts)
        return {"collector": collector, "status": "ok", "duration_ns": n * MS, "wall_s": n / 1e3,
                "cpu_user_s": 1.0, "cpu_sys_s": 0.25, "pauses": [list(p) for p in pauses],
                "probe": [[i * MS, int(x * MS), 0] for i, x in enumerate(lateness_ms)],
                "cpu_probe": {"start_ns": 0, "window_ns": MS, "thread_cpu_s": 0.5, "counts": counts}}

    def test_runs_against_their_baseline(self):
        idle = self.record("idle", [2000, 0] * 50, [0.1] * 98 + [1.0, 2.0])
        tc = self.record("tricolor", [0 if 40 <= i < 45 else 1000 for i in range(200)],
                         [0.2] * 98 + [1.5, 2.5], pauses=[[40 * MS, 5 * MS, "mark_termination"]])
        runs = {"idle": bs.analyse(idle), "tricolor": bs.analyse(tc)}
        bs.relate(runs)
        r = runs["tricolor"]
        self.assertEqual(r["baseline"], "idle")
        self.assertEqual(r["cpu_probe_reference"], 1000)
        self.assertAlmostEqual(r["cpu_mmu"]["10"], 0.5)
        self.assertAlmostEqual(r["cpu_mmu"]["100"], 0.95)
        self.assertAlmostEqual(r["pause_mmu"]["10"], 0.5)
        self.assertAlmostEqual(r["cpu_s"], 0.75)  # the CPU probe's thread left out
        self.assertAlmostEqual(r["probe_above"]["p99_ms"], 0.5)
        self.assertAlmostEqual(r["probe_above"]["max_ms"], 0.5)
        b = runs["idle"]
        self.assertIsNone(b["probe_above"])
        self.assertEqual(b["cpu_mmu"]["1"], 0.0)
        self.assertAlmostEqual(b["cpu_mmu"]["2"], 1.0)
        self.assertAlmostEqual(b["cpu_probe_summary"]["core_share"], 0.5)

    def test_no_baseline_no_relative_figures(self):
        runs = {"boehm": bs.analyse(self.record("boehm", [1000] * 20, [0.1] * 20))}
        bs.relate(runs)
        self.assertIsNone(runs["boehm"]["baseline"])
        self.assertIsNone(runs["boehm"]["cpu_mmu"]["10"])
        self.assertIsNone(runs["boehm"]["probe_above"])


class HistogramTest(unittest.TestCase):
    def test_bins_and_overflow(self):
        edges = [1, 10, 100]
        self.assertEqual(bs.histogram([0.5, 1, 9.9, 10, 50, 1000], edges), [3, 3])
        e = bs.hist_bins()
        self.assertAlmostEqual(e[0], 1e-3)
        self.assertAlmostEqual(e[-1], 1e4)


def fake_run(seed, walls=1.0, n_pauses=4000):
    """A run record as a benchmark process writes it, with more pauses than a chart draws."""
    import random
    rnd = random.Random(seed)
    dur = 2_000_000_000
    pauses = sorted([[rnd.randrange(dur), rnd.randrange(1, 5 * MS), rnd.choice(["mark_termination", "assist"])]
                     for _ in range(n_pauses)])
    probe = [[i * MS, rnd.randrange(0, 3 * MS), rnd.randrange(0, MS)] for i in range(3000)]
    return {"status": "ok", "duration_ns": dur, "wall_s": walls, "cpu_user_s": 1.0, "cpu_sys_s": 0.1,
            "collections": 5, "max_rss_kb": 10240, "pauses": pauses, "probe": probe,
            "cpu_probe": {"counts": [rnd.randrange(900, 1000) for _ in range(2000)], "window_ns": MS,
                          "start_ns": 0, "thread_cpu_s": 0.5}}


class RenderTest(unittest.TestCase):
    def test_ties_are_not_wins(self):
        import bench_render as br
        runs = {c: bs.analyse(fake_run(i, walls=w)) for i, (c, w) in
                enumerate([("idle", 0.9), ("tricolor", 1.004), ("boehm", 1.001)])}
        bs.relate(runs)
        self.assertNotIn(2, br.best_cells(runs)["tricolor"])  # both print as 1.00: a tie
        self.assertNotIn(2, br.best_cells(runs)["boehm"])
        runs["boehm"]["wall_s"] = 1.2
        self.assertIn(2, br.best_cells(runs)["tricolor"])
        self.assertNotIn(2, br.best_cells(runs)["boehm"])

    def test_a_saved_report_renders_exactly_as_the_run_did(self):
        import json
        import bench_render as br
        import report as rp
        runs = {c: bs.analyse(fake_run(i)) for i, c in enumerate(["idle", "tricolor", "boehm"])}
        bs.relate(runs)
        report = {"meta": {"date": "d", "mode": "quick", "cpus": 2, "cpu_model": "m", "commit": "c",
                           "heap_multiple": 2.5, "threads": 2, "command": "tools/bench"},
                  "workloads": [{"name": "w", "args": ["1"], "runs": runs}], "micro": {},
                  "mark_scaling": None, "rss_return": None}
        full_html = br.render_html(report)
        report["workloads"][0]["runs"] = {c: rp.slim(r) for c, r in runs.items()}
        saved = json.loads(json.dumps(report))
        self.assertTrue(saved["workloads"][0]["runs"]["tricolor"]["pauses_sampled"])
        self.assertLessEqual(len(saved["workloads"][0]["runs"]["tricolor"]["pauses"]), 2500)
        self.assertEqual(br.render_html(saved), full_html)
        self.assertEqual(br.render_table(saved), br.render_table(report))
        self.assertIn("(sampled)", full_html)


class ThroughputTest(unittest.TestCase):
    """The runs without probes (bench_stats.throughput) and the table columns they fill."""

    @staticmethod
    def rec(wall, rss_mb=10, status="ok"):
        return {"status": status, "message": "m" if status != "ok" else "", "wall_s": wall, "cpu_user_s": 2 * wall,
                "cpu_sys_s": 0.5, "max_rss_kb": rss_mb * 1024, "collections": int(wall * 10),
                "heap_limit_bytes": 1 << 26}

    def test_median_wall_run_stands_for_all(self):
        t = bs.throughput([self.rec(0.9, 30), self.rec(0.5, 10), self.rec(0.7, 20)])
        self.assertEqual(t["status"], "ok")
        self.assertEqual(t["wall_s"], 0.7)
        # Every figure from that one run: CPU is the whole process's (no probe thread to leave out).
        self.assertAlmostEqual(t["cpu_s"], 1.9)
        self.assertEqual(t["max_rss_kb"], 20 * 1024)
        self.assertEqual(t["collections"], 7)
        self.assertEqual(t["walls"], [0.9, 0.5, 0.7])

    def test_a_failure_is_the_result(self):
        t = bs.throughput([self.rec(0.5), self.rec(0.6, status="timeout")])
        self.assertEqual(t["status"], "timeout")
        self.assertEqual(t["walls"], [0.5, "timeout"])
        self.assertEqual(bs.throughput([])["status"], "not run")

    def test_table_takes_wall_and_rss_from_the_runs_alone(self):
        import bench_render as br
        runs = {c: bs.analyse(fake_run(i, walls=w)) for i, (c, w) in
                enumerate([("idle", 2.0), ("tricolor", 0.9), ("boehm", 1.0)])}
        bs.relate(runs)
        wl = {"name": "w", "args": [], "runs": runs,
              "throughput": {"tricolor": bs.throughput([self.rec(0.6, 60)]),
                             "boehm": bs.throughput([self.rec(1.2, 50)])}}
        rows = {r[1]: r for r in br.table_rows({"workloads": [wl]})}
        head = br.TABLE_HEAD
        col = {h: head.index(h) for h in ("wall s", "/Boehm", "RSS MB", "probed: wall /Boehm RSS")}
        self.assertEqual(rows["tricolor"][col["wall s"]], "0.60")
        self.assertEqual(rows["tricolor"][col["/Boehm"]], "0.50x")   # 0.6 alone / Boehm's 1.2 alone
        self.assertEqual(rows["tricolor"][col["RSS MB"]], "60")
        self.assertEqual(rows["tricolor"][col["probed: wall /Boehm RSS"]], "0.90 0.90x 10")  # probed runs
        self.assertEqual(rows["idle"][col["wall s"]], "-")            # the baseline runs probed only
        self.assertEqual(rows["idle"][col["probed: wall /Boehm RSS"]], "2.00 2.00x 10")
        # The best wall is the best alone: tricolor's probed wall (0.9) would also win, Boehm's alone
        # being the better one here must paint Boehm.
        wl["throughput"]["boehm"] = bs.throughput([self.rec(0.5, 50)])
        best = br.best_cells(runs, wl["throughput"])
        self.assertIn(2, best["boehm"])
        self.assertNotIn(2, best["tricolor"])
        # A collector without runs alone in a report that has some is not compared by its probed wall.
        del wl["throughput"]["boehm"]
        self.assertNotIn(2, br.best_cells(runs, wl["throughput"])["tricolor"])

    def test_a_report_without_runs_alone_renders_as_before(self):
        import bench_render as br
        runs = {c: bs.analyse(fake_run(i, walls=w)) for i, (c, w) in enumerate([("tricolor", 0.9), ("boehm", 1.0)])}
        bs.relate(runs)
        rows = {r[1]: r for r in br.table_rows({"workloads": [{"name": "w", "args": [], "runs": runs}]})}
        self.assertEqual(rows["tricolor"][br.TABLE_HEAD.index("wall s")], "0.90")
        self.assertEqual(rows["tricolor"][br.TABLE_HEAD.index("/Boehm")], "0.90x")
        self.assertEqual(rows["tricolor"][br.TABLE_HEAD.index("probed: wall /Boehm RSS")], "-")


class MergeScalingTest(unittest.TestCase):
    COLS = ["mark_wall_ms", "mark_cpu_ms", "stats_mark_wall_ms", "collect_ms", "global_pause_ms",
            "process_cpu_ms", "cycles"]

    def proc(self, mark_ms, status="ok", markers=2):
        """A mark-scaling process as the benchmark writes it, through analyse_scaling."""
        rows = [[m, 2 * m, m, m + 1, 0.0, 10.0, 1] for m in mark_ms]
        rec = {"status": status, "params": {"markers": markers},
               "extra": {"markers": markers, "live_bytes": 100 * 2**20},
               "series": {"collections": {"columns": self.COLS, "rows": rows}}}
        return bs.analyse_scaling(rec)

    def test_pooled_median_over_every_collection(self):
        # Three processes, the middle one slow: the pooled median is a collection of a typical
        # process, not the slow process's median (which one process per marker count could have been).
        m = bs.merge_scaling([self.proc([50, 52, 51]), self.proc([80, 82, 81]), self.proc([49, 50, 53])])
        sc = m["scaling"]
        self.assertEqual(sc["mark_ms"], 52)
        self.assertEqual(sc["processes"], 3)
        self.assertEqual(sc["failed_processes"], 0)
        self.assertEqual(sc["collections"], 9)
        self.assertEqual(sc["process_mark_ms"], [51, 81, 50])
        self.assertEqual(sorted(sc["mark_ms_all"]), [49, 50, 50, 51, 52, 53, 80, 81, 82])
        self.assertAlmostEqual(sc["mb_per_s"], 100.0 / 0.052)
        # Every figure from the same pool: the CPU and collect() medians belong to the same collection.
        self.assertEqual(sc["mark_cpu_ms"], 104)
        self.assertEqual(sc["collect_ms"], 53)
        self.assertEqual(sc["stats_mark_ms"], 52)

    def test_failed_processes_are_counted_not_pooled(self):
        m = bs.merge_scaling([self.proc([], status="failed (1)"), self.proc([40, 42, 41])])
        self.assertEqual(m["status"], "ok")
        self.assertEqual(m["scaling"]["mark_ms"], 41)
        self.assertEqual(m["scaling"]["processes"], 1)
        self.assertEqual(m["scaling"]["failed_processes"], 1)

    def test_all_failed_returns_the_first_failure_counted(self):
        m = bs.merge_scaling([self.proc([], status="timeout"), self.proc([], status="failed (2)")])
        self.assertEqual(m["status"], "timeout")
        self.assertEqual(m["failed_processes"], 2)

    def test_speedup_from_merged_records(self):
        one = bs.merge_scaling([self.proc([100, 100, 100], markers=1), self.proc([130, 130, 130], markers=1),
                                self.proc([100, 102, 98], markers=1)])
        two = bs.merge_scaling([self.proc([52, 50, 51]), self.proc([50, 50, 50]), self.proc([66, 65, 64])])
        section = bs.scaling_speedups({"runs": {"tricolor": [one, two]}})
        self.assertAlmostEqual(section["runs"]["tricolor"][1]["scaling"]["speedup"], 100 / 51)


class RenderNotesTest(unittest.TestCase):
    """The table's notes for repeated runs (bench_render.run_note, scaling_rows)."""

    def test_repeated_walls_are_listed(self):
        import bench_render as br
        note = br.run_note("tricolor", {"extra": {}}, [0.51, 1.18, 0.66])
        self.assertIn("median of walls 0.51/1.18/0.66", note)
        self.assertNotIn("walls", br.run_note("tricolor", {"extra": {}}, [0.5]))
        self.assertIn("failed (1)", br.run_note("boehm", {"extra": {}}, [0.5, "failed (1)", 0.6]))

    def test_scaling_row_lists_processes(self):
        import bench_render as br
        m = MergeScalingTest()
        rec = bs.merge_scaling([m.proc([50, 52, 51], markers=1), m.proc([80, 82, 81], markers=1)])
        rows = br.scaling_rows({"runs": {"tricolor": [rec]}})
        self.assertEqual(rows[0][2], "66.0")  # pooled median of six collections
        self.assertIn("processes 51/81", rows[0][-1])


if __name__ == "__main__":
    unittest.main()
