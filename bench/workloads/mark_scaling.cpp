// mark-scaling: marking throughput of full collections on one large live tree, with the marker
// thread count the process was started with (--markers: tricolor's Config::marker_threads, Boehm's
// GC_set_markers_count). Only the explicit collections run on the full heap (tricolor: gc_percent -1
// and no limit; Boehm: collection disabled while the tree is built). tricolor's main thread waits in
// collect() as a blocked thread, so its marker threads do all the marking and no mutator competes with
// them for the cores; Boehm marks with the world stopped, so each collection's marking is a pause.
#include <algorithm>
#include <stdexcept>

#include "workloads/sized_tree.hpp"
#include "workloads/table.hpp"

namespace bench {
namespace {

std::uint64_t nodes(const Options& o, std::size_t node_bytes) {
  return sized_tree::nodes_for_mb(o.live_mb < 0 ? mark_scaling::kDefaultLiveMb : o.live_mb, node_bytes);
}

}  // namespace

std::size_t mark_scaling_live(const Options& o) {
  const std::size_t fp = gc::footprint<SNode>();
  return nodes(o, fp) * fp;
}

void mark_scaling_configure(const Options&, gc::Settings& s) { gc::Runtime::explicit_collections_only(s); }

void mark_scaling_run(const Options& o, Record& rec, gc::Runtime& rt) {
  const std::size_t fp = gc::footprint<SNode>();
  const std::uint64_t n = nodes(o, fp);
  const int collections = o.collections < 0 ? mark_scaling::kDefaultCollections : o.collections;
  rec.note("markers", rt.markers());
  rec.note("nodes", double(n));
  rec.note("live_bytes", double(n * fp));
  rec.note("node_bytes", double(fp));

  gc::GlobalRoot<SNode> tree(rt, "mark-scaling");
  {
    gc::Runtime::BuildWithoutCollections building;
    tree = build_sized(n, sized_tree::kScaleTag);
  }
  rec.mark("tree built");
  rt.collect();  // warm-up: first touch of the mark bitmaps, marker threads woken once
  rec.mark("warm-up collection");

  // mark_wall_ms: tricolor: Stats::mark_wall_ms's delta, which runs from the start of the cycle's
  // barrier round to the end of its termination (both handshake rounds, not pauses), or over the one
  // full stop in stop-the-world mode; Boehm: GC_EVENT_MARK_START to MARK_END. Kept
  // under both names for the report's older readers.
  Record::Series& rows = rec.add_series(
      "collections", {"collect_ms", "mark_wall_ms", "mark_cpu_ms", "live_bytes", "cycles", "global_pause_ms",
                      "global_pause_max_ms", "process_cpu_ms", "stats_mark_wall_ms"});
  for (int i = 0; i < collections; ++i) {
    const gc::Runtime::Totals s0 = rt.totals();
    double u0, sy0, u1, sy1;
    long rss;
    process_usage(&u0, &sy0, &rss);
    const std::uint64_t t0 = now_ns();
    rt.collect();
    const std::uint64_t t1 = now_ns();
    process_usage(&u1, &sy1, &rss);
    const gc::Runtime::Totals s1 = rt.totals();
    const gc::Runtime::PauseSum pauses = gc::Runtime::global_pauses_since(s0, s1, t0);
    const double mark_ms = s1.mark_wall_ms() - s0.mark_wall_ms();
    const double cpu_ms = gc::Runtime::kHasMarkCpu ? s1.mark_cpu_ms() - s0.mark_cpu_ms() : -1.0;
    rows.rows.push_back({double(t1 - t0) / 1e6, mark_ms, cpu_ms, s1.live_bytes(), double(s1.cycles() - s0.cycles()),
                         pauses.total_ms, pauses.max_ms, (u1 + sy1 - u0 - sy0) * 1e3, mark_ms});
  }
  rec.mark("timed collections");
  walk_sized(tree, n, sized_tree::kScaleTag);
}

}  // namespace bench
