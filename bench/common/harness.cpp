// See harness.hpp. The JSON writer is a few lines of our own: the record is flat, numbers and short
// ASCII strings, and the processes must not depend on anything the C++ toolchain lacks.
#include "harness.hpp"

#include <algorithm>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace bench {

std::uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::uint64_t(ts.tv_sec) * 1'000'000'000u + std::uint64_t(ts.tv_nsec);
}

namespace {

[[noreturn]] void usage(const char* prog, const char* why) {
  std::fprintf(stderr,
               "%s: %s\n"
               "usage: %s --workload gcbench|gcbench-mt|binary-trees|quad-tree|mark-scaling|rss-return\n"
               "          [--depth N] [--threads N] [--rounds N] [--heap-multiple X] [--no-probe] [--no-cpu-probe]\n"
               "          [--idle [--idle-budget-mb X]] [--json PATH]\n"
               "          [--markers N] [--live-mb X] [--collections N]                 (mark-scaling)\n"
               "          [--mode idle|collect|churn] [--live-mb X] [--small-mb X] [--limit-s X]\n"
               "          [--churn-mb-s X]                                              (rss-return)\n",
               prog, why, prog);
  std::exit(2);
}

long parse_int(const char* prog, const char* flag, const char* s) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0') usage(prog, flag);
  return v;
}

double parse_double(const char* prog, const char* flag, const char* s) {
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (end == s || *end != '\0') usage(prog, flag);
  return v;
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options o;
  const char* prog = argv[0];
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(prog, "missing value");
      return argv[++i];
    };
    if (a == "--workload") o.workload = value();
    else if (a == "--depth") o.depth = int(parse_int(prog, "--depth", value()));
    else if (a == "--threads") o.threads = int(parse_int(prog, "--threads", value()));
    else if (a == "--rounds") o.rounds = int(parse_int(prog, "--rounds", value()));
    else if (a == "--heap-multiple") o.heap_multiple = std::atof(value());
    else if (a == "--json") o.json_path = value();
    else if (a == "--no-probe") o.probe = false;
    else if (a == "--no-cpu-probe") o.cpu_probe = false;
    else if (a == "--idle") o.idle = true;
    else if (a == "--idle-budget-mb") o.idle_budget_mb = parse_double(prog, "--idle-budget-mb", value());
    else if (a == "--markers") o.markers = int(parse_int(prog, "--markers", value()));
    else if (a == "--live-mb") o.live_mb = parse_double(prog, "--live-mb", value());
    else if (a == "--small-mb") o.small_mb = parse_double(prog, "--small-mb", value());
    else if (a == "--collections") o.collections = int(parse_int(prog, "--collections", value()));
    else if (a == "--mode") o.mode = value();
    else if (a == "--limit-s") o.limit_s = parse_double(prog, "--limit-s", value());
    else if (a == "--churn-mb-s") o.churn_mb_s = parse_double(prog, "--churn-mb-s", value());
    else usage(prog, "unknown option");
  }
  if (o.workload.empty()) usage(prog, "--workload is required");
  if (o.threads < 1) usage(prog, "--threads must be at least 1");
  if (o.markers < 0) usage(prog, "--markers must not be negative");
  if (o.idle_budget_mb < 0) usage(prog, "--idle-budget-mb must not be negative");
  if (!o.mode.empty() && o.mode != "idle" && o.mode != "collect" && o.mode != "churn")
    usage(prog, "--mode must be idle, collect or churn");
  return o;
}

// A minute of probing at one sample per ~1.05 ms fits with room to spare; a longer run drops samples
// and says how many.
ProbeSamples::ProbeSamples() {
  woke_.reserve(1u << 20);
  late_.reserve(1u << 20);
  after_wake_.reserve(1u << 20);
}

void tighten_timer_slack() { prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); }

std::mutex& record_mutex() {
  static std::mutex mu;
  return mu;
}

void Record::mark(const std::string& what) {
  std::lock_guard<std::mutex> g(record_mutex());
  marks.emplace_back(what, now_ns());
}

void Record::note(const std::string& key, double value) {
  std::lock_guard<std::mutex> g(record_mutex());
  extra.emplace_back(key, value);
}

// About 70 minutes of windows; the vector's pages are touched only as windows are recorded.
CpuProbe::CpuProbe() { counts_.reserve(std::size_t{1} << 22); }

namespace {

// One unit of the CPU probe's work: a dependent chain of xorshift64 steps (no memory traffic, no
// branch the predictor can miss), out of line so that every call site runs the same code.
[[gnu::noinline]] std::uint64_t cpu_probe_unit(std::uint64_t x) {
  for (unsigned i = 0; i < CpuProbe::kStepsPerUnit; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

}  // namespace

void CpuProbe::run(const std::atomic<bool>& stop, void (*poll)()) {
  start_ns_ = now_ns();
  std::uint64_t window_end = start_ns_ + kWindowNs;
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  std::uint32_t in_window = 0;
  unsigned until_poll = kPollEvery;
  // `stop` is only a request to end: relaxed is enough, the thread is joined before its results are
  // read.
  while (!stop.load(std::memory_order_relaxed)) {
    x = cpu_probe_unit(x);
    if (--until_poll == 0) {
      until_poll = kPollEvery;
      if (poll != nullptr) poll();
    }
    const std::uint64_t t = now_ns();
    // The unit in progress when a window ended counts for the window in which it finished.
    ++in_window;
    if (t >= window_end) {
      push(in_window);
      in_window = 0;
      window_end += kWindowNs;
      // Windows that passed while the thread did not run at all.
      while (t >= window_end) {
        push(0);
        window_end += kWindowNs;
      }
    }
  }
  sink_ = x;
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  thread_cpu_s_ = double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

void Probes::start() {
  if (o_.probe) {
    // Sleeps 1 ms in a loop and records how much later than asked it could run again.
    latency_thread_ = std::thread([this] {
      hooks_.attached("latency-probe", [this] {
        tighten_timer_slack();
        while (!stop_.load(std::memory_order_relaxed)) {
          const std::uint64_t t0 = now_ns();
          std::uint64_t slept = 0;
          hooks_.sleep(kProbeSleepNs, &slept);
          const std::uint64_t t1 = now_ns();
          latency_.add(t1, t1 - t0 > kProbeSleepNs ? t1 - t0 - kProbeSleepNs : 0, slept ? t1 - slept : 0);
        }
      });
    });
  }
  if (o_.cpu_probe) {
    cpu_thread_ = std::thread([this] { hooks_.attached("cpu-probe", [this] { cpu_.run(stop_, hooks_.poll); }); });
  }
}

void Probes::stop() {
  stop_.store(true, std::memory_order_relaxed);
  auto join = [this] {
    if (latency_thread_.joinable()) latency_thread_.join();
    if (cpu_thread_.joinable()) cpu_thread_.join();
  };
  if (hooks_.blocking) hooks_.blocking(join);
  else join();
}

RssWatchdog::RssWatchdog(std::size_t budget_bytes, std::function<void()> on_exceeded) {
  thread_ = std::thread([this, budget_bytes, on_exceeded = std::move(on_exceeded)] {
    while (!stop_.load(std::memory_order_relaxed)) {
      if (current_rss_bytes() > budget_bytes) {
        on_exceeded();
        return;
      }
      timespec ts{0, 5'000'000};
      nanosleep(&ts, nullptr);
    }
  });
}

void RssWatchdog::stop() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

std::size_t current_rss_bytes() {
  // "size resident shared text lib data dt", in pages. A plain read(2): no stdio buffer, no malloc.
  const int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[128];
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* p = buf;
  while (*p != '\0' && *p != ' ') ++p;  // skip "size"
  const unsigned long long resident = std::strtoull(p, nullptr, 10);
  return static_cast<std::size_t>(resident) * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

RssSampler::RssSampler(std::uint64_t period_ns, std::size_t capacity) {
  t_.reserve(capacity);
  rss_.reserve(capacity);
  thread_ = std::thread([this, period_ns] {
    // Absolute deadlines, so the sampling period does not drift by the time a sample takes.
    timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!stop_.load(std::memory_order_relaxed)) {
      const std::uint64_t t = now_ns();
      const std::size_t r = current_rss_bytes();
      if (t_.size() < t_.capacity()) {
        t_.push_back(t);
        rss_.push_back(r);
      } else {
        ++dropped_;
      }
      latest_rss_.store(r, std::memory_order_relaxed);
      latest_ns_.store(t, std::memory_order_release);
      next.tv_nsec += static_cast<long>(period_ns);
      while (next.tv_nsec >= 1'000'000'000) {
        next.tv_nsec -= 1'000'000'000;
        ++next.tv_sec;
      }
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
    }
  });
}

RssSampler::~RssSampler() { stop(); }

void note_rss_curve(Record& rec, const RssSampler& sampler, std::uint64_t t_drop, std::uint64_t t_end,
                    std::size_t threshold) {
  double under_ms = -1, peak = 0;
  Record::Series& curve = rec.add_series("rss", {"t_ms_since_drop", "rss_bytes"});
  for (std::size_t i = 0; i < sampler.size(); ++i) {
    const double t_ms = (double(sampler.time_ns(i)) - double(t_drop)) / 1e6;
    curve.rows.push_back({t_ms, double(sampler.rss(i))});
    peak = std::max(peak, double(sampler.rss(i)));
    if (under_ms < 0 && sampler.time_ns(i) > t_drop && sampler.rss(i) < threshold) under_ms = t_ms;
  }
  rec.note("time_to_threshold_ms", under_ms);
  rec.note("waited_ms", double(t_end - t_drop) / 1e6);
  rec.note("rss_peak_bytes", peak);
  rec.note("rss_final_bytes", sampler.size() ? double(sampler.rss(sampler.size() - 1)) : 0.0);
  rec.note("rss_samples_dropped", double(sampler.dropped()));
}

void RssSampler::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void process_usage(double* user_s, double* sys_s, long* max_rss_kb) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  *user_s = double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) * 1e-6;
  *sys_s = double(ru.ru_stime.tv_sec) + double(ru.ru_stime.tv_usec) * 1e-6;
  *max_rss_kb = ru.ru_maxrss;
}

namespace {

void put_string(std::FILE* f, const std::string& s) {
  std::fputc('"', f);
  for (char c : s) {
    if (c == '"' || c == '\\') std::fprintf(f, "\\%c", c);
    else if (static_cast<unsigned char>(c) < 0x20) std::fprintf(f, "\\u%04x", unsigned(c));
    else std::fputc(c, f);
  }
  std::fputc('"', f);
}

}  // namespace

void write_record(const Record& r) {
  std::FILE* f = r.options.json_path.empty() ? stdout : std::fopen(r.options.json_path.c_str(), "w");
  if (f == nullptr) {
    std::perror(r.options.json_path.c_str());
    std::exit(1);
  }
  const Options& o = r.options;
  std::fprintf(f, "{\n  \"collector\": ");
  put_string(f, r.collector);
  std::fprintf(f, ",\n  \"workload\": ");
  put_string(f, o.workload);
  std::fprintf(f,
               ",\n  \"params\": {\"depth\": %d, \"threads\": %d, \"rounds\": %d, \"heap_multiple\": %g, "
               "\"probe\": %s, \"cpu_probe\": %s, \"idle\": %s, \"markers\": %d, \"live_mb\": %g, \"small_mb\": %g, \"collections\": %d, "
               "\"mode\": ",
               o.depth, o.threads, o.rounds, o.heap_multiple, o.probe ? "true" : "false",
               o.cpu_probe ? "true" : "false", o.idle ? "true" : "false", o.markers, o.live_mb,
               o.small_mb, o.collections);
  put_string(f, o.mode);
  std::fprintf(f, ", \"limit_s\": %g, \"churn_mb_s\": %g},\n", o.limit_s, o.churn_mb_s);
  std::fprintf(f, "  \"status\": ");
  put_string(f, r.status);
  std::fprintf(f, ",\n  \"message\": ");
  put_string(f, r.message);
  std::fprintf(f, ",\n  \"wall_s\": %.6f,\n", double(r.end_ns - r.start_ns) * 1e-9);
  std::fprintf(f, "  \"duration_ns\": %llu,\n", static_cast<unsigned long long>(r.end_ns - r.start_ns));
  std::fprintf(f, "  \"cpu_user_s\": %.6f,\n  \"cpu_sys_s\": %.6f,\n", r.cpu_user_s, r.cpu_sys_s);
  std::fprintf(f, "  \"max_rss_kb\": %ld,\n", r.max_rss_kb);
  std::fprintf(f, "  \"collections\": %llu,\n", static_cast<unsigned long long>(r.collections));
  std::fprintf(f, "  \"live_estimate_bytes\": %zu,\n  \"heap_limit_bytes\": %zu,\n  \"heap_peak_bytes\": %zu,\n",
               r.live_estimate_bytes, r.heap_limit_bytes, r.heap_peak_bytes);
  std::fprintf(f, "  \"extra\": {");
  for (std::size_t i = 0; i < r.extra.size(); ++i) {
    std::fprintf(f, "%s", i ? ", " : "");
    put_string(f, r.extra[i].first);
    std::fprintf(f, ": %.9g", r.extra[i].second);
  }
  std::fprintf(f, "},\n  \"series\": {");
  for (std::size_t i = 0; i < r.series.size(); ++i) {
    const Record::Series& sr = r.series[i];
    std::fprintf(f, "%s\n    ", i ? "," : "");
    put_string(f, sr.name);
    std::fprintf(f, ": {\"columns\": [");
    for (std::size_t c = 0; c < sr.columns.size(); ++c) {
      std::fprintf(f, "%s", c ? ", " : "");
      put_string(f, sr.columns[c]);
    }
    std::fprintf(f, "], \"rows\": [");
    for (std::size_t k = 0; k < sr.rows.size(); ++k) {
      std::fprintf(f, "%s[", k ? (k % 8 ? ", " : ",\n      ") : "");
      for (std::size_t c = 0; c < sr.rows[k].size(); ++c) std::fprintf(f, "%s%.9g", c ? ", " : "", sr.rows[k][c]);
      std::fprintf(f, "]");
    }
    std::fprintf(f, "]}");
  }
  std::fprintf(f, "},\n  \"marks\": [");
  for (std::size_t i = 0; i < r.marks.size(); ++i) {
    std::fprintf(f, "%s[", i ? ", " : "");
    put_string(f, r.marks[i].first);
    std::fprintf(f, ", %lld]", static_cast<long long>(r.marks[i].second - r.start_ns));
  }
  // Times relative to the workload's start; a pause that began before it (none should) is negative.
  std::fprintf(f, "],\n  \"pauses_truncated\": %s,\n  \"pauses\": [", r.pauses_truncated ? "true" : "false");
  for (std::size_t i = 0; i < r.pauses.size(); ++i) {
    const PauseRecord& p = r.pauses[i];
    std::fprintf(f, "%s[%lld, %llu, \"%s\"]", i ? (i % 8 ? ", " : ",\n    ") : "",
                 static_cast<long long>(p.start_ns) - static_cast<long long>(r.start_ns),
                 static_cast<unsigned long long>(p.duration_ns), p.kind);
  }
  std::fprintf(f, "],\n  \"probe_dropped\": %zu,\n  \"probe\": [", r.probe ? r.probe->dropped() : 0);
  if (r.probe != nullptr) {
    for (std::size_t i = 0; i < r.probe->size(); ++i) {
      std::fprintf(f, "%s[%lld, %llu, %llu]", i ? (i % 8 ? ", " : ",\n    ") : "",
                   static_cast<long long>(r.probe->woke(i)) - static_cast<long long>(r.start_ns),
                   static_cast<unsigned long long>(r.probe->late(i)),
                   static_cast<unsigned long long>(r.probe->after_wake(i)));
    }
  }
  std::fprintf(f, "]");
  if (r.cpu_probe != nullptr) {
    const CpuProbe& c = *r.cpu_probe;
    std::fprintf(f,
                 ",\n  \"cpu_probe\": {\"start_ns\": %lld, \"window_ns\": %llu, \"steps_per_unit\": %u, "
                 "\"poll_every\": %u, \"thread_cpu_s\": %.6f, \"dropped\": %zu, \"counts\": [",
                 static_cast<long long>(c.start_ns()) - static_cast<long long>(r.start_ns),
                 static_cast<unsigned long long>(CpuProbe::kWindowNs), CpuProbe::kStepsPerUnit,
                 CpuProbe::kPollEvery, c.thread_cpu_s(), c.dropped());
    for (std::size_t i = 0; i < c.size(); ++i)
      std::fprintf(f, "%s%u", i ? (i % 32 ? ", " : ",\n    ") : "", c.count(i));
    std::fprintf(f, "]}");
  }
  std::fprintf(f, "\n}\n");
  std::fflush(f);
  if (f != stdout) std::fclose(f);
}

}  // namespace bench
