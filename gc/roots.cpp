// Root scanning: each thread's Root list and root callbacks, what the heap's RootSet holds (the
// Globals, heap-wide root callbacks, targets of Globals destroyed during marking), and the objects
// whose finalizers are ready to run (the FinalizerQueue's ready queue).
#include "gc/collector_work.hpp"
#include "gc/heap_impl.hpp"

namespace tricolor::internal {

void HeapImpl::scan_thread_roots(ThreadState* t, MarkContext& cx) {
  for (RootNode* r = t->roots; r != nullptr; r = r->prev)
    if (r->ptr != nullptr) marker.shade(r->ptr, cx);
  if (!t->root_callbacks.empty()) {
    MarkingTracer tracer(marker, cx);
    ++t->no_safepoint_depth;  // a callback that allocated would re-enter the handshake
    CollectorWorkScope callbacks(kInRootCallback);  // ... so allocating or collecting there is refused
    for (const RootCallbackEntry& e : t->root_callbacks) e.fn(tracer, e.context);
    tracer.flush();  // the callbacks' pointers into cx before the caller publishes it
    --t->no_safepoint_depth;
  }
}

void HeapImpl::scan_globals(MarkContext& cx) {
  roots_.for_each_global([&](GlobalNode* g) {
    // acquire: pairs with Global's release store: the target may have been allocated during marking
    // and is scanned next.
    if (const void* p = g->ptr.load(std::memory_order_acquire)) marker.shade(p, cx);
  });
}

void HeapImpl::scan_heap_callbacks(MarkContext& cx) {
  MarkingTracer tracer(marker, cx);
  {
    CollectorWorkScope callbacks(kInRootCallback);  // the world is stopped: collecting would deadlock
    roots_.for_each_heap_callback([&](const RootCallbackEntry& e) { e.fn(tracer, e.context); });
  }
  tracer.flush();
  // Ready finalizers are roots until run; shaded under the queue's lock.
  finalizers_.for_each_ready_finalizer([&](const void* p) { marker.shade(p, cx); });
}

bool HeapImpl::drain_pending_shades(MarkContext& cx) {
  const std::vector<const void*> v = roots_.take_pending_shades();
  for (const void* p : v) marker.shade(p, cx);
  cx.work.publish();
  marker.merge(cx);
  return !v.empty();
}

}  // namespace tricolor::internal
