// mark-scaling on tricolor: marking throughput of full collections on one large live tree, with the
// marker thread count the process was started with (--markers -> Config::marker_threads). The same
// steps as bench/boehm/mark_scaling.cpp.
//
// Automatic collections are off (gc_percent -1, no limit), so the heap holds only the tree and the
// only cycles are the explicit ones. The main thread waits in heap.collect() as a blocked thread, so
// the marker threads do all the marking and no mutator competes with them for the cores.
#include <algorithm>
#include <stdexcept>
#include <thread>

#include "tricolor/sized_tree.hpp"

namespace bench::tc {
namespace {

bool is_global(tricolor::PauseKind k) {
  return k == tricolor::PauseKind::kMarkStart || k == tricolor::PauseKind::kMarkTermination ||
         k == tricolor::PauseKind::kFullStop;
}

std::uint64_t nodes(const Options& o) {
  return sized_tree::nodes_for_mb(o.live_mb < 0 ? mark_scaling::kDefaultLiveMb : o.live_mb, footprint<SNode>());
}

}  // namespace

std::size_t mark_scaling_live(const Options& o) { return nodes(o) * footprint<SNode>(); }

void mark_scaling_configure(const Options&, tricolor::Config& cfg) {
  cfg.gc_percent = -1;  // explicit collections only
  cfg.max_heap = 0;
}

void mark_scaling_run(const Options& o, Record& rec, tricolor::Heap& heap) {
  const std::uint64_t n = nodes(o);
  const int collections = o.collections < 0 ? mark_scaling::kDefaultCollections : o.collections;
  const unsigned markers = heap.config().marker_threads != 0
                               ? heap.config().marker_threads
                               : std::max(1u, std::thread::hardware_concurrency() / 2);  // the heap's default
  rec.note("markers", markers);
  rec.note("nodes", double(n));
  rec.note("live_bytes", double(n * footprint<SNode>()));
  rec.note("node_bytes", double(footprint<SNode>()));

  tricolor::Global<SNode> tree(heap, nullptr, "mark-scaling");
  tree = build_sized(n, sized_tree::kScaleTag);
  rec.mark("tree built");
  heap.collect();  // warm-up: first touch of the mark bitmaps, marker threads woken once
  rec.mark("warm-up collection");

  // mark_wall_ms: Stats::mark_wall_ms's delta, which runs from the start of the cycle's barrier round
  // (mark start is a ragged handshake, not a pause) to the end of its termination stop, or over the
  // one full stop in stop-the-world mode. Kept under both names for the report's older readers.
  Record::Series& rows = rec.add_series(
      "collections", {"collect_ms", "mark_wall_ms", "mark_cpu_ms", "live_bytes", "cycles", "global_pause_ms",
                      "global_pause_max_ms", "process_cpu_ms", "stats_mark_wall_ms"});
  for (int i = 0; i < collections; ++i) {
    const tricolor::Stats s0 = heap.stats();
    double u0, sy0, u1, sy1;
    long rss;
    process_usage(&u0, &sy0, &rss);
    const std::uint64_t t0 = now_ns();
    heap.collect();
    const std::uint64_t t1 = now_ns();
    process_usage(&u1, &sy1, &rss);
    const tricolor::Stats s1 = heap.stats();
    double pause_ms = 0, pause_max_ms = 0;
    bool any = false;
    for (const tricolor::Pause& p : s1.pauses) {
      if (p.start_ns < t0 || !is_global(p.kind)) continue;
      any = true;
      pause_ms += double(p.duration_ns) / 1e6;
      pause_max_ms = std::max(pause_max_ms, double(p.duration_ns) / 1e6);
    }
    if (!any) throw std::runtime_error("mark-scaling: a collection recorded no global pause");
    rows.rows.push_back({double(t1 - t0) / 1e6, s1.mark_wall_ms - s0.mark_wall_ms, s1.mark_cpu_ms - s0.mark_cpu_ms,
                         double(s1.live_bytes), double(s1.cycles - s0.cycles), pause_ms, pause_max_ms,
                         (u1 + sy1 - u0 - sy0) * 1e3, s1.mark_wall_ms - s0.mark_wall_ms});
  }
  rec.mark("timed collections");
  walk_sized(tree, n, sized_tree::kScaleTag);
}

}  // namespace bench::tc
