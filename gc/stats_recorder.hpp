// Pause and cycle accounting behind Heap::stats(). Every global stop, every per-thread handshake
// action and every assist is recorded with its start and duration; the log keeps the last kMaxPauses.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

#include "tricolor/heap.hpp"

namespace tricolor::internal {

class StatsRecorder {
 public:
  static constexpr std::size_t kMaxPauses = 1u << 16;

  void record(PauseKind kind, std::uint64_t start_ns, std::uint64_t duration_ns);
  void add_cycle(double mark_wall_ms, double mark_cpu_ms);
  // Fills the pause and cycle parts of s.
  void fill(Stats& s) const;

 private:
  mutable std::mutex mu_;
  std::deque<Pause> pauses_;
  std::uint64_t cycles_ = 0;
  double mark_wall_ms_ = 0, mark_cpu_ms_ = 0, assist_ms_ = 0;
};

PauseSummary summarize(const std::deque<Pause>& pauses, bool global);

}  // namespace tricolor::internal
