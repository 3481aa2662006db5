// rss-return (see common/workloads.hpp, namespace rss_return): grow a big and a small tree, drop the
// big one, then sample RSS until it is below twice the small live heap (or the time limit), idle,
// after one explicit collection, or while churning short-lived trees. Each collector runs with its
// defaults (gc::Runtime::rss_return_setup says what is set) under the suite's heap limit and pacing.
//
// The trees hang from GlobalRoots and are built, checked and dropped in functions of their own, so
// no stale copy of the big tree's root stays in a live stack frame (Boehm scans stacks conservatively).
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "workloads/sized_tree.hpp"
#include "workloads/table.hpp"

namespace bench {
namespace {

using namespace bench::rss_return;

double big_mb(const Options& o) { return o.live_mb < 0 ? kDefaultLiveMb : o.live_mb; }
double small_mb(const Options& o) { return o.small_mb < 0 ? kDefaultSmallMb : o.small_mb; }

[[gnu::noinline]] void grow(gc::GlobalRoot<SNode>& small, gc::GlobalRoot<SNode>& big, std::uint64_t nb, std::uint64_t ns) {
  small = build_sized(ns, sized_tree::kSmallTag);
  big = build_sized(nb, sized_tree::kBigTag);
}
[[gnu::noinline]] void check_big(const gc::GlobalRoot<SNode>& big, std::uint64_t nb) {
  walk_sized(big, nb, sized_tree::kBigTag);
}
[[gnu::noinline]] void drop(gc::GlobalRoot<SNode>& big) { big = nullptr; }
[[gnu::noinline]] void churn_one(std::uint64_t nodes) {
  gc::LocalRoot<SNode> garbage(build_sized(nodes, kChurnTag));
  if (garbage->check != sized_tree::check(kChurnTag, nodes)) throw std::runtime_error("rss-return: churn tree");
}

// Sleeps until `until` (monotonic ns) as a blocked thread: collections go on without waiting for us.
void sleep_until_ns(std::uint64_t until) {
  const std::uint64_t now = now_ns();
  if (until <= now) return;
  gc::Blocking sleeping;
  std::this_thread::sleep_for(std::chrono::nanoseconds(until - now));
}

}  // namespace

std::size_t rss_return_live(const Options& o) {
  const std::size_t fp = gc::footprint<SNode>();
  return (sized_tree::nodes_for_mb(big_mb(o), fp) + sized_tree::nodes_for_mb(small_mb(o), fp)) * fp;
}

void rss_return_run(const Options& o, Record& rec, gc::Runtime& rt) {
  const std::size_t fp = gc::footprint<SNode>();
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
  rt.rss_return_setup(rec);

  RssSampler sampler(kSampleNs);
  rec.note("rss_baseline_bytes", double(current_rss_bytes()));
  gc::GlobalRoot<SNode> small(rt, "rss-return small");
  gc::GlobalRoot<SNode> big(rt, "rss-return big");
  grow(small, big, nb, ns);
  rec.mark("grown");
  check_big(big, nb);
  const gc::Runtime::Totals s0 = rt.totals();

  // The drop.
  const std::uint64_t t_drop = now_ns();
  rec.note("rss_at_drop_bytes", double(current_rss_bytes()));
  drop(big);
  rec.mark("dropped");
  if (mode == "collect") {
    rt.collect();
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
  const gc::Runtime::Totals s1 = rt.totals();
  walk_sized(small, ns, sized_tree::kSmallTag);

  note_rss_curve(rec, sampler, t_drop, t_end, threshold);
  rec.note("collections_before_drop", double(s0.cycles()));
  rec.note("collections_after_drop", double(s1.cycles() - s0.cycles()));
  rec.note("churn_bytes", double(churned * churn_nodes * fp));
  rt.rss_return_notes(rec, s0, s1);
}

}  // namespace bench
