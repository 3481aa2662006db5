// See harness.hpp. The JSON writer is a few lines of our own: the record is flat, numbers and short
// ASCII strings, and the processes must not depend on anything the C++ toolchain lacks.
#include "harness.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

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
               "usage: %s --workload gcbench|gcbench-mt|binary-trees|quad-tree [--depth N]\n"
               "          [--threads N] [--rounds N] [--heap-multiple X] [--no-probe] [--json PATH]\n",
               prog, why, prog);
  std::exit(2);
}

long parse_int(const char* prog, const char* flag, const char* s) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
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
    else usage(prog, "unknown option");
  }
  if (o.workload.empty()) usage(prog, "--workload is required");
  if (o.threads < 1) usage(prog, "--threads must be at least 1");
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
               "\"probe\": %s},\n",
               o.depth, o.threads, o.rounds, o.heap_multiple, o.probe ? "true" : "false");
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
  std::fprintf(f, "]\n}\n");
  if (f != stdout) std::fclose(f);
}

}  // namespace bench
