// The heap: owns the page heap, the allocator (central lists and slow paths, gc/allocator.hpp), the
// marker team, the sweeper, the pacer, the thread registry (safepoints), the roots, the finalizers,
// the weak registry and the cycle controller (Collector, gc/collector.hpp), which drives the others.
// Methods are defined by concept: construction, threads and running finalizers in heap_impl.cpp,
// root scanning in roots.cpp, weak processing in weak_refs.cpp, the write barrier's flush in
// write_barrier.cpp. Parts that need no more of the heap than what they are given are classes of
// their own, which the heap holds and the collector drives: the allocator (Allocator,
// gc/allocator.hpp), assists (Assists, gc/assist.hpp), the Globals and heap root callbacks (RootSet,
// gc/root_set.hpp), the registered and ready finalizers (FinalizerQueue, gc/finalizer_queue.hpp),
// the weak callbacks and pools (WeakRegistry, gc/weak_registry.hpp).
#pragma once
#include <cstddef>
#include <functional>
#include <memory>

#include "gc/allocator.hpp"
#include "gc/assist.hpp"
#include "gc/central_list.hpp"
#include "gc/collector.hpp"
#include "gc/finalizer_queue.hpp"
#include "gc/heap_observer.hpp"
#include "gc/marker.hpp"
#include "gc/pacer.hpp"
#include "gc/page_heap.hpp"
#include "gc/root_set.hpp"
#include "gc/safepoint.hpp"
#include "gc/stats_recorder.hpp"
#include "gc/sweeper.hpp"
#include "gc/thread_state.hpp"
#include "gc/weak_registry.hpp"
#include "tricolor/heap.hpp"
#include "tricolor/roots.hpp"
#include "tricolor/weak.hpp"

namespace tricolor::internal {

// Config::marker_threads and the other values a heap cannot be built with stop the program here,
// naming the field (gc/api.cpp).
const Config& checked_config(const Config& c);

class HeapImpl {
 public:
  // make_observer, if given, creates the tools plugged into this heap (gc/heap_observer.hpp); it
  // runs once, in the constructor, before any thread attaches.
  using ObserverFactory = std::function<std::unique_ptr<HeapObserver>(HeapImpl&)>;
  explicit HeapImpl(const Config& c, const ObserverFactory& make_observer = {});
  ~HeapImpl();
  HeapImpl(const HeapImpl&) = delete;
  HeapImpl& operator=(const HeapImpl&) = delete;

  // --- threads (heap_impl.cpp)
  ThreadState* attach(const char* name);
  void detach(ThreadState* t);
  // The calling thread, if it is attached to this heap; else null.
  ThreadState* attached_thread() const {
    return tls_thread != nullptr && tls_thread->heap == this ? as_state(tls_thread) : nullptr;
  }

  // --- roots: the registry (gc/root_set.hpp) and its scanning (roots.cpp)
  RootSet& roots() { return roots_; }
  void scan_thread_roots(ThreadState* t, MarkContext& cx);
  void scan_globals(MarkContext& cx);
  void scan_heap_callbacks(MarkContext& cx);
  // Shades the targets of Globals destroyed during marking (queued by RootSet::unregister_global).
  bool drain_pending_shades(MarkContext& cx);

  // --- write barrier (write_barrier.cpp)
  // Marks what the thread's barrier buffer holds and publishes the grey objects; returns how many
  // objects it made grey (including the thread's unpublished local work).
  std::size_t flush_barrier(ThreadState* t);

  // --- weak references, ephemerons, pools, finalizers and weak callbacks at termination, with the
  // world stopped (weak_refs.cpp); cx is the controller's marking context.
  void process_weak_references(WeakWork& weak, MarkContext& cx);
  // --- finalizers (gc/finalizer_queue.hpp); Heap's calls forward here
  FinalizerQueue& finalizers() { return finalizers_; }
  void set_finalizer(const void* obj, FinalizerFn fn, void* ctx) { finalizers_.set_finalizer(obj, fn, ctx); }
  // On an attached thread of this heap; each object is rooted on it while its finalizer runs.
  std::size_t run_finalizers(std::size_t max);
  std::size_t pending_finalizers() const { return finalizers_.pending_finalizers(); }

  // --- weak callbacks and pools (gc/weak_registry.hpp), processed in weak_refs.cpp
  WeakRegistry& weak_registry() { return weak_registry_; }

  bool contains(const void* p) const;
  Stats stats() const;

  Config config;
  PageHeap pages;
  Marker marker;
  Pacer pacer;
  Safepoint safepoint;
  Sweeper sweeper;
  StatsRecorder recorder;
  Assists assists{marker, pacer, recorder};  // gc/assist.hpp
  Allocator allocator;
  // Declared after the parts it reads at construction (the marker's pool) and before the roots, which
  // hold a reference to its marking flag. It also drives the observer, the roots, the finalizers and
  // the weak registry, declared after it: safe because its thread starts in HeapImpl's constructor
  // body, after every member, and stops first in ~HeapImpl.
  Collector collector{*this};

  // --- the observer (gc/heap_observer.hpp): null, or the tools plugged in at construction.
  HeapObserver* observer() const { return observer_.get(); }
  // Constant for the heap's life: read with no ordering by every thread.
  bool observes_allocations() const { return interests_.allocations; }
  bool observes_deaths() const { return interests_.deaths; }

  // --- stop-the-world for the tools (gc/safepoint.hpp, Safepoint::with_world_stopped): runs f with
  // every mutator stopped; the calling thread, if attached here, counts as blocked meanwhile.
  void with_world_stopped(const std::function<void()>& f);

 private:
  // Declared after the sweeper: destroyed before it, once ~HeapImpl has swept for the last time.
  std::unique_ptr<HeapObserver> observer_;
  // The observer's answer, asked once (gc/heap_observer.hpp); none without an observer.
  const HeapObserver::Interests interests_;

  // Globals, heap-wide root callbacks, pending shades, and their lock. It reads the collector's marking flag.
  RootSet roots_{collector.marking()};
  // Registered and ready finalizers, and their lock; set_finalizer accepts this heap's objects only.
  FinalizerQueue finalizers_{[this](const void* p) { return contains(p); }};
  // Weak callbacks and pools, each list with its lock.
  WeakRegistry weak_registry_;
  std::uint64_t next_thread_ordinal_ = 1;  // guarded by threads_mu
};

}  // namespace tricolor::internal
