// The tricolor half of backend.hpp that is not inline: heap configuration (including the stress mode)
// and root registration. Boehm's half is all inline.
#include "backend.hpp"

#if !defined(SCHEME_BACKEND_BOEHM)
#include <cstdlib>

namespace scheme::gc {

tricolor::Config Runtime::make_config(const Options& options) {
  tricolor::Config cfg;
  if (options.stress) {
    // Collections all the time: a first cycle after 64 KiB and a new one whenever the heap grows by a
    // tenth, each checked by the verifier, with the concurrent marker on so that barriers matter.
    cfg.initial_heap = 64u << 10;
    cfg.gc_percent = 10;
    cfg.verify = true;
    cfg.concurrent = true;
    cfg.marker_threads = 1;
  }
  if (options.collect_every != 0) {
    // A full collection every N allocations, each checked by the verifier: every object the
    // interpreter still uses must be reachable at every one of those points.
    cfg.collect_every = options.collect_every;
    cfg.verify = true;
  }
  if (options.max_heap != 0) cfg.max_heap = options.max_heap;
  // TRICOLOR_* variables win over both (the Heap constructor applies them too; doing it here as well
  // keeps the precedence obvious to a reader).
  cfg.apply_env();
  return cfg;
}

Runtime::Runtime(const Options& options) : heap_(make_config(options)), mutator_(heap_, "scheme") {}

Stats Runtime::stats() const {
  const tricolor::Stats s = heap_.stats();
  return Stats{s.heap_bytes, s.heap_peak_bytes, s.live_bytes, s.cycles};
}

RootRegistration::RootRegistration(Runtime& rt, RootCallback callback, void* context, const char* name,
                                   void*, void*)
    : mutator_(&rt.mutator()), id_(mutator_->add_roots(callback, context, name)) {}

RootRegistration::~RootRegistration() { mutator_->remove_roots(id_); }

WeakCallback::WeakCallback(Runtime& rt, void (*fn)(void*), void* context)
    : heap_(&rt.heap()), id_(tricolor::add_weak_callback(rt.heap(), fn, context)) {}

WeakCallback::~WeakCallback() { tricolor::remove_weak_callback(*heap_, id_); }

void* alloc_root_array(std::size_t bytes) {
  void* p = std::malloc(bytes);
  if (p == nullptr) throw OutOfMemory{};
  return p;
}
void free_root_array(void* p) { std::free(p); }

}  // namespace scheme::gc
#endif
