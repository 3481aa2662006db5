// rss-return on Boehm: the steps of bench/tricolor/rss_return.cpp (see common/workloads.hpp,
// namespace rss_return).
//
// Returning memory: Debian's libgc is built with unmapping (USE_MUNMAP): at a collection, heap blocks
// that have stayed free for GC_UNMAP_THRESHOLD collections (the library's default unless that
// variable is set) are returned to the OS. On top of that default this workload calls
// GC_set_force_unmap_on_gcollect(1), so that an explicit GC_gcollect() (the "collect" mode) unmaps
// every free block at once, the nearest Boehm has to tricolor's scavenger; it changes nothing for
// the collections Boehm starts by itself (the "churn" mode).
//
// The big tree hangs from a static variable and is built and dropped in functions of their own, so
// no stale copy of its root stays in a live stack frame (Boehm scans stacks conservatively).
#include <chrono>
#include <stdexcept>
#include <thread>

#include "boehm/sized_tree.hpp"

namespace bench::boehm {
namespace {

using namespace bench::rss_return;

SNode* g_small;  // static roots, scanned by Boehm
SNode* g_big;

double big_mb(const Options& o) { return o.live_mb < 0 ? kDefaultLiveMb : o.live_mb; }
double small_mb(const Options& o) { return o.small_mb < 0 ? kDefaultSmallMb : o.small_mb; }

[[gnu::noinline]] void grow(std::uint64_t nb, std::uint64_t ns) {
  g_small = build_sized(ns, sized_tree::kSmallTag);
  g_big = build_sized(nb, sized_tree::kBigTag);
}
[[gnu::noinline]] void check_big(std::uint64_t nb) { walk_sized(g_big, nb, sized_tree::kBigTag); }
[[gnu::noinline]] void drop() { g_big = nullptr; }

[[gnu::noinline]] void churn_one(std::uint64_t nodes) {
  SNode* garbage = build_sized(nodes, kChurnTag);
  if (garbage->check != sized_tree::check(kChurnTag, nodes)) throw std::runtime_error("rss-return: churn tree");
}

void sleep_until_ns(std::uint64_t until) {
  const std::uint64_t now = now_ns();
  if (until > now) std::this_thread::sleep_for(std::chrono::nanoseconds(until - now));
}

}  // namespace

std::size_t rss_return_live(const Options& o) {
  const std::size_t fp = footprint(sizeof(SNode));
  return (sized_tree::nodes_for_mb(big_mb(o), fp) + sized_tree::nodes_for_mb(small_mb(o), fp)) * fp;
}

void rss_return_run(const Options& o, Record& rec) {
  const std::size_t fp = footprint(sizeof(SNode));
  const std::uint64_t nb = sized_tree::nodes_for_mb(big_mb(o), fp);
  const std::uint64_t ns = sized_tree::nodes_for_mb(small_mb(o), fp);
  const std::string mode = o.mode.empty() ? "idle" : o.mode;
  const double limit_s = o.limit_s < 0 ? kDefaultLimitS : o.limit_s;
  const double churn_mb_s = o.churn_mb_s < 0 ? kDefaultChurnMbS : o.churn_mb_s;
  const std::size_t small_live = ns * fp;
  const std::size_t threshold = 2 * small_live;
  const std::uint64_t churn_nodes = quad_tree_nodes(kChurnDepth);
  const double trees_per_tick = churn_mb_s * 1048576.0 * (double(kChurnTickNs) / 1e9) / double(churn_nodes * fp);
  GC_set_force_unmap_on_gcollect(1);

  rec.note("node_bytes", double(fp));
  rec.note("big_live_bytes", double(nb * fp));
  rec.note("small_live_bytes", double(small_live));
  rec.note("threshold_bytes", double(threshold));
  rec.note("limit_s", limit_s);
  rec.note("churn_mb_s", mode == "churn" ? churn_mb_s : 0);
  rec.note("boehm_force_unmap_on_gcollect", GC_get_force_unmap_on_gcollect());

  RssSampler sampler(kSampleNs);
  rec.note("rss_baseline_bytes", double(current_rss_bytes()));
  grow(nb, ns);
  rec.mark("grown");
  check_big(nb);
  const GcTotals g0 = gc_totals();

  const std::uint64_t t_drop = now_ns();
  rec.note("rss_at_drop_bytes", double(current_rss_bytes()));
  drop();
  rec.mark("dropped");
  if (mode == "collect") {
    GC_gcollect();
    rec.mark("collected");
  }

  const std::uint64_t deadline = t_drop + static_cast<std::uint64_t>(limit_s * 1e9);
  double owed_trees = 0;
  std::uint64_t churned = 0;
  for (std::uint64_t tick = now_ns();;) {
    if (sampler.latest_ns() > t_drop && sampler.latest_rss() < threshold) break;
    if (now_ns() >= deadline) break;
    if (mode == "churn") {
      for (owed_trees += trees_per_tick; owed_trees >= 1; owed_trees -= 1) {
        churn_one(churn_nodes);
        ++churned;
      }
    }
    tick += kChurnTickNs;
    sleep_until_ns(tick);
  }
  const std::uint64_t t_end = now_ns();
  rec.mark("waited");
  sampler.stop();
  const GcTotals g1 = gc_totals();
  walk_sized(g_small, ns, sized_tree::kSmallTag);

  note_rss_curve(rec, sampler, t_drop, t_end, threshold);
  rec.note("collections_before_drop", double(g0.collections));
  rec.note("collections_after_drop", double(g1.collections - g0.collections));
  rec.note("churn_bytes", double(churned * churn_nodes * fp));
  rec.note("boehm_heap_bytes_at_end", double(GC_get_heap_size()));
  rec.note("boehm_unmapped_bytes_at_end", double(GC_get_unmapped_bytes()));
  rec.note("boehm_memory_use_at_end", double(GC_get_memory_use()));
}

}  // namespace bench::boehm
