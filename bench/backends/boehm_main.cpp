// One Boehm workload process: set the collector up with the heap limit, hook its stop-the-world
// events, start the latency probe, run the workload, write the record.
#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <utility>

#include "backends/backend.hpp"

namespace bench::gc {

std::size_t footprint_of(std::size_t request) {
  void* p = alloc(request);
  return GC_size(p);
}

void Threads::spawn(const char*, std::function<void()> body) {
  threads_.emplace_back([this, body = std::move(body)] {
    GC_stack_base sb;
    GC_get_stack_base(&sb);
    GC_register_my_thread(&sb);
    try {
      body();
    } catch (...) {
      std::lock_guard<std::mutex> g(mu_);
      if (!failure_) failure_ = std::current_exception();
    }
    GC_unregister_my_thread();
  });
}

void Threads::join() {
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
}

namespace {

// Stop-the-world intervals, recorded by the collecting thread with the allocation lock held, so
// they need no synchronisation of their own; read after the workload's threads have joined.
// Preallocated: the callback must not allocate.
constexpr std::size_t kMaxPauses = 1u << 20;
std::vector<PauseRecord>* g_pauses;
std::uint64_t g_stop_begin_ns;
std::uint64_t g_mark_begin_ns;
std::uint64_t g_mark_total_ns;
std::uint64_t g_collections;
std::size_t g_heap_peak;
bool g_pauses_truncated;

void GC_CALLBACK on_collection_event(GC_EventType e) {
  switch (e) {
    case GC_EVENT_START:
      ++g_collections;
      break;
    case GC_EVENT_PRE_STOP_WORLD:
      g_stop_begin_ns = now_ns();
      break;
    case GC_EVENT_POST_START_WORLD:
      if (g_pauses->size() < kMaxPauses)
        g_pauses->push_back({g_stop_begin_ns, now_ns() - g_stop_begin_ns, "stw"});
      else
        g_pauses_truncated = true;
      break;
    case GC_EVENT_MARK_START:
      g_mark_begin_ns = now_ns();
      break;
    case GC_EVENT_MARK_END:
      g_mark_total_ns += now_ns() - g_mark_begin_ns;
      break;
    default:
      break;
  }
}

void GC_CALLBACK on_heap_resize(GC_word new_size) {
  if (new_size > g_heap_peak) g_heap_peak = new_size;
}

}  // namespace

GcTotals gc_totals() { return {g_collections, g_mark_total_ns, g_pauses->size()}; }
const PauseRecord& recorded_pause(std::size_t i) { return (*g_pauses)[i]; }

}  // namespace bench::gc

int main(int argc, char** argv) {
  using namespace bench;
  using namespace bench::gc;
  Options o = parse_options(argc, argv);
  const Workload* w = find_workload(o.workload);
  if (w == nullptr) {
    std::fprintf(stderr, "boehm-bench: unknown workload '%s'\n", o.workload.c_str());
    return 2;
  }
  if (o.workload == "gcbench") o.threads = 1;
  if (o.idle) {
    std::fprintf(stderr, "boehm-bench: --idle: the idle-collector baseline runs on tricolor-bench\n");
    return 2;
  }

  // The marker count (including the collecting thread) is fixed at initialisation; 0 leaves it to
  // GC_MARKERS / GC_NPROCS or the core count.
  if (o.markers > 0) GC_set_markers_count(static_cast<unsigned>(o.markers));
  GC_INIT();
  GC_allow_register_threads();
  Record rec;
  rec.collector = "boehm";
  rec.options = o;
  rec.live_estimate_bytes = w->peak_live(o);
  if (o.heap_multiple > 0) {
    rec.heap_limit_bytes = static_cast<std::size_t>(o.heap_multiple * double(rec.live_estimate_bytes));
    GC_set_max_heap_size(rec.heap_limit_bytes);
  }
  std::vector<PauseRecord> pauses;
  pauses.reserve(kMaxPauses);
  g_pauses = &pauses;
  g_heap_peak = GC_get_heap_size();
  GC_set_on_heap_resize(on_heap_resize);
  GC_set_on_collection_event(on_collection_event);
  // Collections during GC_INIT and the footprint probes above are not the workload's.
  GC_gcollect();
  pauses.clear();
  g_collections = 0;
  g_mark_total_ns = 0;

  // Probes: registered threads, stopped by signal like any mutator, so a probe wakes (or counts)
  // late by however long the world stayed stopped. Nothing to poll.
  ProbeHooks hooks;
  hooks.attached = [](const char*, const std::function<void()>& body) {
    GC_stack_base sb;
    GC_get_stack_base(&sb);
    GC_register_my_thread(&sb);
    body();
    GC_unregister_my_thread();
  };
  hooks.sleep = [](std::uint64_t ns, std::uint64_t*) { std::this_thread::sleep_for(std::chrono::nanoseconds(ns)); };
  Probes probes(o, std::move(hooks));
  rec.probe = probes.latency();
  rec.cpu_probe = probes.cpu();
  rec.start_ns = now_ns();
  probes.start();
  double u0, s0;
  long rss;
  process_usage(&u0, &s0, &rss);
  try {
    Runtime runtime;
    w->run(o, rec, runtime);
  } catch (const std::bad_alloc&) {
    rec.status = "oom";
    rec.message = "heap limit reached (GC_MALLOC returned null)";
  } catch (const std::exception& e) {
    rec.status = "check-failed";
    rec.message = e.what();
  }
  rec.end_ns = now_ns();
  probes.stop();
  double u1, s1;
  process_usage(&u1, &s1, &rec.max_rss_kb);
  rec.cpu_user_s = u1 - u0;
  rec.cpu_sys_s = s1 - s0;
  GC_set_on_collection_event(nullptr);
  rec.collections = g_collections;
  rec.pauses = pauses;
  rec.pauses_truncated = g_pauses_truncated;
  rec.heap_peak_bytes = g_heap_peak;
  rec.note("boehm_parallel_markers", GC_get_parallel());  // helper markers besides the collecting thread
  rec.note("boehm_all_interior_pointers", GC_get_all_interior_pointers());
  rec.note("boehm_mark_ms", double(g_mark_total_ns) * 1e-6);
  rec.note("boehm_gc_no", double(GC_get_gc_no()));
  write_record(rec);
  return rec.status == "ok" ? 0 : 1;
}
