// Roots: each thread's Root list and root callbacks, the Globals, heap-wide root callbacks.
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
  std::lock_guard lock(roots_mu_);
  for (GlobalNode* g = globals_; g != nullptr; g = g->next)
    // acquire: pairs with Global's release store: the target may have been allocated during marking
    // and is scanned next.
    if (const void* p = g->ptr.load(std::memory_order_acquire)) marker.shade(p, cx);
}

void HeapImpl::scan_heap_callbacks(MarkContext& cx) {
  std::lock_guard lock(roots_mu_);
  MarkingTracer tracer(marker, cx);
  {
    CollectorWorkScope callbacks(kInRootCallback);  // the world is stopped: collecting would deadlock
    for (const RootCallbackEntry& e : heap_callbacks_) e.fn(tracer, e.context);
  }
  tracer.flush();
  scan_ready_finalizers(cx);
}

void HeapImpl::register_global(GlobalNode* g) {
  std::lock_guard lock(roots_mu_);
  g->heap = this;
  g->prev = nullptr;
  g->next = globals_;
  if (globals_) globals_->prev = g;
  globals_ = g;
}

void HeapImpl::unregister_global(GlobalNode* g) {
  std::lock_guard lock(roots_mu_);
  // Deleting a root while marking: shade what it held (the deletion barrier), as for a Member store.
  // relaxed: under roots_mu_, not threads_mu (so the rule at marking_'s declaration does not apply),
  // and still enough. If scan_globals came first (roots_mu_ orders it), it shaded g's target already.
  // If not, the target can be lost only if some thread read it from g after its own root scan; that
  // read follows the store of true (root scans follow the barrier round) and precedes this
  // destruction (the embedder orders a Global's uses before it), so this load reads true (coherence).
  // A read before that thread's root scan left the target in its roots or behind a barrier. A stale
  // true only queues a shade of an object alive now, drained before any sweep could free it.
  // g->ptr relaxed: ordered before the destruction in the same way; only the pointer value is used.
  if (marking_.load(std::memory_order_relaxed))
    if (const void* p = g->ptr.load(std::memory_order_relaxed)) pending_shades_.push_back(p);
  if (g->prev) g->prev->next = g->next;
  else globals_ = g->next;
  if (g->next) g->next->prev = g->prev;
  g->next = g->prev = nullptr;
}

bool HeapImpl::drain_pending_shades(MarkContext& cx) {
  std::vector<const void*> v;
  {
    std::lock_guard lock(roots_mu_);
    v.swap(pending_shades_);
  }
  for (const void* p : v) marker.shade(p, cx);
  cx.work.publish();
  marker.merge(cx);
  return !v.empty();
}

std::uint64_t HeapImpl::add_heap_roots(RootCallback fn, void* ctx, const char* name) {
  TC_CHECK(fn != nullptr, "Heap::add_roots: the callback is null");
  std::lock_guard lock(roots_mu_);
  const std::uint64_t id = next_roots_id_++;
  heap_callbacks_.push_back({id, fn, ctx, name});
  return id;
}

void HeapImpl::remove_heap_roots(std::uint64_t id) {
  std::lock_guard lock(roots_mu_);
  for (auto it = heap_callbacks_.begin(); it != heap_callbacks_.end(); ++it)
    if (it->id == id) {
      heap_callbacks_.erase(it);
      return;
    }
  TC_CHECK(false, "Heap::remove_roots: no root callback with id %llu", static_cast<unsigned long long>(id));
}

}  // namespace tricolor::internal
