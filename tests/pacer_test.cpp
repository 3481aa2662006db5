// The pacer (gc/pacer.*) simulated alone, as Go's mgcpacer_test.go does: no heap, no threads. A
// cycle model drives the pacer's public functions with synthetic figures:
//   - the mutator allocates in span-sized steps; the heap counts live + everything allocated since the
//     last termination (Collector::heap_live(): after a cycle it starts at live + allocated-during-mark);
//   - at heap >= trigger() marking starts; background markers scan `scan_per_byte` bytes per byte the
//     mutator allocates (their speed relative to the mutator), and each step the mutator also owes
//     assist_work(step, heap, scanned), which it scans itself;
//   - marking ends when the live heap is scanned; end_cycle(live, allocated during mark).
// The figures each scenario checks are properties (a bound, a trend, a comparison between scenarios),
// never values copied from a run.
#include "gc/pacer.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

using tricolor::Config;
using tricolor::internal::Pacer;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kStep = 64 * 1024;  // a span's worth of allocation

struct CycleRecord {
  std::size_t live = 0;        // the live heap this cycle marked
  std::size_t trigger = 0;     // trigger() and goal() the cycle ran under
  std::size_t goal = 0;
  std::size_t heap_at_end = 0; // the heap when marking ended (its peak)
  std::size_t scan = 0;        // total scan work (== live)
  std::size_t assist = 0;      // the part of it the mutator did as assists
  double assist_share() const { return scan == 0 ? 0 : double(assist) / double(scan); }
};

class Simulation {
 public:
  explicit Simulation(const Config& c) : pacer_(c) {}

  // One cycle: allocate up to the trigger, then mark `live` bytes while allocating.
  CycleRecord cycle(std::size_t live, double scan_per_byte) {
    CycleRecord r;
    r.live = live;
    r.trigger = pacer_.trigger();
    r.goal = pacer_.goal();
    while (heap_ < r.trigger) heap_ += kStep;
    std::size_t scanned = 0, during = 0;
    while (scanned < live) {
      const std::size_t owed = pacer_.assist_work(kStep, heap_, scanned);
      REQUIRE(owed <= live - scanned);  // never more than what is left to scan
      heap_ += kStep;
      during += kStep;
      r.assist += owed;
      scanned += owed;
      scanned = std::min(live, scanned + static_cast<std::size_t>(scan_per_byte * double(kStep)));
    }
    r.scan = live;
    r.heap_at_end = heap_;
    pacer_.end_cycle(live, during);
    heap_ = live + during;  // objects allocated during the mark were born black
    return r;
  }

  std::vector<CycleRecord> run(std::size_t cycles, std::size_t live, double scan_per_byte) {
    std::vector<CycleRecord> out;
    for (std::size_t i = 0; i < cycles; ++i) out.push_back(cycle(live, scan_per_byte));
    return out;
  }

  const Pacer& pacer() const { return pacer_; }

 private:
  Pacer pacer_;
  std::size_t heap_ = 0;
};

Config pacer_config(int gc_percent, std::size_t soft_limit = 0) {
  Config c;
  c.gc_percent = gc_percent;
  c.soft_limit = soft_limit;
  c.initial_heap = 4 * kMiB;
  return c;
}

double relative_change(std::size_t a, std::size_t b) {
  return std::abs(double(a) - double(b)) / double(std::max<std::size_t>(a, 1));
}

double mean_assist_share(const std::vector<CycleRecord>& v, std::size_t from) {
  double sum = 0;
  for (std::size_t i = from; i < v.size(); ++i) sum += v[i].assist_share();
  return sum / double(v.size() - from);
}

}  // namespace

TEST_CASE("pacer: the goal and trigger follow the documented formulas", "[pacer]") {
  const Config c = pacer_config(100);
  Pacer p(c);
  // Before any cycle: the first collection comes at the initial heap.
  CHECK(p.goal() >= c.initial_heap);
  CHECK(p.trigger() <= p.goal());
  for (std::size_t live : {8 * kMiB, 64 * kMiB, 512 * kMiB}) {
    for (std::size_t during : {std::size_t{0}, live / 50, live / 4}) {
      p.end_cycle(live, during);
      CHECK(p.last_live() == live);
      const double goal = double(live) * (1 + c.gc_percent / 100.0);
      CHECK(double(p.goal()) == Approx(std::max(goal, double(c.initial_heap))).epsilon(1e-6));
      const double span = double(p.goal()) - double(live);
      CHECK(double(p.trigger()) >= double(live) + 0.35 * span - 1);
      CHECK(double(p.trigger()) <= double(live) + 0.95 * span + 1);
    }
  }
}

TEST_CASE("pacer: assist work is zero once the live heap is scanned and grows with what is taken", "[pacer]") {
  Pacer p(pacer_config(100));
  const std::size_t live = 64 * kMiB;
  p.end_cycle(live, 4 * kMiB);
  // At the trigger the schedule expects nothing yet: no assist.
  CHECK(p.assist_work(kStep, p.trigger(), 0) == 0);
  // Halfway to the goal with nothing scanned the background is behind.
  const std::size_t heap = p.trigger() + (p.goal() - p.trigger()) / 2;
  CHECK(p.assist_work(kStep, heap, live) == 0);
  CHECK(p.assist_work(kStep, heap, live + 1) == 0);
  const std::size_t small = p.assist_work(kStep, heap, 0);
  const std::size_t large = p.assist_work(4 * kStep, heap, 0);
  CHECK(small > 0);
  CHECK(large >= small);
  // Less headroom (the heap closer to the goal) means more work per byte taken.
  CHECK(p.assist_work(kStep, p.goal() - 2 * kMiB, 0) > p.assist_work(kStep, heap, 0));
  // Less remaining work means less owed.
  CHECK(p.assist_work(kStep, heap, live / 4) < small);
  // Halfway along the runway half the work is due: ahead of that nothing is owed, behind it never
  // more than the deficit, however much is taken.
  CHECK(p.assist_work(std::size_t{1} << 30, heap, live / 2 + 1) == 0);
  CHECK(p.assist_work(std::size_t{1} << 30, heap, live / 4) <= live / 4 + kMiB);
  CHECK(p.assist_work(std::size_t{1} << 30, heap, live / 4) >= live / 4 - kMiB);
  // At or past the goal the headroom is floored (1 MiB), and the debt never exceeds what is left.
  CHECK(p.assist_work(std::size_t{1} << 30, p.goal() + kMiB, live - kMiB) <= kMiB);
}

TEST_CASE("pacer: steady state: the goal converges, the trigger settles, assists stay a minority", "[pacer]") {
  Simulation sim(pacer_config(100));
  const std::size_t live = 64 * kMiB;
  // Background marking scans 10 bytes per byte the mutator allocates: a mark allocates ~10% of live.
  const auto cycles = sim.run(20, live, 10.0);
  const std::size_t warm = 5;
  for (std::size_t i = warm; i < cycles.size(); ++i) {
    INFO("cycle " << i << ": trigger " << cycles[i].trigger << " goal " << cycles[i].goal << " heap at end "
                  << cycles[i].heap_at_end << " assist share " << cycles[i].assist_share());
    CHECK(cycles[i].goal == cycles[i - 1].goal);                            // converged
    CHECK(relative_change(cycles[i - 1].trigger, cycles[i].trigger) < 0.01);  // stable
    CHECK(cycles[i].trigger > live);
    CHECK(cycles[i].trigger < cycles[i].goal);
    CHECK(cycles[i].heap_at_end <= cycles[i].goal);                         // marking ends by the goal
  }
  CHECK(double(cycles.back().goal) == Approx(double(live) * 2).epsilon(1e-6));
}

// Assists are charged only for the work the background markers are behind on (pacer.hpp): with
// markers ten times the allocation rate they are never behind, so the mutator does (almost) no scan
// work, and the trigger does not creep toward the goal (the runway is measured from marks the
// background did alone). Without the schedule the share settled near 57%.
TEST_CASE("pacer: steady state: assists are rare when the background markers keep up", "[pacer]") {
  Simulation sim(pacer_config(100));
  const auto cycles = sim.run(20, 64 * kMiB, 10.0);
  const double steady = mean_assist_share(cycles, 5);
  INFO("steady-state assist share " << steady << "; trigger moved from " << cycles[1].trigger << " to "
                                    << cycles.back().trigger << " under a goal of " << cycles.back().goal);
  CHECK(steady < 0.1);
  CHECK(cycles.back().trigger <= cycles[1].trigger);
}

TEST_CASE("pacer: phase change: the live heap doubles and the trigger adapts within a few cycles", "[pacer]") {
  Simulation sim(pacer_config(100));
  const std::size_t live = 64 * kMiB;
  const auto before = sim.run(10, live, 10.0);
  const auto after = sim.run(10, 2 * live, 10.0);
  // The first cycle that marked the doubled heap sets the goal from it.
  CHECK(after[1].goal == 2 * before.back().goal);
  // Within three cycles the trigger sits at the same fraction of the goal as before the change, and
  // marking ends by the goal.
  const double ratio_before = double(before.back().trigger) / double(before.back().goal);
  for (std::size_t i = 3; i < after.size(); ++i) {
    INFO("cycle " << i << " after the change: trigger " << after[i].trigger << " goal " << after[i].goal);
    CHECK(std::abs(double(after[i].trigger) / double(after[i].goal) - ratio_before) < 0.02);
    CHECK(after[i].heap_at_end <= after[i].goal);
    CHECK(after[i].trigger > 2 * live);
  }
}

TEST_CASE("pacer: a fast allocator near the soft limit: the goal stays under it, assists grow", "[pacer]") {
  const std::size_t live = 64 * kMiB;
  const std::size_t limit = live * 3 / 2;  // below the gc_percent goal (2 * live), above live * 1.25
  Simulation slow(pacer_config(100));
  Simulation fast(pacer_config(100, limit));
  const auto calm = slow.run(15, live, 10.0);
  // Background marking scans as much as the mutator allocates: a mark allocates ~live bytes, more
  // than the whole headroom under the limit.
  const auto pressed = fast.run(15, live, 1.0);
  for (std::size_t i = 1; i < pressed.size(); ++i) {
    INFO("cycle " << i << ": goal " << pressed[i].goal << " heap at end " << pressed[i].heap_at_end);
    CHECK(pressed[i].goal <= limit);
    CHECK(pressed[i].goal >= live * 5 / 4);  // the floor that bounds the collector's CPU share
    CHECK(pressed[i].trigger < pressed[i].goal);
  }
  // Assists take over what the background markers cannot do in time.
  const double calm_share = mean_assist_share(calm, 5), pressed_share = mean_assist_share(pressed, 5);
  INFO("assist share: calm " << calm_share << ", near the limit " << pressed_share);
  CHECK(pressed_share > calm_share);
  CHECK(pressed_share > 0.5);
  // And they hold the heap near the goal: without them the heap would end a cycle at trigger + live.
  for (std::size_t i = 5; i < pressed.size(); ++i) CHECK(pressed[i].heap_at_end < pressed[i].trigger + live / 2);
}

TEST_CASE("pacer: gc_percent off", "[pacer]") {
  SECTION("without a soft limit nothing triggers a cycle") {
    Pacer p(pacer_config(-1));
    CHECK(p.trigger() == SIZE_MAX);
    p.end_cycle(64 * kMiB, 8 * kMiB);
    CHECK(p.trigger() == SIZE_MAX);
    CHECK(p.goal() == SIZE_MAX);
  }
  SECTION("with a soft limit the limit is the goal") {
    const std::size_t live = 64 * kMiB, limit = 4 * live;
    Simulation sim(pacer_config(-1, limit));
    const auto cycles = sim.run(10, live, 10.0);
    for (std::size_t i = 1; i < cycles.size(); ++i) {
      CHECK(cycles[i].goal == limit);
      CHECK(cycles[i].trigger > live);
      CHECK(cycles[i].trigger < limit);
      CHECK(cycles[i].heap_at_end <= limit);
    }
  }
  SECTION("a hard limit acts as a soft one below it") {
    Config c = pacer_config(-1);
    c.max_heap = 256 * kMiB;
    Pacer p(c);
    p.end_cycle(64 * kMiB, 0);
    CHECK(p.goal() < c.max_heap);
    CHECK(p.goal() >= c.max_heap * 9 / 10);
  }
}
