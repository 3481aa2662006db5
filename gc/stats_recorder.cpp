#include "gc/stats_recorder.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <thread>

#include "gc/page_heap.hpp"

namespace tricolor::internal {

namespace {
// "Since program start" for the trace line: the library's static initialisation, which runs before
// main() for a program linked with tricolor (and at dlopen for one that loads it later).
const std::uint64_t g_process_start_ns = monotonic_ns();
}  // namespace

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
    global_pause_ms_ += double(duration_ns) / 1e6;
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


namespace {
// Heap sizes in MB (2^20 bytes, as Go's gctrace): one decimal below 100 MB, where whole numbers would
// hide the small heaps of tests and embedded interpreters.
std::string mb(std::size_t bytes) {
  char buf[32];
  const double v = double(bytes) / double(1u << 20);
  std::snprintf(buf, sizeof buf, v < 100 ? "%.1f" : "%.0f", v);
  return buf;
}
}  // namespace

std::string StatsRecorder::format_trace_line(const TraceLine& c, double since_start_s, double gc_percent_of_cpu,
                                             double assist_ms) {
  const double mark_ms = double(c.mark_ns) / 1e6;
  const double cpu_ms = double(c.marker_cpu_ns) / 1e6;
  // The markers could have run for the whole marking phase; what they did not use is idle time.
  const double marker_wall_ms = double(c.markers) * double(c.start_phase_ns + c.mark_ns) / 1e6;
  const double idle_ms = std::max(0.0, marker_wall_ms - cpu_ms);
  // A goal this far up means none: collection is off (gc_percent -1 and no limit).
  const std::string goal = c.goal >= SIZE_MAX / 4 ? std::string("no goal") : mb(c.goal) + " MB goal";
  const char* cause = c.cause == TraceLine::Cause::kForced     ? " (forced)"
                      : c.cause == TraceLine::Cause::kPeriodic ? " (periodic)"
                                                                : "";
  char rounds[64] = "";
  if (c.rounds != 0)
    std::snprintf(rounds, sizeof rounds, ", %llu round%s in %.3f ms", static_cast<unsigned long long>(c.rounds),
                  c.rounds == 1 ? "" : "s", double(c.round_ns) / 1e6);
  char lag[64] = "";
  if (c.trigger_lag_ns != 0)
    std::snprintf(lag, sizeof lag, ", trigger lag %.3f ms / %s MB", double(c.trigger_lag_ns) / 1e6,
                  mb(c.trigger_lag_bytes).c_str());
  char restarts[32] = "";
  if (c.restarts != 0) std::snprintf(restarts, sizeof restarts, ", %u restart%s", c.restarts, c.restarts == 1 ? "" : "s");
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "gc %" PRIu64 " @%.3fs %.0f%%: %.3f+%.3f+%.3f ms clock, %.3f+%.3f/%.3f ms cpu, %s->%s->%s MB, %s, "
                "%u marker%s%s%s%s%s%s\n",
                c.cycle, since_start_s, gc_percent_of_cpu, double(c.start_phase_ns) / 1e6, mark_ms,
                double(c.stop_ns) / 1e6, cpu_ms, assist_ms, idle_ms, mb(c.heap_before).c_str(),
                mb(c.heap_after).c_str(), mb(c.live).c_str(), goal.c_str(), c.markers, c.markers == 1 ? "" : "s",
                rounds, lag, restarts, c.concurrent ? "" : " (stop-the-world)", cause);
  return buf;
}

std::string StatsRecorder::trace_line(const TraceLine& c) {
  double gc_ms = 0, assist_ms = 0;
  {
    std::lock_guard lock(mu_);
    gc_ms = mark_cpu_ms_ + assist_ms_ + global_pause_ms_;
    assist_ms = assist_ms_ - assist_ms_traced_;
    assist_ms_traced_ = assist_ms_;
  }
  const double since_start_s = double(monotonic_ns() - g_process_start_ns) / 1e9;
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  const double percent = since_start_s > 0 ? 100.0 * gc_ms / (since_start_s * 1e3 * cores) : 0.0;
  return format_trace_line(c, since_start_s, percent, assist_ms);
}

}  // namespace tricolor::internal
