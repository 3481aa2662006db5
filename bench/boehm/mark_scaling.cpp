// mark-scaling on Boehm: the steps of bench/tricolor/mark_scaling.cpp. The marker count is set with
// GC_set_markers_count(--markers) before GC_INIT (bench/boehm/main.cpp; it counts the collecting
// thread, like GC_MARKERS), and the marker threads are started explicitly (they otherwise start
// with the first registered thread, and this workload has none). Collection is disabled while the
// tree is built, so the timed GC_gcollect() calls are the only collections on the full heap.
// Boehm marks with the world stopped: each collection's marking time is a pause.
#include <algorithm>
#include <stdexcept>

#include "boehm/sized_tree.hpp"

namespace bench::boehm {
namespace {

SNode* g_tree;  // in the data segment: a root Boehm scans

std::uint64_t nodes(const Options& o, std::size_t node_bytes) {
  return sized_tree::nodes_for_mb(o.live_mb < 0 ? mark_scaling::kDefaultLiveMb : o.live_mb, node_bytes);
}

}  // namespace

std::size_t mark_scaling_live(const Options& o) {
  const std::size_t fp = footprint(sizeof(SNode));
  return nodes(o, fp) * fp;
}

void mark_scaling_run(const Options& o, Record& rec) {
  const std::size_t fp = footprint(sizeof(SNode));
  const std::uint64_t n = nodes(o, fp);
  const int collections = o.collections < 0 ? mark_scaling::kDefaultCollections : o.collections;
  GC_start_mark_threads();
  rec.note("markers", GC_get_parallel() + 1);
  rec.note("nodes", double(n));
  rec.note("live_bytes", double(n * fp));
  rec.note("node_bytes", double(fp));

  GC_disable();
  g_tree = build_sized(n, sized_tree::kScaleTag);
  GC_enable();
  rec.mark("tree built");
  GC_gcollect();  // warm-up
  rec.mark("warm-up collection");

  Record::Series& rows = rec.add_series(
      "collections", {"collect_ms", "mark_wall_ms", "mark_cpu_ms", "live_bytes", "cycles", "global_pause_ms",
                      "global_pause_max_ms", "process_cpu_ms", "stats_mark_wall_ms"});
  for (int i = 0; i < collections; ++i) {
    const GcTotals g0 = gc_totals();
    double u0, sy0, u1, sy1;
    long rss;
    process_usage(&u0, &sy0, &rss);
    const std::uint64_t t0 = now_ns();
    GC_gcollect();
    const std::uint64_t t1 = now_ns();
    process_usage(&u1, &sy1, &rss);
    const GcTotals g1 = gc_totals();
    double pause_ms = 0, pause_max_ms = 0;
    for (std::size_t k = g0.pauses; k < g1.pauses; ++k) {
      const double d = double(recorded_pause(k).duration_ns) / 1e6;
      pause_ms += d;
      pause_max_ms = std::max(pause_max_ms, d);
    }
    // Boehm has no marker CPU counter: mark_cpu_ms is -1 (process CPU of the collection is given).
    const double mark_ms = double(g1.mark_ns - g0.mark_ns) / 1e6;
    rows.rows.push_back({double(t1 - t0) / 1e6, mark_ms, -1.0, double(GC_get_memory_use()),
                         double(g1.collections - g0.collections), pause_ms, pause_max_ms,
                         (u1 + sy1 - u0 - sy0) * 1e3, mark_ms});
  }
  rec.mark("timed collections");
  walk_sized(g_tree, n, sized_tree::kScaleTag);
}

}  // namespace bench::boehm
