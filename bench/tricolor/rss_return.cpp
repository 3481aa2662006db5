// rss-return on tricolor: the same steps as bench/boehm/rss_return.cpp (see common/workloads.hpp,
// namespace rss_return). The collector runs with its defaults (scavenge_delay_ms from the Config,
// 500 ms unless TRICOLOR_SCAVENGE_MS says otherwise) under the suite's heap limit and pacing.
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <thread>

#include "tricolor/sized_tree.hpp"

namespace bench::tc {
namespace {

using namespace bench::rss_return;

double big_mb(const Options& o) { return o.live_mb < 0 ? kDefaultLiveMb : o.live_mb; }
double small_mb(const Options& o) { return o.small_mb < 0 ? kDefaultSmallMb : o.small_mb; }

// Sleeps until `until` (monotonic ns) as a blocked thread: collections go on without waiting for us.
void sleep_until_ns(std::uint64_t until) {
  const std::uint64_t now = now_ns();
  if (until <= now) return;
  tricolor::BlockingScope sleeping;
  std::this_thread::sleep_for(std::chrono::nanoseconds(until - now));
}

}  // namespace

std::size_t rss_return_live(const Options& o) {
  const std::size_t fp = footprint<SNode>();
  return (sized_tree::nodes_for_mb(big_mb(o), fp) + sized_tree::nodes_for_mb(small_mb(o), fp)) * fp;
}

void rss_return_run(const Options& o, Record& rec, tricolor::Heap& heap) {
  const std::size_t fp = footprint<SNode>();
  const std::uint64_t nb = sized_tree::nodes_for_mb(big_mb(o), fp);
  const std::uint64_t ns = sized_tree::nodes_for_mb(small_mb(o), fp);
  const std::string mode = o.mode.empty() ? "idle" : o.mode;
  const double limit_s = o.limit_s < 0 ? kDefaultLimitS : o.limit_s;
  const double churn_mb_s = o.churn_mb_s < 0 ? kDefaultChurnMbS : o.churn_mb_s;
  const std::size_t small_live = ns * fp;
  const std::size_t threshold = 2 * small_live;
  const std::uint64_t churn_nodes = quad_tree_nodes(kChurnDepth);
  // Trees per 1 ms tick, kept as a running fraction so low rates are exact on average.
  const double trees_per_tick = churn_mb_s * 1048576.0 * (double(kChurnTickNs) / 1e9) / double(churn_nodes * fp);

  rec.note("node_bytes", double(fp));
  rec.note("big_live_bytes", double(nb * fp));
  rec.note("small_live_bytes", double(small_live));
  rec.note("threshold_bytes", double(threshold));
  rec.note("limit_s", limit_s);
  rec.note("churn_mb_s", mode == "churn" ? churn_mb_s : 0);
  rec.note("tricolor_scavenge_delay_ms", heap.config().scavenge_delay_ms);

  RssSampler sampler(kSampleNs);
  rec.note("rss_baseline_bytes", double(current_rss_bytes()));
  tricolor::Global<SNode> small(heap, nullptr, "rss-return small");
  tricolor::Global<SNode> big(heap, nullptr, "rss-return big");
  small = build_sized(ns, sized_tree::kSmallTag);
  big = build_sized(nb, sized_tree::kBigTag);
  rec.mark("grown");
  walk_sized(big, nb, sized_tree::kBigTag);
  const tricolor::Stats s0 = heap.stats();

  // The drop.
  const std::uint64_t t_drop = now_ns();
  rec.note("rss_at_drop_bytes", double(current_rss_bytes()));
  big = nullptr;
  rec.mark("dropped");
  if (mode == "collect") {
    heap.collect();
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
        tricolor::Root<SNode> garbage(build_sized(churn_nodes, kChurnTag));
        if (garbage->check != sized_tree::check(kChurnTag, churn_nodes)) throw std::runtime_error("rss-return: churn tree");
        ++churned;
      }
      tick += kChurnTickNs;
      sleep_until_ns(tick);
    } else {
      tick += kChurnTickNs;
      sleep_until_ns(tick);
    }
  }
  const std::uint64_t t_end = now_ns();
  rec.mark("waited");
  sampler.stop();
  const tricolor::Stats s1 = heap.stats();
  walk_sized(small, ns, sized_tree::kSmallTag);

  note_rss_curve(rec, sampler, t_drop, t_end, threshold);
  rec.note("collections_before_drop", double(s0.cycles));
  rec.note("collections_after_drop", double(s1.cycles - s0.cycles));
  rec.note("churn_bytes", double(churned * churn_nodes * fp));
  rec.note("tricolor_heap_bytes_at_end", double(s1.heap_bytes));
  rec.note("tricolor_committed_bytes_at_end", double(s1.committed_bytes));
  rec.note("tricolor_released_bytes_at_end", double(s1.released_bytes));
  rec.note("tricolor_heap_goal_at_drop", double(s0.heap_goal));
  rec.note("tricolor_live_bytes_last_cycle_at_end", double(s1.live_bytes));
}

}  // namespace bench::tc
