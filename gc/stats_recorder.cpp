#include "gc/stats_recorder.hpp"

#include <algorithm>
#include <vector>

namespace tricolor::internal {

const bool kGlobal[] = {true, true, false, false, false, true};

PauseSummary summarize(const std::deque<Pause>& pauses, bool global) {
  std::vector<double> ms;
  for (const Pause& p : pauses)
    if (kGlobal[static_cast<int>(p.kind)] == global) ms.push_back(double(p.duration_ns) / 1e6);
  PauseSummary s;
  s.count = ms.size();
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * double(ms.size())))]; };
  s.p50_ms = pct(0.50);
  s.p90_ms = pct(0.90);
  s.p99_ms = pct(0.99);
  s.max_ms = ms.back();
  for (double v : ms) s.total_ms += v;
  return s;
}

void StatsRecorder::record(PauseKind kind, std::uint64_t start_ns, std::uint64_t duration_ns) {
  std::lock_guard lock(mu_);
  if (pauses_.size() == kMaxPauses) pauses_.pop_front();
  pauses_.push_back({kind, start_ns, duration_ns});
  if (kind == PauseKind::kAssist) assist_ms_ += double(duration_ns) / 1e6;
}

void StatsRecorder::add_cycle(double mark_wall_ms, double mark_cpu_ms) {
  std::lock_guard lock(mu_);
  ++cycles_;
  mark_wall_ms_ += mark_wall_ms;
  mark_cpu_ms_ += mark_cpu_ms;
}

void StatsRecorder::fill(Stats& s) const {
  std::lock_guard lock(mu_);
  s.cycles = cycles_;
  s.mark_wall_ms = mark_wall_ms_;
  s.mark_cpu_ms = mark_cpu_ms_;
  s.assist_ms = assist_ms_;
  s.global_pauses = summarize(pauses_, true);
  s.thread_pauses = summarize(pauses_, false);
  s.pauses.assign(pauses_.begin(), pauses_.end());
}

}  // namespace tricolor::internal
