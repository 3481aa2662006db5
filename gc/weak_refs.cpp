// Weak references, ephemerons and pools, processed at mark termination with the world stopped, after
// marking has reached its fixpoint:
//  1. Ephemerons: a value whose key is marked gets marked (and scanned); repeat until no ephemeron
//     changes, since a value may hold the key of another one.
//  2. Clear every weak slot whose target is unmarked; clear both fields of every ephemeron whose key
//     is unmarked; drop unmarked objects from pools.
//  3. Finalizers: unmarked finalizable objects move to the ready queue and are marked, with
//     everything they reach (they stay valid until their finalizer has run); the weak slots and
//     ephemerons found in what this resurrects go through 1 and 2 again.
//  4. Weak callbacks (add_weak_callback): the embedder's weak tables turn the entries whose key was
//     just cleared into tombstones, or prune them. Last, so they see every clearing of this cycle.
// The pools and the weak callbacks are registered in the heap's WeakRegistry (gc/weak_registry.hpp),
// the finalizers in its FinalizerQueue (gc/finalizer_queue.hpp).
// All of it runs on the controller with the world stopped, so mutators never see a dead target.
// relaxed (every weak slot and ephemeron access here): the stop orders them. Each mutator's stores
// before it parked (or blocked) reach us through the stop's handshake (its release clear or run-state
// store, our acquire), and our clears reach it through start_the_world's release (its acquire of the
// resume epoch or of the run state). Marker threads only read these slots (visit_ephemeron), and
// are idle whenever we clear them (drain_here ends with wait_quiescent).
#include "gc/heap_impl.hpp"

namespace tricolor::internal {

void HeapImpl::process_weak_references(WeakWork& weak, MarkContext& cx) {
  std::vector<WeakSlot*> slots;
  std::vector<Ephemeron> pending;
  slots.swap(weak.slots);
  pending.swap(weak.ephemerons);
  auto collect_recorded = [&] {
    marker.merge(cx);
    marker.take_weak(slots, pending);
  };
  auto drain_here = [&] {
    marker.drain(cx);
    // What the controller published on overflow may have been taken by a marker thread (idle, but
    // awake to new work until the cycle ends): wait until the markers are done with it too, or
    // their grey objects would still be unscanned when weak references are cleared and the heap
    // flips. (The "no grey object after termination" check found this.)
    marker.wait_quiescent();
    collect_recorded();
  };
  collect_recorded();
  for (;;) {
    // 1. Ephemeron fixpoint.
    for (bool progress = true; progress;) {
      progress = false;
      std::vector<Ephemeron> still;
      for (const Ephemeron& e : pending) {
        // relaxed: the world is stopped (top of file).
        const void* k = e.first->target.load(std::memory_order_relaxed);
        const void* v = e.second->load(std::memory_order_relaxed);
        if (v == nullptr) continue;
        if (k != nullptr && marker.is_marked(k)) progress |= marker.shade(v, cx);
        else still.push_back(e);
      }
      pending.swap(still);
      if (progress) drain_here();
    }
    // 2. Clear what died. relaxed (the loads and the clears): the world is stopped (top of file).
    for (WeakSlot* s : slots) {
      const void* t = s->target.load(std::memory_order_relaxed);
      if (t != nullptr && !marker.is_marked(t)) s->target.store(nullptr, std::memory_order_relaxed);
    }
    for (const Ephemeron& e : pending) {
      const void* k = e.first->target.load(std::memory_order_relaxed);
      if (k == nullptr || !marker.is_marked(k)) {
        e.first->target.store(nullptr, std::memory_order_relaxed);
        e.second->store(nullptr, std::memory_order_relaxed);
      }
    }
    slots.clear();
    pending.clear();
    weak_registry_.sweep_weak_sets([&](const void* p) { return marker.is_marked(p); });
    // 3. Finalizers resurrect; process what they bring back.
    if (!finalizers_.queue_finalizers([&](const void* p) { return marker.is_marked(p); },
                                      [&](const void* p) { marker.shade(p, cx); }))
      break;
    drain_here();
  }
  // 4.
  weak_registry_.run_weak_callbacks();
}

}  // namespace tricolor::internal

namespace tricolor {
std::uint64_t add_weak_callback(Heap& heap, WeakCallbackFn fn, void* context) {
  TC_CHECK(fn != nullptr, "tricolor::add_weak_callback: fn is null: pass the function that prunes the table");
  return heap.impl().weak_registry().add_weak_callback(fn, context);
}
void remove_weak_callback(Heap& heap, std::uint64_t id) { heap.impl().weak_registry().remove_weak_callback(id); }
}  // namespace tricolor

namespace tricolor::internal {

WeakSlotSet::WeakSlotSet(Heap& heap) : heap_(heap) { heap.impl().weak_registry().register_weak_set(this); }
WeakSlotSet::~WeakSlotSet() { heap_.impl().weak_registry().unregister_weak_set(this); }

void WeakSlotSet::push(const void* p) {
  std::lock_guard lock(mu_);
  items_.push_back(p);
}

const void* WeakSlotSet::pop() {
  const void* p = nullptr;
  {
    std::lock_guard lock(mu_);
    if (items_.empty()) return nullptr;
    p = items_.back();
    items_.pop_back();
  }
  // Taking an object out of the pool while marking makes it strongly held: shade it, as for Weak::get.
  shade_if_marking(p);
  return p;
}

std::size_t WeakSlotSet::size() {
  std::lock_guard lock(mu_);
  return items_.size();
}

}  // namespace tricolor::internal
