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
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bench {

// CLOCK_MONOTONIC in nanoseconds: the clock tricolor's Pause::start_ns uses (steady_clock on Linux),
// so pause records and our own timestamps share one time line.
std::uint64_t now_ns();

struct Options {
  std::string workload;    // gcbench | gcbench-mt | binary-trees | quad-tree | mark-scaling | rss-return
  int depth = -1;          // binary-trees max depth / quad-tree depth (-1: the workload's default)
  int threads = 2;         // mutator threads for the multi-threaded workloads
  int rounds = 20;         // quad-tree churn rounds
  double heap_multiple = 2.5;  // heap limit = multiple x peak live bytes; <= 0: no limit
  bool probe = true;       // the latency probe (a 1 ms sleeper)
  bool cpu_probe = true;   // the CPU probe (iterations per 1 ms window)
  // The idle-collector baseline (tricolor-bench only): the same workload with collection off and no
  // heap limit, so the probes see the machine's own scheduling noise. RSS may not pass
  // idle_budget_mb (0: no budget); a run that reaches it ends there and says so.
  bool idle = false;
  double idle_budget_mb = 0;
  std::string json_path;   // where the record goes; empty: stdout
  // mark-scaling and rss-return (see common/workloads.hpp)
  int markers = 0;         // marker threads (tricolor marker_threads; Boehm markers incl. the initiator); 0: default
  double live_mb = -1;     // mark-scaling: live heap; rss-return: the live heap before the drop (-1: default)
  double small_mb = -1;    // rss-return: the live heap after the drop (-1: default)
  int collections = -1;    // mark-scaling: timed full collections (-1: default)
  std::string mode;        // rss-return: idle | collect | churn
  double limit_s = -1;     // rss-return: how long to wait for RSS to fall (-1: default)
  double churn_mb_s = -1;  // rss-return churn mode: garbage allocated per second (-1: default)
};
// Exits with a usage message on a malformed command line.
Options parse_options(int argc, char** argv);

struct PauseRecord {
  std::uint64_t start_ns;     // monotonic
  std::uint64_t duration_ns;
  const char* kind;           // "stw" (Boehm), or tricolor's pause kinds (see backends/tricolor_main.cpp)
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

// The CPU probe: a thread that repeats one fixed unit of arithmetic (a chain of xorshift steps and a
// read of the monotonic clock) and counts the units it completes in each 1 ms window of that clock.
// It never allocates and touches no collected heap, so a window's count is the CPU time the thread
// got in that window, at its idle speed: whatever takes the CPU from it (a stop of the world, a
// handshake it answers, collector threads competing for the cores, the OS) lowers the count, and
// nothing else does. The loop is compiled once, here in bench_common, into every collector's
// process, so a count means the same work in each; tools/bench_stats.py divides each window's count
// by the mean count per window of the idle-collector run of the same workload (the utilisation
// series), and computes MMU from that. Windows are aligned on the probe's start; a window in which
// the thread did not run at all records 0; the last, partial window is dropped.
class CpuProbe {
 public:
  static constexpr std::uint64_t kWindowNs = 1'000'000;
  // poll() runs every kPollEvery units: often enough that a handshake waits a few microseconds,
  // rarely enough that its cost (an indirect call and, for tricolor, one relaxed load) is far below
  // 1% of a unit.
  static constexpr unsigned kPollEvery = 64;
  static constexpr unsigned kStepsPerUnit = 32;

  CpuProbe();
  // Runs on the calling thread until `stop` is set. `poll` may be null (Boehm and Go stop threads
  // by signal or preemption); tricolor passes its safepoint poll, as any non-allocating loop must.
  void run(const std::atomic<bool>& stop, void (*poll)());
  std::uint64_t start_ns() const { return start_ns_; }
  std::size_t size() const { return counts_.size(); }
  std::uint32_t count(std::size_t i) const { return counts_[i]; }
  std::size_t dropped() const { return dropped_; }
  // CPU time of the probe's thread (CLOCK_THREAD_CPUTIME_ID), taken when run() returns, so the
  // report can leave it out of the workload's process CPU time.
  double thread_cpu_s() const { return thread_cpu_s_; }

 private:
  void push(std::uint32_t c) {
    if (counts_.size() < counts_.capacity()) counts_.push_back(c);
    else ++dropped_;
  }
  std::vector<std::uint32_t> counts_;
  std::uint64_t start_ns_ = 0;
  std::size_t dropped_ = 0;
  double thread_cpu_s_ = 0;
  std::uint64_t sink_ = 0;   // the arithmetic's result, kept so the compiler cannot drop it
};

// How a probe thread lives in one collector's process; main() fills these in.
struct ProbeHooks {
  // Runs `body` on the calling thread while it is attached to the collector (tricolor: a Mutator;
  // Boehm: GC_register_my_thread).
  std::function<void(const char* name, const std::function<void()>& body)> attached;
  // Sleeps `ns` the way a mutator of this collector sleeps, and returns once the thread may run
  // again; *sleep_returned_ns is when the sleep itself returned (tricolor goes on to leave its
  // BlockingScope and pass a safepoint; the others return at once).
  std::function<void(std::uint64_t ns, std::uint64_t* sleep_returned_ns)> sleep;
  // The CPU probe's poll (see CpuProbe::run); may be null.
  void (*poll)() = nullptr;
  // Runs `wait` (a join) as this collector wants a waiting thread to (tricolor: in a BlockingScope
  // when the caller is attached). Null: just run it.
  std::function<void(const std::function<void()>& wait)> blocking;
};

// The latency probe and the CPU probe of one run: started together just before the workload,
// stopped together after it. Both are attached mutators of the collector under test.
class Probes {
 public:
  Probes(const Options& o, ProbeHooks hooks) : o_(o), hooks_(std::move(hooks)) {}
  ~Probes() { stop(); }
  Probes(const Probes&) = delete;
  Probes& operator=(const Probes&) = delete;
  void start();
  // Stops and joins both threads (idempotent; call it from one thread at a time).
  void stop();
  const ProbeSamples* latency() const { return o_.probe ? &latency_ : nullptr; }
  const CpuProbe* cpu() const { return o_.cpu_probe ? &cpu_ : nullptr; }

 private:
  const Options& o_;
  ProbeHooks hooks_;
  ProbeSamples latency_;
  CpuProbe cpu_;
  std::atomic<bool> stop_{false};
  std::thread latency_thread_, cpu_thread_;
};

// Idle-collector runs never collect, so a workload that allocates more than memory allows must end
// early: this thread samples RSS every 5 ms and calls on_exceeded (from its own thread, at most
// once) when RSS passes the budget. on_exceeded is expected to write the record and end the process.
class RssWatchdog {
 public:
  RssWatchdog(std::size_t budget_bytes, std::function<void()> on_exceeded);
  ~RssWatchdog() { stop(); }
  RssWatchdog(const RssWatchdog&) = delete;
  RssWatchdog& operator=(const RssWatchdog&) = delete;
  void stop();

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
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
  const CpuProbe* cpu_probe = nullptr;
  std::vector<std::pair<std::string, std::uint64_t>> marks;   // named moments (phase ends)
  std::vector<std::pair<std::string, double>> extra;          // collector- or workload-specific
  // Named tables of numbers (e.g. one row per timed collection, or the RSS samples), written as
  // {"name": {"columns": [...], "rows": [[...], ...]}}.
  struct Series {
    std::string name;
    std::vector<std::string> columns;
    std::vector<std::vector<double>> rows;
  };
  std::vector<Series> series;

  // mark() and note() take record_mutex(): an idle run that reaches its RSS budget writes the record
  // from the watchdog's thread while the workload may still be adding to it.
  void mark(const std::string& what);
  void note(const std::string& key, double value);
  Series& add_series(const std::string& name, std::vector<std::string> columns) {
    series.push_back({name, std::move(columns), {}});
    return series.back();
  }
};

// Guards a Record's marks and notes (see Record::mark).
std::mutex& record_mutex();

// Resident set size of this process now, in bytes (/proc/self/statm): what the kernel has mapped,
// so memory a collector returned with madvise/munmap no longer counts. Allocation-free.
std::size_t current_rss_bytes();

// A thread that records the process's RSS every `period_ns` (rss-return). It is attached to no
// collector and touches no collected heap; its buffer is reserved up front (a sample that does not fit
// is dropped and counted), so sampling does not itself move RSS.
class RssSampler {
 public:
  explicit RssSampler(std::uint64_t period_ns, std::size_t capacity = std::size_t{1} << 16);
  ~RssSampler();
  RssSampler(const RssSampler&) = delete;
  RssSampler& operator=(const RssSampler&) = delete;
  // The newest sample (monotonic ns, bytes); both 0 before the first.
  std::uint64_t latest_ns() const { return latest_ns_.load(std::memory_order_acquire); }
  std::size_t latest_rss() const { return latest_rss_.load(std::memory_order_acquire); }
  // Stops the thread; the samples may be read afterwards.
  void stop();
  std::size_t size() const { return t_.size(); }
  std::uint64_t time_ns(std::size_t i) const { return t_[i]; }
  std::size_t rss(std::size_t i) const { return rss_[i]; }
  std::size_t dropped() const { return dropped_; }

 private:
  std::vector<std::uint64_t> t_;
  std::vector<std::size_t> rss_;
  std::size_t dropped_ = 0;
  std::atomic<std::uint64_t> latest_ns_{0};
  std::atomic<std::size_t> latest_rss_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// rss-return's summary, the same for every collector: the RSS curve as a series relative to the
// drop, and the notes time_to_threshold_ms (first sample after the drop below `threshold`, -1 if
// none), waited_ms, rss_peak_bytes, rss_final_bytes, rss_samples_dropped.
void note_rss_curve(Record& rec, const RssSampler& sampler, std::uint64_t t_drop, std::uint64_t t_end,
                    std::size_t threshold);

// CPU time of the whole process so far (user, system) and its peak RSS.
void process_usage(double* user_s, double* sys_s, long* max_rss_kb);

void write_record(const Record& r);

}  // namespace bench
