#include "gc/root_set.hpp"

#include "tricolor/internal/check.hpp"

namespace tricolor::internal {

void RootSet::register_global(GlobalNode* g) {
  std::lock_guard lock(mu_);
  g->prev = nullptr;
  g->next = globals_;
  if (globals_) globals_->prev = g;
  globals_ = g;
}

void RootSet::unregister_global(GlobalNode* g) {
  std::lock_guard lock(mu_);
  // Deleting a root while marking: shade what it held (the deletion barrier), as for a Member store.
  // relaxed: under mu_, not threads_mu (so the rule at Collector::marking_'s declaration does not
  // apply), and still enough. If scan_globals came first (mu_ orders it), it shaded g's target already.
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

std::uint64_t RootSet::add_heap_roots(RootCallback fn, void* ctx, const char* name) {
  TC_CHECK(fn != nullptr, "Heap::add_roots: the callback is null");
  std::lock_guard lock(mu_);
  const std::uint64_t id = next_roots_id_++;
  heap_callbacks_.push_back({id, fn, ctx, name});
  return id;
}

void RootSet::remove_heap_roots(std::uint64_t id) {
  std::lock_guard lock(mu_);
  for (auto it = heap_callbacks_.begin(); it != heap_callbacks_.end(); ++it)
    if (it->id == id) {
      heap_callbacks_.erase(it);
      return;
    }
  TC_CHECK(false, "Heap::remove_roots: no root callback with id %llu", static_cast<unsigned long long>(id));
}

}  // namespace tricolor::internal
