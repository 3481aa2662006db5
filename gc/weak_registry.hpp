// The embedder's weak structures outside the heap, as weak processing sees them (gc/weak_refs.cpp):
// the weak callbacks (add_weak_callback), run once per cycle after weak clearing, and the weak slot
// sets (the pools, WeakSlotSet), swept of their dead entries at every mark termination (either makes
// termination stop the world: gc/collector.cpp, step 5a). Each
// list has its own lock, and nothing else owns either. The registry knows nothing of the heap (the
// sweep takes the mark state as a function), so it runs alone in tests (tests/weak_registry_test.cpp).
// Invariant: a callback is listed exactly from add_weak_callback to remove_weak_callback, and an id
// is never reused; a WeakSlotSet is listed in its heap's registry exactly while it exists.
#pragma once
#include <cstdint>
#include <mutex>
#include <vector>

#include "tricolor/weak.hpp"

namespace tricolor::internal {

class WeakRegistry {
 public:
  WeakRegistry() = default;
  WeakRegistry(const WeakRegistry&) = delete;
  WeakRegistry& operator=(const WeakRegistry&) = delete;

  // Returns the id for remove_weak_callback; ids count from 1.
  std::uint64_t add_weak_callback(WeakCallbackFn fn, void* ctx);
  // Waits out a run of the callbacks in progress: fn is not called once this returns.
  void remove_weak_callback(std::uint64_t id);
  // World stopped, after weak clearing: each callback once, oldest first, as collector work (one that
  // allocates or collects stops with a message: gc/collector_work.hpp).
  void run_weak_callbacks();
  bool has_weak_callbacks() {
    std::lock_guard lock(callbacks_mu_);
    return !callbacks_.empty();
  }

  void register_weak_set(WeakSlotSet* s);
  void unregister_weak_set(WeakSlotSet* s);
  bool has_weak_sets() {
    std::lock_guard lock(sets_mu_);
    return !sets_.empty();
  }
  // World stopped: drops from every set the entries is_live(p) is false for.
  template <class IsLive>
  void sweep_weak_sets(IsLive&& is_live) {
    std::lock_guard lock(sets_mu_);
    for (WeakSlotSet* s : sets_) s->sweep(is_live);
  }

 private:
  struct Callback {
    std::uint64_t id;
    WeakCallbackFn fn;
    void* ctx;
  };
  // Held while the callbacks run, so that removal waits out a call in progress.
  std::mutex callbacks_mu_;
  std::vector<Callback> callbacks_;  // guarded by callbacks_mu_
  std::uint64_t next_id_ = 1;        // guarded by callbacks_mu_
  // The sets' own lock (they shared the finalizers' once, with no need): no reader looks at the sets
  // together with anything else, and each needs only the list to stay put while it looks.
  // HeapImpl::termination_needs_stop reads its emptiness, a snapshot under any lock (a set registered
  // after it holds only objects some mutator reached, black once termination's claim holds);
  // process_weak_references sweeps with the world stopped; WeakSlotSet adds and removes itself.
  // Nesting: sets_mu_, then a set's own lock (WeakSlotSet::sweep); no path takes them the other way.
  std::mutex sets_mu_;
  std::vector<WeakSlotSet*> sets_;  // guarded by sets_mu_
};

}  // namespace tricolor::internal
