#include "gc/testing.hpp"

#include <thread>

#include "gc/heap_impl.hpp"
#include "tricolor/mutator.hpp"

namespace tricolor::internal {

void hold_markers_for_testing(Heap& heap, bool hold) { heap.impl().marker.hold_for_testing(hold); }

void blacken_for_testing(Heap& heap, const void* obj) {
  HeapImpl& h = heap.impl();
  MarkContext cx(h.marker.pool());
  h.marker.shade(obj, cx);
  if (cx.work.pop_local() != nullptr) {
  }  // obj itself need not be scanned again by a marker
  h.marker.scan(obj, cx);  // its children become grey
  cx.work.publish();
  h.marker.merge(cx);
}

bool is_marked_for_testing(Heap& heap, const void* obj) { return heap.impl().marker.is_marked(obj); }

void unmark_for_testing(Heap& heap, const void* obj) {
  Span* s = heap.impl().pages.span_of(obj);
  TC_CHECK(s != nullptr && s->state == SpanState::kInUse, "unmark_for_testing: %p is not an object of this heap", obj);
  const std::size_t i = s->slot_index(obj);
  // relaxed: markers are quiescent when the hook runs; the termination stop orders it before the verifier.
  s->mark_bits[i / 64].fetch_and(~(std::uint64_t{1} << (i % 64)), std::memory_order_relaxed);
}

void wait_for_sweeping_for_testing(Heap& heap) { heap.impl().sweeper.finish(heap.impl().collector.sweep_gen()); }

}  // namespace tricolor::internal

namespace tricolor::internal {
void fail_commits_for_testing(Heap& heap, bool fail) { heap.impl().pages.fail_commits_for_testing(fail); }
std::size_t scavenge_now_for_testing(Heap& heap) { return heap.impl().pages.scavenge(UINT64_MAX); }
}  // namespace tricolor::internal

namespace tricolor::internal {
void set_safepoint_warning_for_testing(Heap& heap, std::uint64_t after_ns) {
  HeapImpl& h = heap.impl();
  std::lock_guard lock(h.safepoint.threads_mu());  // the collector reads it under this lock
  h.safepoint.set_warn_after_ns(after_ns);
}
std::uint64_t safepoint_warnings_for_testing(Heap& heap) { return heap.impl().safepoint.warnings_printed(); }
std::uint64_t mark_termination_restarts_for_testing(Heap& heap) { return heap.impl().collector.mark_termination_restarts(); }
void set_heap_limit_wait_hook_for_testing(Heap& heap, void (*fn)(void*), void* ctx) {
  heap.impl().collector.set_heap_limit_wait_hook(fn, ctx);
}
void set_before_termination_hook_for_testing(Heap& heap, void (*fn)(void*), void* ctx) {
  heap.impl().collector.set_before_termination_hook(fn, ctx);
}
void set_after_weak_check_hook_for_testing(Heap& heap, void (*fn)(void*), void* ctx) {
  heap.impl().collector.set_after_weak_check_hook(fn, ctx);
}
void set_marker_wait_hook_for_testing(Heap& heap, void (*fn)(void*), void* ctx) {
  heap.impl().marker.set_wait_hook_for_testing(fn, ctx);
}
void wait_for_markers_for_testing(Heap& heap) { heap.impl().marker.pool().wait_quiescent(); }
void wait_for_heap_limit_waiter_for_testing(Heap& heap) { heap.impl().collector.wait_for_heap_limit_waiter(); }
std::uint64_t heap_limit_waits_for_testing(Heap& heap) { return heap.impl().collector.heap_limit_waits(); }
std::uint64_t heap_limit_sweeps_for_testing(Heap& heap) { return heap.impl().collector.heap_limit_sweeps(); }
std::uint64_t heap_limit_collections_for_testing(Heap& heap) { return heap.impl().collector.heap_limit_collections(); }
void cycle_without_sweeping_for_testing(Heap& heap) {
  Collector& c = heap.impl().collector;
  const std::uint64_t target = c.cycles_completed() + 1;
  c.request_cycle();
  BlockingScope waiting;  // the cycle scans this thread's roots on its behalf
  while (c.cycles_completed() < target) std::this_thread::yield();
}
}  // namespace tricolor::internal
