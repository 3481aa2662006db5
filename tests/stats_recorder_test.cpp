// The stats recorder (gc/stats_recorder.*): every pause is classified (global stops kept in full,
// per-thread ones in a log histogram), the summaries match the recorded durations (global percentiles
// exact by nearest rank, per-thread ones within the histogram's 1/16 octave), the recent list keeps
// the last kMaxRecent pauses in order, and a minimum mutator utilisation computed from that list equals
// the one computed from what was recorded.
#include "gc/stats_recorder.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

using namespace tricolor;
using namespace tricolor::internal;

namespace {

// Minimum mutator utilisation over windows of w ns inside [begin, end): the least fraction of any
// window not covered by a pause. The worst window starts at a pause's start or ends at a pause's end,
// so only those windows are evaluated. Pauses must not overlap (global stops do not).
double mmu(const std::vector<Pause>& pauses, std::uint64_t begin, std::uint64_t end, std::uint64_t w) {
  auto paused_in = [&](std::uint64_t a, std::uint64_t b) {
    std::uint64_t sum = 0;
    for (const Pause& p : pauses) {
      const std::uint64_t lo = std::max(a, p.start_ns), hi = std::min(b, p.start_ns + p.duration_ns);
      if (hi > lo) sum += hi - lo;
    }
    return sum;
  };
  double worst = 1;
  for (const Pause& p : pauses)
    for (std::uint64_t a : {p.start_ns, p.start_ns + p.duration_ns >= w ? p.start_ns + p.duration_ns - w : 0}) {
      a = std::clamp(a, begin, end - w);
      worst = std::min(worst, 1 - double(paused_in(a, a + w)) / double(w));
    }
  return worst;
}

std::uint64_t nearest_rank(std::vector<std::uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * double(v.size())))];
}

}  // namespace

TEST_CASE("stats recorder: global pauses are summarised exactly", "[stats_recorder]") {
  StatsRecorder r;
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> durations;
  std::uint64_t t = 1000;
  for (int i = 0; i < 501; ++i) {
    const std::uint64_t d = 1000 + rng() % 5'000'000;
    r.record(i % 2 == 0 ? PauseKind::kMarkStart : PauseKind::kMarkTermination, t, d);
    durations.push_back(d);
    t += d + 1'000'000;
  }
  r.record(PauseKind::kFullStop, t, 42);
  durations.push_back(42);
  Stats s;
  r.fill(s);
  CHECK(s.global_pauses.count == durations.size());
  CHECK(s.thread_pauses.count == 0);
  CHECK(s.global_pauses.p50_ms == Approx(double(nearest_rank(durations, 0.5)) / 1e6));
  CHECK(s.global_pauses.p90_ms == Approx(double(nearest_rank(durations, 0.9)) / 1e6));
  CHECK(s.global_pauses.p99_ms == Approx(double(nearest_rank(durations, 0.99)) / 1e6));
  CHECK(s.global_pauses.max_ms == Approx(double(*std::max_element(durations.begin(), durations.end())) / 1e6));
  double total = 0;
  for (auto d : durations) total += double(d) / 1e6;
  CHECK(s.global_pauses.total_ms == Approx(total));
  CHECK(s.global_pauses.p50_ms <= s.global_pauses.p90_ms);
  CHECK(s.global_pauses.p90_ms <= s.global_pauses.p99_ms);
  CHECK(s.global_pauses.p99_ms <= s.global_pauses.max_ms);
}

TEST_CASE("stats recorder: per-thread pauses are within the histogram's resolution", "[stats_recorder]") {
  StatsRecorder r;
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> dist(std::log(20'000.0), 1.5);  // ns, long-tailed
  std::vector<std::uint64_t> durations;
  double assist_ms = 0;
  const PauseKind kinds[] = {PauseKind::kRootScan, PauseKind::kHandshake, PauseKind::kAssist, PauseKind::kHeapLimitWait};
  for (int i = 0; i < 20000; ++i) {
    const auto d = static_cast<std::uint64_t>(dist(rng)) + 1;
    const PauseKind k = kinds[i % 4];
    CHECK_FALSE(is_global(k));
    r.record(k, std::uint64_t(i) * 100, d);
    durations.push_back(d);
    if (k == PauseKind::kAssist) assist_ms += double(d) / 1e6;
  }
  Stats s;
  r.fill(s);
  CHECK(s.global_pauses.count == 0);
  CHECK(s.thread_pauses.count == durations.size());
  CHECK(s.assist_ms == Approx(assist_ms));
  const double octave16 = std::exp2(1.0 / 16) * 1.001;  // one bucket, and the log's rounding
  for (auto [q, got] : {std::pair{0.5, s.thread_pauses.p50_ms}, {0.9, s.thread_pauses.p90_ms}, {0.99, s.thread_pauses.p99_ms}}) {
    const double exact = double(nearest_rank(durations, q)) / 1e6;
    INFO("q " << q << ": exact " << exact << " ms, reported " << got << " ms");
    CHECK(got >= exact / 1.001);
    CHECK(got <= exact * octave16);
  }
  const auto max = *std::max_element(durations.begin(), durations.end());
  CHECK(s.thread_pauses.max_ms == Approx(double(max) / 1e6));
  CHECK(s.thread_pauses.p99_ms <= s.thread_pauses.max_ms);
  std::uint64_t total = 0;
  for (auto d : durations) total += d;
  CHECK(s.thread_pauses.total_ms == Approx(double(total) / 1e6));
}

TEST_CASE("stats recorder: cycles add up", "[stats_recorder]") {
  StatsRecorder r;
  double wall = 0, cpu = 0;
  for (int i = 1; i <= 10; ++i) {
    r.add_cycle(i * 1.5, i * 2.25);
    wall += i * 1.5;
    cpu += i * 2.25;
  }
  Stats s;
  r.fill(s);
  CHECK(s.cycles == 10);
  CHECK(s.mark_wall_ms == Approx(wall));
  CHECK(s.mark_cpu_ms == Approx(cpu));
}

TEST_CASE("stats recorder: the recent list keeps the last pauses in order, and an MMU from it matches", "[stats_recorder]") {
  StatsRecorder r;
  std::mt19937_64 rng(3);
  std::vector<Pause> recorded;
  std::uint64_t t = 0;
  const std::size_t n = StatsRecorder::kMaxRecent + 1000;
  for (std::size_t i = 0; i < n; ++i) {
    const Pause p{i % 3 == 0 ? PauseKind::kMarkTermination : PauseKind::kHandshake, t, 10'000 + rng() % 990'000};
    r.record(p.kind, p.start_ns, p.duration_ns);
    recorded.push_back(p);
    t += p.duration_ns + rng() % 4'000'000;  // pauses do not overlap
  }
  Stats s;
  r.fill(s);
  REQUIRE(s.pauses.size() == StatsRecorder::kMaxRecent);
  const std::vector<Pause> tail(recorded.end() - StatsRecorder::kMaxRecent, recorded.end());
  for (std::size_t i = 0; i < tail.size(); ++i) {
    if (s.pauses[i].kind != tail[i].kind || s.pauses[i].start_ns != tail[i].start_ns ||
        s.pauses[i].duration_ns != tail[i].duration_ns)
      FAIL("recent pause " << i << " differs from the one recorded");
  }
  // MMU over the last 200 pauses (the naive MMU is quadratic), for windows from one pause to many.
  const std::vector<Pause> last(s.pauses.end() - 200, s.pauses.end());
  const std::vector<Pause> last_recorded(tail.end() - 200, tail.end());
  const std::uint64_t begin = last.front().start_ns, end = last.back().start_ns + last.back().duration_ns;
  for (std::uint64_t w : {std::uint64_t{1'000'000}, std::uint64_t{10'000'000}, std::uint64_t{100'000'000}}) {
    const double from_stats = mmu(last, begin, end, w);
    CHECK(from_stats == mmu(last_recorded, begin, end, w));
    CHECK(from_stats >= 0);
    CHECK(from_stats < 1);
  }
  // Longer windows dilute the worst pause: MMU does not fall as the window grows.
  CHECK(mmu(last, begin, end, 1'000'000) <= mmu(last, begin, end, 100'000'000));
  // A window no longer than the longest pause can be covered entirely.
  std::uint64_t longest = 0;
  for (const Pause& p : last) longest = std::max(longest, p.duration_ns);
  CHECK(mmu(last, begin, end, longest) == 0);
}

TEST_CASE("stats recorder: concurrent recording loses nothing", "[stats_recorder][concurrency]") {
  StatsRecorder r;
  constexpr int kPerThread = 20000;
  auto work = [&](PauseKind k) {
    for (int i = 0; i < kPerThread; ++i) r.record(k, std::uint64_t(i), 1000);
  };
  std::thread a(work, PauseKind::kHandshake), b(work, PauseKind::kAssist);
  std::thread c([&] {
    for (int i = 0; i < 100; ++i) r.add_cycle(1, 1);
  });
  a.join();
  b.join();
  c.join();
  Stats s;
  r.fill(s);
  CHECK(s.thread_pauses.count == 2 * kPerThread);
  CHECK(s.thread_pauses.total_ms == Approx(2.0 * kPerThread * 1000 / 1e6));
  CHECK(s.assist_ms == Approx(kPerThread * 1000 / 1e6));
  CHECK(s.cycles == 100);
}
