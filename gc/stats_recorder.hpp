// Pause and cycle accounting behind Heap::stats(), and the TRICOLOR_GCTRACE line. Every global stop,
// every per-thread handshake action and every assist is recorded. Summaries cover all pauses ever
// recorded: global pauses are kept in full (two per cycle); per-thread pauses, which can number
// millions, feed a log-scale histogram (percentiles within 1/16 of an octave). Stats::pauses lists
// the last kMaxRecent of all.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "tricolor/heap.hpp"

namespace tricolor::internal {

// What one TRICOLOR_GCTRACE line shows of a cycle, gathered by the controller (gc/collector.cpp).
// Times are monotonic_ns() values or durations in ns.
struct TraceLine {
  enum class Cause : std::uint8_t { kPaced, kForced, kPeriodic };
  std::uint64_t cycle = 0;
  Cause cause = Cause::kPaced;
  bool concurrent = true;
  std::uint64_t start_ns = 0;        // the cycle began (sweep termination done)
  std::uint64_t start_phase_ns = 0;  // barrier round + heap-root stop (0 in stop-the-world mode)
  std::uint64_t mark_ns = 0;         // concurrent marking, root round and restarted terminations included
  std::uint64_t stop_ns = 0;         // the final stop: mark termination, or the whole stop-the-world cycle
  unsigned restarts = 0;             // termination stops that resumed marking
  std::uint64_t rounds = 0;          // handshake rounds this cycle (gc/safepoint.hpp)
  std::uint64_t round_ns = 0;        // their summed wall time, each from posting to the last answer
  std::uint64_t marker_cpu_ns = 0;   // the marker threads' CPU time this cycle
  unsigned markers = 0;
  std::size_t heap_before = 0, heap_after = 0, live = 0, goal = 0;
  // A paced cycle: from the allocation that crossed the trigger (the request) to the cycle's start,
  // the time and the bytes allocated meanwhile (0 ns and 0 bytes: no paced request, not printed).
  std::uint64_t trigger_lag_ns = 0;
  std::size_t trigger_lag_bytes = 0;
};

class StatsRecorder {
 public:
  static constexpr std::size_t kMaxRecent = 1u << 16;

  void record(PauseKind kind, std::uint64_t start_ns, std::uint64_t duration_ns);
  void add_cycle(double mark_wall_ms, double mark_cpu_ms);
  // Fills the pause and cycle parts of s.
  void fill(Stats& s) const;

  // The gctrace line of a cycle just added (add_cycle), with its newline:
  //   gc N @T s P%: A+B+C ms clock, M+S/I ms cpu, H0->H1->L MB, G MB goal, K markers[, N rounds in W ms]
  //   [, trigger lag D ms / X MB][, R restarts][ (cause)]
  // (README, "The trace line"). P is cumulative: the collector's CPU time (markers, assists, global
  // stops) over the CPU time available since the program started (elapsed x cores); S is this
  // cycle's assists (those recorded since the previous line); I is the markers' idle time.
  std::string trace_line(const TraceLine& c);
  // The same, from explicit cumulative figures: the formatting alone, for tests.
  static std::string format_trace_line(const TraceLine& c, double since_start_s, double gc_percent_of_cpu,
                                       double assist_ms);

 private:
  // Bucket b covers durations in [2^(b/16), 2^((b+1)/16)) ns.
  static constexpr std::size_t kBuckets = 16 * 40;
  static std::size_t bucket_of(std::uint64_t ns);
  static double bucket_ms(std::size_t b);

  mutable std::mutex mu_;
  std::deque<Pause> recent_;
  std::vector<std::uint64_t> global_ns_;
  std::array<std::uint64_t, kBuckets> thread_hist_{};
  std::uint64_t thread_count_ = 0, thread_max_ns_ = 0, thread_total_ns_ = 0;
  std::uint64_t cycles_ = 0;
  double mark_wall_ms_ = 0, mark_cpu_ms_ = 0, assist_ms_ = 0;
  double global_pause_ms_ = 0;
  double assist_ms_traced_ = 0;  // assist_ms_ at the previous trace line
};

bool is_global(PauseKind k);

}  // namespace tricolor::internal
