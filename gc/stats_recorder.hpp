// Pause and cycle accounting behind Heap::stats(). Every global stop, every per-thread handshake
// action and every assist is recorded. Summaries cover all pauses ever recorded: global pauses are
// kept in full (two per cycle); per-thread pauses, which can number millions, feed a log-scale
// histogram (percentiles within 1/16 of an octave). Stats::pauses lists the last kMaxRecent of all.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "tricolor/heap.hpp"

namespace tricolor::internal {

class StatsRecorder {
 public:
  static constexpr std::size_t kMaxRecent = 1u << 16;

  void record(PauseKind kind, std::uint64_t start_ns, std::uint64_t duration_ns);
  void add_cycle(double mark_wall_ms, double mark_cpu_ms);
  // Fills the pause and cycle parts of s.
  void fill(Stats& s) const;

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
};

bool is_global(PauseKind k);

}  // namespace tricolor::internal
