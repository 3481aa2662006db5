// The TRICOLOR_GCTRACE line (gc/stats_recorder.hpp): its format from known figures, and what a real
// heap prints per cycle (forced and periodic cycles marked, no goal printed when collection is off).
#include "gc/stats_recorder.hpp"
#include "gc/heap_impl.hpp"
#include "test_heap.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <string>

using namespace tricolor;
using internal::StatsRecorder;
using internal::TraceLine;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// Captures what this process writes to stderr (fd 2) while it lives.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    saved_ = dup(2);
    file_ = std::tmpfile();
    dup2(fileno(file_), 2);
  }
  std::string finish() {
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    std::string out;
    std::rewind(file_);
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, file_)) > 0;) out.append(buf, n);
    std::fclose(file_);
    return out;
  }

 private:
  int saved_ = -1;
  std::FILE* file_ = nullptr;
};

}  // namespace

TEST_CASE("the trace line's format", "[gctrace]") {
  TraceLine c;
  c.cycle = 7;
  c.start_phase_ns = 40000;      // 0.040 ms
  c.mark_ns = 12100000;          // 12.100 ms
  c.stop_ns = 350000;            // 0.350 ms
  c.marker_cpu_ns = 21800000;    // 21.8 ms of 2 x 12.14 ms
  c.markers = 2;
  c.heap_before = 48 * kMiB;
  c.heap_after = 52 * kMiB;
  c.live = 21 * kMiB / 2;
  c.goal = 300 * kMiB;
  REQUIRE(StatsRecorder::format_trace_line(c, 2.3154, 3.4, 1.25) ==
          "gc 7 @2.315s 3%: 0.040+12.100+0.350 ms clock, 21.800+1.250/2.480 ms cpu, 48.0->52.0->10.5 MB, "
          "300 MB goal, 2 markers\n");
  c.cause = TraceLine::Cause::kForced;
  c.restarts = 1;
  c.goal = SIZE_MAX / 2;  // collection off: the pacer's "no goal"
  const std::string forced = StatsRecorder::format_trace_line(c, 2.3154, 3.4, 1.25);
  REQUIRE(forced.find("MB, no goal, 2 markers, 1 restart (forced)\n") != std::string::npos);
  c.rounds = 5;
  c.round_ns = 812400;  // 0.8124 ms
  const std::string rounds = StatsRecorder::format_trace_line(c, 2.3154, 3.4, 1.25);
  REQUIRE(rounds.find("MB, no goal, 2 markers, 5 rounds in 0.812 ms, 1 restart (forced)\n") != std::string::npos);
  c.trigger_lag_ns = 4520000;                 // 4.52 ms
  c.trigger_lag_bytes = 39 * kMiB / 2;        // 19.5 MB
  REQUIRE(StatsRecorder::format_trace_line(c, 2.3154, 3.4, 1.25)
              .find("MB, no goal, 2 markers, 5 rounds in 0.812 ms, trigger lag 4.520 ms / 19.5 MB, 1 restart (forced)\n") !=
          std::string::npos);
  c.trigger_lag_ns = 0;
  c.rounds = 1;
  REQUIRE(StatsRecorder::format_trace_line(c, 2.3154, 3.4, 1.25).find(", 1 round in ") != std::string::npos);
  c.rounds = 0;
  c.cause = TraceLine::Cause::kPeriodic;
  c.concurrent = false;
  c.markers = 1;
  c.goal = SIZE_MAX;
  const std::string periodic = StatsRecorder::format_trace_line(c, 2.3154, 3.4, 1.25);
  REQUIRE(periodic.find("no goal, 1 marker, 1 restart (stop-the-world) (periodic)\n") != std::string::npos);
}

TEST_CASE("a heap with gctrace prints one line per cycle", "[gctrace]") {
  const std::regex line(
      R"(gc [0-9]+ @[0-9]+\.[0-9]{3}s [0-9]+%: [0-9.]+\+[0-9.]+\+[0-9.]+ ms clock, [0-9.]+\+[0-9.]+/[0-9.]+ ms cpu, )"
      R"([0-9.]+->[0-9.]+->[0-9.]+ MB, ([0-9.]+ MB goal|no goal), [0-9]+ markers?(, ([0-9]+) rounds? in [0-9.]+ ms)?)"
      R"((, trigger lag [0-9]+\.[0-9]{3} ms / [0-9.]+ MB)?)"
      R"((, [0-9]+ restarts?)?)"
      R"(( \(stop-the-world\))?( \((forced|periodic)\))?)");
  SECTION("paced and forced cycles") {
    Config c = tctest::test_config();
    c.gctrace = true;
    c.periodic_gc_ms = 0;
    StderrCapture capture;
    std::uint64_t cycles = 0;
    {
      tctest::TestHeap h(c);
      // Paced cycles (1 MiB initial heap), until one has completed: a paced cycle requested but not
      // yet started when collect_now() asks for the next one would be that same cycle.
      for (int i = 0; i < 100000 || (i % 1024 != 0 || h.stats().cycles == 0); ++i) make<tctest::Node>(std::uint64_t(i));
      h.collect_now();
      cycles = h.stats().cycles;
    }
    const std::string out = capture.finish();
    std::size_t lines = 0, forced = 0, lagged = 0;
    for (std::size_t at = 0, nl; (nl = out.find('\n', at)) != std::string::npos; at = nl + 1) {
      const std::string l = out.substr(at, nl - at);
      INFO(l);
      std::smatch m;
      REQUIRE(std::regex_match(l, m, line));
      ++lines;
      // A concurrent cycle without weak work runs at least five rounds: barrier, roots, a flush
      // that proves termination, and 5c's two (gc/collector.cpp).
      REQUIRE(m[3].matched);
      REQUIRE(std::stoul(m[3].str()) >= 5);
      if (l.find("(forced)") != std::string::npos) ++forced;
      // The paced cycles answer a request made at the trigger: their lines say how late they began.
      if (l.find(", trigger lag ") != std::string::npos) ++lagged;
    }
    REQUIRE(lines == cycles);
    REQUIRE(cycles >= 2);
    REQUIRE(forced >= 1);
    REQUIRE(lagged >= 1);
    REQUIRE(out.find("MB goal") != std::string::npos);
  }
  SECTION("collection off: no goal, never SIZE_MAX as megabytes") {
    Config c = tctest::test_config();
    c.gctrace = true;
    c.periodic_gc_ms = 0;
    c.gc_percent = -1;
    c.concurrent = false;
    StderrCapture capture;
    {
      tctest::TestHeap h(c);
      for (int i = 0; i < 1000; ++i) make<tctest::Node>(std::uint64_t(i));
      h.collect_now();
    }
    const std::string out = capture.finish();
    INFO(out);
    REQUIRE(std::regex_match(out.substr(0, out.size() - 1), line));
    REQUIRE(out.find("no goal, ") != std::string::npos);
    REQUIRE(out.find("(stop-the-world) (forced)\n") != std::string::npos);
    REQUIRE(out.find(" round") == std::string::npos);  // a stop-the-world cycle runs no handshake round
  }
}
