#include "gc/stats_recorder.hpp"

#include <algorithm>
#include <cmath>

namespace tricolor::internal {

bool is_global(PauseKind k) {
  return k == PauseKind::kMarkStart || k == PauseKind::kMarkTermination || k == PauseKind::kFullStop;
}

std::size_t StatsRecorder::bucket_of(std::uint64_t ns) {
  if (ns <= 1) return 0;
  const auto b = static_cast<std::size_t>(std::log2(double(ns)) * 16);
  return std::min(b, kBuckets - 1);
}

double StatsRecorder::bucket_ms(std::size_t b) { return std::exp2(double(b + 1) / 16) / 1e6; }

void StatsRecorder::record(PauseKind kind, std::uint64_t start_ns, std::uint64_t duration_ns) {
  std::lock_guard lock(mu_);
  if (recent_.size() == kMaxRecent) recent_.pop_front();
  recent_.push_back({kind, start_ns, duration_ns});
  if (is_global(kind)) {
    global_ns_.push_back(duration_ns);
  } else {
    ++thread_hist_[bucket_of(duration_ns)];
    ++thread_count_;
    thread_max_ns_ = std::max(thread_max_ns_, duration_ns);
    thread_total_ns_ += duration_ns;
  }
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
  {
    std::vector<std::uint64_t> g = global_ns_;
    std::sort(g.begin(), g.end());
    PauseSummary& p = s.global_pauses;
    p.count = g.size();
    if (!g.empty()) {
      auto pct = [&](double q) { return double(g[std::min(g.size() - 1, std::size_t(q * double(g.size())))]) / 1e6; };
      p.p50_ms = pct(0.5);
      p.p90_ms = pct(0.9);
      p.p99_ms = pct(0.99);
      p.max_ms = double(g.back()) / 1e6;
      for (auto v : g) p.total_ms += double(v) / 1e6;
    }
  }
  {
    PauseSummary& p = s.thread_pauses;
    p.count = thread_count_;
    if (thread_count_ != 0) {
      auto pct = [&](double q) {
        const auto want = static_cast<std::uint64_t>(q * double(thread_count_));
        std::uint64_t seen = 0;
        for (std::size_t b = 0; b < kBuckets; ++b)
          if ((seen += thread_hist_[b]) > want) return std::min(bucket_ms(b), double(thread_max_ns_) / 1e6);
        return double(thread_max_ns_) / 1e6;
      };
      p.p50_ms = pct(0.5);
      p.p90_ms = pct(0.9);
      p.p99_ms = pct(0.99);
      p.max_ms = double(thread_max_ns_) / 1e6;
      p.total_ms = double(thread_total_ns_) / 1e6;
    }
  }
  s.pauses.assign(recent_.begin(), recent_.end());
}

}  // namespace tricolor::internal
