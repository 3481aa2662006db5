// One tricolor workload process: a heap with the limit, the main thread and the latency probe
// attached, the workload, then the record with every pause from the heap's own accounting. With
// --idle, the idle-collector baseline: the same heap with collection off.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "backends/backend.hpp"

namespace bench::gc {

void Threads::spawn(const char* name, std::function<void()> body) {
  threads_.emplace_back([this, name, body = std::move(body)] {
    tricolor::Mutator m(heap_, name);
    try {
      body();
    } catch (...) {
      std::lock_guard<std::mutex> g(mu_);
      if (!failure_) failure_ = std::current_exception();
    }
  });
}

void Threads::join() {
  {
    std::optional<tricolor::BlockingScope> waiting;
    if (tricolor::Mutator::current() != nullptr) waiting.emplace();
    for (auto& t : threads_) t.join();
  }
  threads_.clear();
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
}

}  // namespace bench::gc

namespace bench {
namespace {

// Our own names, so the report does not depend on to_string's spelling. Global kinds stop every
// mutator; the others are one thread's time spent on the collector's behalf.
const char* kind_name(tricolor::PauseKind k) {
  switch (k) {
    case tricolor::PauseKind::kMarkStart: return "mark_start";
    case tricolor::PauseKind::kMarkTermination: return "mark_termination";
    case tricolor::PauseKind::kFullStop: return "full_stop";
    case tricolor::PauseKind::kRootScan: return "root_scan";
    case tricolor::PauseKind::kHandshake: return "handshake";
    case tricolor::PauseKind::kAssist: return "assist";
    case tricolor::PauseKind::kHeapLimitWait: return "heap_limit_wait";
  }
  return "unknown";
}

// Heap::stats().pauses keeps only the last 1<<16 pauses, and a long run records more than that
// (per-thread handshakes and assists). A monitor thread (not attached: it only reads statistics)
// snapshots the list every 50 ms and appends what is new since the last pause it saw.
class PauseMonitor {
 public:
  explicit PauseMonitor(tricolor::Heap& heap) : heap_(heap) {
    thread_ = std::thread([this] {
      while (!stop_.load(std::memory_order_relaxed)) {
        poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  // Stops the monitor and takes a last snapshot; returns every pause seen, in recording order.
  std::vector<tricolor::Pause> finish(bool* truncated) {
    stop_.store(true);
    thread_.join();
    poll();
    *truncated = truncated_;
    return std::move(all_);
  }

 private:
  static bool same(const tricolor::Pause& a, const tricolor::Pause& b) {
    return a.start_ns == b.start_ns && a.duration_ns == b.duration_ns && a.kind == b.kind;
  }
  void poll() {
    const std::vector<tricolor::Pause> snap = heap_.stats().pauses;
    std::size_t from = 0;
    if (!all_.empty()) {
      // The newest pause we already hold; everything after it in the snapshot is new. If it has
      // been pushed out of the ring, pauses were lost between two polls.
      std::size_t i = snap.size();
      while (i > 0 && !same(snap[i - 1], all_.back())) --i;
      if (i == 0 && !snap.empty()) truncated_ = true;
      from = i;
    } else if (snap.size() >= kRing) {
      truncated_ = true;
    }
    all_.insert(all_.end(), snap.begin() + static_cast<std::ptrdiff_t>(from), snap.end());
  }

  static constexpr std::size_t kRing = std::size_t{1} << 16;
  tricolor::Heap& heap_;
  std::vector<tricolor::Pause> all_;
  bool truncated_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The TRICOLOR_* variables that could start cycles. An idle run removes them before the heap reads
// the environment, so that `TRICOLOR_GC_PERCENT=50 tools/bench` does not make the baseline collect.
void drop_collection_env() {
  for (const char* v : {"TRICOLOR_GC_PERCENT", "TRICOLOR_MAX_HEAP", "TRICOLOR_SOFT_LIMIT", "TRICOLOR_INITIAL_HEAP",
                        "TRICOLOR_PERIODIC_GC_MS"})
    unsetenv(v);
}

// The probes' life on tricolor: attached like any mutator; the 1 ms sleep in a BlockingScope, and
// lateness taken after the following safepoint, because leaving the scope may wait for the collector
// to finish acting on this thread's behalf and the safepoint may run a handshake: a mutator feels both
// before it can run again. The CPU probe polls with safepoint(), as any loop that does not allocate must.
ProbeHooks probe_hooks(tricolor::Heap& heap) {
  ProbeHooks h;
  h.attached = [&heap](const char* name, const std::function<void()>& body) {
    tricolor::Mutator m(heap, name);
    body();
  };
  h.sleep = [](std::uint64_t ns, std::uint64_t* sleep_returned_ns) {
    {
      tricolor::BlockingScope sleeping;
      std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
      *sleep_returned_ns = now_ns();  // the clock only: no heap access inside the scope
    }
    tricolor::safepoint();
  };
  h.poll = [] { tricolor::safepoint(); };
  h.blocking = [](const std::function<void()>& wait) {
    std::optional<tricolor::BlockingScope> waiting;
    if (tricolor::Mutator::current() != nullptr) waiting.emplace();
    wait();
  };
  return h;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  Options o = parse_options(argc, argv);
  const Workload* w = find_workload(o.workload);
  if (w == nullptr) {
    std::fprintf(stderr, "tricolor-bench: unknown workload '%s'\n", o.workload.c_str());
    return 2;
  }
  if (o.workload == "gcbench") o.threads = 1;
  if (o.idle) drop_collection_env();

  Record rec;
  rec.collector = o.idle ? "idle" : "tricolor";
  rec.options = o;
  rec.live_estimate_bytes = w->peak_live(o);
  tricolor::Config cfg;
  if (o.heap_multiple > 0 && !o.idle) {
    // The same hard limit as Boehm's (multiple x live), and, like Boehm, the collector's own default
    // pacing under it (gc_percent 100, as Go's GOGC): both are compared as a user gets them. Aiming
    // the pacer at the limit itself (gc_percent = (multiple - 1) x 100) was tried: fewer cycles, but
    // 17-35% more resident memory and no faster on any workload (2-core machine).
    rec.heap_limit_bytes = static_cast<std::size_t>(o.heap_multiple * double(rec.live_estimate_bytes));
    cfg.max_heap = rec.heap_limit_bytes;
  }
  if (w->configure != nullptr) w->configure(o, cfg);
  cfg.apply_env();
  if (o.markers > 0) cfg.marker_threads = static_cast<unsigned>(o.markers);
  if (o.idle) {
    // The idle-collector baseline: no trigger (gc_percent -1 with no soft or hard limit makes the
    // pacer's trigger infinite, gc/pacer.cpp) and no periodic cycle. Nothing is ever freed, so the
    // RSS budget below ends a workload that allocates more than fits.
    cfg.gc_percent = -1;
    cfg.max_heap = 0;
    cfg.soft_limit = 0;
    cfg.periodic_gc_ms = 0;
  }
  tricolor::Heap heap(cfg);
  gc::Runtime runtime(heap);

  Probes probes(o, probe_hooks(heap));
  rec.probe = probes.latency();
  rec.cpu_probe = probes.cpu();
  PauseMonitor monitor(heap);
  double u0 = 0, s0 = 0;
  // Everything after the workload: stop the probes, take the figures, write the record. Run once,
  // by main() or, in an idle run that reached its RSS budget, by the watchdog (which then ends the
  // process with the workload still running); finish_mu and `finished` decide which.
  std::mutex finish_mu;
  bool finished = false;
  auto finish = [&](std::uint64_t end_ns, bool truncated) {
    rec.end_ns = end_ns;
    probes.stop();
    double u1, s1;
    process_usage(&u1, &s1, &rec.max_rss_kb);
    rec.cpu_user_s = u1 - u0;
    rec.cpu_sys_s = s1 - s0;
    const tricolor::Stats st = heap.stats();
    rec.collections = st.cycles;
    rec.heap_peak_bytes = st.heap_peak_bytes;
    for (const tricolor::Pause& p : monitor.finish(&rec.pauses_truncated)) {
      if (p.start_ns + p.duration_ns < rec.start_ns || p.start_ns > rec.end_ns) continue;
      rec.pauses.push_back({p.start_ns, p.duration_ns, kind_name(p.kind)});
    }
    std::lock_guard<std::mutex> g(record_mutex());
    if (o.idle) {
      rec.extra.emplace_back("idle_truncated", truncated ? 1.0 : 0.0);
      rec.extra.emplace_back("idle_budget_bytes", o.idle_budget_mb * 1048576.0);
      if (st.cycles != 0 && rec.status == "ok") {
        rec.status = "error";
        rec.message = "the idle-collector run collected " + std::to_string(st.cycles) + " times";
      }
    }
    if (truncated) rec.message = "ended at the idle run's RSS budget";
    rec.extra.emplace_back("tricolor_gc_percent", cfg.gc_percent);
    rec.extra.emplace_back("tricolor_marker_threads", cfg.marker_threads);
    rec.extra.emplace_back("tricolor_mark_wall_ms", st.mark_wall_ms);
    rec.extra.emplace_back("tricolor_mark_cpu_ms", st.mark_cpu_ms);
    rec.extra.emplace_back("tricolor_assist_ms", st.assist_ms);
    rec.extra.emplace_back("tricolor_objects_freed", double(st.objects_freed));
    rec.extra.emplace_back("tricolor_live_bytes_last_cycle", double(st.live_bytes));
    rec.extra.emplace_back("tricolor_global_pause_count", double(st.global_pauses.count));
    rec.extra.emplace_back("tricolor_thread_pause_count", double(st.thread_pauses.count));
    rec.extra.emplace_back("tricolor_global_pause_max_ms", st.global_pauses.max_ms);
    rec.extra.emplace_back("tricolor_thread_pause_max_ms", st.thread_pauses.max_ms);
    write_record(rec);
  };
  std::optional<RssWatchdog> watchdog;
  std::uint64_t end_ns = 0;
  {
    tricolor::Mutator main_thread(heap, "main");
    rec.start_ns = now_ns();
    probes.start();
    long rss;
    process_usage(&u0, &s0, &rss);
    if (o.idle && o.idle_budget_mb > 0) {
      watchdog.emplace(static_cast<std::size_t>(o.idle_budget_mb * 1048576.0), [&] {
        std::lock_guard<std::mutex> g(finish_mu);
        if (finished) return;
        finished = true;
        finish(now_ns(), true);
        std::_Exit(0);
      });
    }
    try {
      w->run(o, rec, runtime);
    } catch (const std::bad_alloc&) {
      std::lock_guard<std::mutex> g(record_mutex());
      rec.status = "oom";
      rec.message = "heap limit reached (make<T> threw std::bad_alloc)";
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> g(record_mutex());
      rec.status = "check-failed";
      rec.message = e.what();
    }
    end_ns = now_ns();
    {
      std::lock_guard<std::mutex> g(finish_mu);
      finished = true;
    }
    if (watchdog) watchdog->stop();
  }
  finish(end_ns, false);
  return rec.status == "ok" ? 0 : 1;
}
