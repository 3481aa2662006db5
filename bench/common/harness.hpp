// The collector-neutral half of every macro workload process: options, clocks, the latency probe's
// sample buffer, pause records and the JSON record that tools/report.py reads.
//
// One process runs one workload on one collector (Boehm and tricolor in one process would compete for
// threads and signals). The process measures; tools/report.py computes every derived figure
// (percentiles, MMU) from the raw pauses and probe samples, so all collectors are summarised by the
// same code.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bench {

// CLOCK_MONOTONIC in nanoseconds: the clock tricolor's Pause::start_ns uses (steady_clock on Linux),
// so pause records and our own timestamps share one time line.
std::uint64_t now_ns();

struct Options {
  std::string workload;    // gcbench | gcbench-mt | binary-trees | quad-tree
  int depth = -1;          // binary-trees max depth / quad-tree depth (-1: the workload's default)
  int threads = 2;         // mutator threads for the multi-threaded workloads
  int rounds = 20;         // quad-tree churn rounds
  double heap_multiple = 2.5;  // heap limit = multiple x peak live bytes; <= 0: no limit
  bool probe = true;
  std::string json_path;   // where the record goes; empty: stdout
};
// Exits with a usage message on a malformed command line.
Options parse_options(int argc, char** argv);

struct PauseRecord {
  std::uint64_t start_ns;     // monotonic
  std::uint64_t duration_ns;
  const char* kind;           // "stw" (Boehm), or tricolor's pause kinds (see tricolor/main.cpp)
};

// The latency probe's samples. The probe loop itself is collector-specific (how a thread sleeps
// while staying attached differs), the bookkeeping is not. Preallocated: the probe must not allocate
// from the C++ heap while it is being measured.
class ProbeSamples {
 public:
  ProbeSamples();
  // Called by the probe thread only. Never grows the buffers (reserved up front, so their pages are
  // touched only as samples arrive and the probe adds nothing to peak RSS it does not use).
  // woke_ns: when the probe could run again; late_ns: how much later than asked that was;
  // after_wake_ns: the part of it spent after the sleep itself returned (tricolor: leaving the
  // blocking scope and the safepoint; 0 where the collector stops threads inside the sleep).
  void add(std::uint64_t woke_ns, std::uint64_t late_ns, std::uint64_t after_wake_ns) {
    if (woke_.size() < woke_.capacity()) {
      woke_.push_back(woke_ns);
      late_.push_back(late_ns);
      after_wake_.push_back(after_wake_ns);
    } else {
      ++dropped_;
    }
  }
  std::size_t size() const { return woke_.size(); }
  std::uint64_t woke(std::size_t i) const { return woke_[i]; }
  std::uint64_t late(std::size_t i) const { return late_[i]; }
  std::uint64_t after_wake(std::size_t i) const { return after_wake_[i]; }
  std::size_t dropped() const { return dropped_; }

 private:
  std::vector<std::uint64_t> woke_, late_, after_wake_;
  std::size_t dropped_ = 0;
};

// Lowers this thread's timer slack to 1 ns so that a 1 ms sleep is not rounded up by the kernel's
// default 50 us slack; applied to every collector's probe alike.
void tighten_timer_slack();
// How long the probe sleeps per iteration.
inline constexpr std::uint64_t kProbeSleepNs = 1'000'000;

// Everything one run reports. Filled by the collector's main(), written once at exit.
struct Record {
  std::string collector;
  Options options;
  std::string status = "ok";   // ok | oom | error | check-failed
  std::string message;
  std::uint64_t start_ns = 0, end_ns = 0;
  double cpu_user_s = 0, cpu_sys_s = 0;
  long max_rss_kb = 0;
  std::uint64_t collections = 0;
  std::size_t live_estimate_bytes = 0;
  std::size_t heap_limit_bytes = 0;
  std::size_t heap_peak_bytes = 0;
  std::vector<PauseRecord> pauses;
  bool pauses_truncated = false;
  const ProbeSamples* probe = nullptr;
  std::vector<std::pair<std::string, std::uint64_t>> marks;   // named moments (phase ends)
  std::vector<std::pair<std::string, double>> extra;          // collector- or workload-specific

  void mark(const std::string& what) { marks.emplace_back(what, now_ns()); }
  void note(const std::string& key, double value) { extra.emplace_back(key, value); }
};

// CPU time of the whole process so far (user, system) and its peak RSS.
void process_usage(double* user_s, double* sys_s, long* max_rss_kb);

void write_record(const Record& r);

}  // namespace bench
