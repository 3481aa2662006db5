// One tricolor workload process: a heap with the limit, the main thread and the latency probe
// attached, the workload, then the record with every pause from the heap's own accounting.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "tricolor/runtime.hpp"

namespace bench::tc {

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

const Workload* find_workload(const std::string& name) {
  static const Workload kWorkloads[] = {
      {"gcbench", gcbench_live, gcbench_run},
      {"gcbench-mt", gcbench_live, gcbench_run},
      {"binary-trees", binary_trees_live, binary_trees_run},
      {"quad-tree", quad_tree_live, quad_tree_run},
      {"mark-scaling", mark_scaling_live, mark_scaling_run, mark_scaling_configure},
      {"rss-return", rss_return_live, rss_return_run},
  };
  for (const Workload& w : kWorkloads)
    if (name == w.name) return &w;
  return nullptr;
}

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

}  // namespace
}  // namespace bench::tc

int main(int argc, char** argv) {
  using namespace bench;
  using namespace bench::tc;
  Options o = parse_options(argc, argv);
  const Workload* w = find_workload(o.workload);
  if (w == nullptr) {
    std::fprintf(stderr, "tricolor-bench: unknown workload '%s'\n", o.workload.c_str());
    return 2;
  }
  if (o.workload == "gcbench") o.threads = 1;

  Record rec;
  rec.collector = "tricolor";
  rec.options = o;
  rec.live_estimate_bytes = w->peak_live(o);
  tricolor::Config cfg;
  if (o.heap_multiple > 0) {
    // The same multiple of live data as Boehm's hard limit, and the pacer aims at it: a heap goal of
    // multiple x live is gc_percent = (multiple - 1) x 100.
    rec.heap_limit_bytes = static_cast<std::size_t>(o.heap_multiple * double(rec.live_estimate_bytes));
    cfg.max_heap = rec.heap_limit_bytes;
    cfg.gc_percent = static_cast<int>(std::lround((o.heap_multiple - 1) * 100));
  }
  if (w->configure != nullptr) w->configure(o, cfg);
  cfg.apply_env();
  if (o.markers > 0) cfg.marker_threads = static_cast<unsigned>(o.markers);
  tricolor::Heap heap(cfg);

  ProbeSamples probe;
  std::atomic<bool> stop{false};
  PauseMonitor monitor(heap);
  {
    tricolor::Mutator main_thread(heap, "main");
    std::thread probe_thread;
    rec.start_ns = now_ns();
    if (o.probe) {
      // An attached thread that sleeps 1 ms in a blocking scope, then answers any pending handshake.
      // Lateness is measured after the safepoint: leaving the scope may wait for the collector to
      // finish acting on this thread's behalf, and the safepoint may run a handshake, and a mutator
      // feels both before it can run again.
      probe_thread = std::thread([&] {
        tricolor::Mutator m(heap, "latency-probe");
        tighten_timer_slack();
        while (!stop.load(std::memory_order_relaxed)) {
          const std::uint64_t t0 = now_ns();
          std::uint64_t slept;
          {
            tricolor::BlockingScope sleeping;
            std::this_thread::sleep_for(std::chrono::nanoseconds(kProbeSleepNs));
            slept = now_ns();  // the clock only: no heap access inside the scope
          }
          tricolor::safepoint();
          const std::uint64_t t1 = now_ns();
          probe.add(t1, t1 - t0 > kProbeSleepNs ? t1 - t0 - kProbeSleepNs : 0, t1 - slept);
        }
      });
      rec.probe = &probe;
    }
    double u0, s0;
    long rss;
    process_usage(&u0, &s0, &rss);
    try {
      w->run(o, rec, heap);
    } catch (const std::bad_alloc&) {
      rec.status = "oom";
      rec.message = "heap limit reached (make<T> threw std::bad_alloc)";
    } catch (const std::exception& e) {
      rec.status = "check-failed";
      rec.message = e.what();
    }
    rec.end_ns = now_ns();
    stop.store(true);
    if (probe_thread.joinable()) {
      tricolor::BlockingScope waiting;
      probe_thread.join();
    }
    double u1, s1;
    process_usage(&u1, &s1, &rec.max_rss_kb);
    rec.cpu_user_s = u1 - u0;
    rec.cpu_sys_s = s1 - s0;
  }

  const tricolor::Stats st = heap.stats();
  rec.collections = st.cycles;
  rec.heap_peak_bytes = st.heap_peak_bytes;
  for (const tricolor::Pause& p : monitor.finish(&rec.pauses_truncated)) {
    if (p.start_ns + p.duration_ns < rec.start_ns || p.start_ns > rec.end_ns) continue;
    rec.pauses.push_back({p.start_ns, p.duration_ns, kind_name(p.kind)});
  }
  rec.note("tricolor_gc_percent", cfg.gc_percent);
  rec.note("tricolor_marker_threads", cfg.marker_threads);
  rec.note("tricolor_mark_wall_ms", st.mark_wall_ms);
  rec.note("tricolor_mark_cpu_ms", st.mark_cpu_ms);
  rec.note("tricolor_assist_ms", st.assist_ms);
  rec.note("tricolor_objects_freed", double(st.objects_freed));
  rec.note("tricolor_live_bytes_last_cycle", double(st.live_bytes));
  rec.note("tricolor_global_pause_count", double(st.global_pauses.count));
  rec.note("tricolor_thread_pause_count", double(st.thread_pauses.count));
  rec.note("tricolor_global_pause_max_ms", st.global_pauses.max_ms);
  rec.note("tricolor_thread_pause_max_ms", st.thread_pauses.max_ms);
  write_record(rec);
  return rec.status == "ok" ? 0 : 1;
}
