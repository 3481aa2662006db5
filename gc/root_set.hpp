// The heap's roots that belong to no thread: the Globals, the heap-wide root callbacks
// (Heap::add_roots), and the targets of Globals destroyed while the heap marks, queued for the
// collector to shade. One lock guards all of it, and nothing else owns any of it; the only part of
// the heap the set reads is its marking flag (unregister_global). Scanning, which needs the marker
// and the threads, stays with the heap (gc/roots.cpp) and goes through for_each_global,
// for_each_heap_callback and take_pending_shades.
// Invariant: a GlobalNode is in the list exactly from register_global to unregister_global, and its
// prev/next are touched only under the lock.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "tricolor/heap.hpp"
#include "tricolor/roots.hpp"

namespace tricolor::internal {

// A root callback and what it was registered with (Heap::add_roots, Mutator::add_roots).
struct RootCallbackEntry {
  std::uint64_t id;
  RootCallback fn;
  void* context;
  const char* name;
};

class RootSet {
 public:
  // marking: the heap's flag (Collector::marking_, gc/collector.hpp), which outlives the set.
  explicit RootSet(const std::atomic<bool>& marking) : marking_(marking) {}
  RootSet(const RootSet&) = delete;
  RootSet& operator=(const RootSet&) = delete;

  void register_global(GlobalNode* g);
  // Unlinks g. While the heap marks, g's target is queued for shading (the deletion barrier).
  void unregister_global(GlobalNode* g);
  std::uint64_t add_heap_roots(RootCallback fn, void* ctx, const char* name);
  void remove_heap_roots(std::uint64_t id);
  bool has_heap_callbacks() {
    std::lock_guard lock(mu_);
    return !heap_callbacks_.empty();
  }

  // f runs under the lock for each Global (newest first) or heap callback: the set does not change
  // meanwhile, and remove_heap_roots waits until f has returned.
  template <class F>
  void for_each_global(F&& f) {
    std::lock_guard lock(mu_);
    for (GlobalNode* g = globals_; g != nullptr; g = g->next) f(g);
  }
  template <class F>
  void for_each_heap_callback(F&& f) {
    std::lock_guard lock(mu_);
    for (RootCallbackEntry& e : heap_callbacks_) f(e);
  }

  // The targets queued by unregister_global since the last call, for the caller to shade.
  std::vector<const void*> take_pending_shades() {
    std::vector<const void*> v;
    std::lock_guard lock(mu_);
    v.swap(pending_shades_);
    return v;
  }
  // Drops the queued targets, passing each to check(p) first, in one section under the lock: an
  // unregister_global ordered after it by the lock sees whatever the caller stored before the call
  // (the end of marking: gc/collector.cpp, end_marking_and_flip).
  template <class F>
  void discard_pending_shades(F&& check) {
    std::lock_guard lock(mu_);
    for (const void* p : pending_shades_) check(p);
    pending_shades_.clear();
  }

 private:
  const std::atomic<bool>& marking_;
  std::mutex mu_;
  GlobalNode* globals_ = nullptr;                    // guarded by mu_
  std::vector<RootCallbackEntry> heap_callbacks_;    // guarded by mu_
  std::vector<const void*> pending_shades_;          // guarded by mu_
  std::uint64_t next_roots_id_ = 1;                  // guarded by mu_
};

}  // namespace tricolor::internal
