// What the core tells the tools plugged into it (leak checks, allocation sites, heap profiles:
// introspect/). The core calls; it never includes a tool's header, so the dependency points one
// way, core <- introspection (README, "Layout"), as mimalloc's profiler hooks and Whippet's
// gc_event_listener do.
//
// Cost model. A heap has at most one observer, installed at construction and constant for the
// heap's life, and says once which events it wants (Interests). The core keeps that answer in
// const flags, so with no observer, or one that wants nothing, each hook is one predictable
// untaken branch: the allocation fast path has none at all (observed allocations are sent to the
// slow path by an empty inline window, gc/thread_cache.hpp), the allocation slow path has one, and
// the sweeper one per span.
//
// Threads. on_allocation runs on the allocating mutator, on_dead on whichever thread sweeps (a
// mutator, the background sweeper, a marker-side finish); both may run concurrently with each other
// and with themselves, so an observer locks what it shares. on_thread_attached runs with the thread
// registry's lock held (gc/safepoint.hpp), so it must not stop the world.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tricolor/config.hpp"

namespace tricolor::internal {

struct Span;
class ThreadCache;

class HeapObserver {
 public:
  struct Interests {
    // Every allocation reaches on_allocation (the thread caches keep their inline windows empty).
    bool allocations = false;
    // The sweeper shows every dead object to on_dead before its destructor runs.
    bool deaths = false;
  };

  virtual ~HeapObserver() = default;

  // Asked once, at the heap's construction.
  virtual Interests interests() const = 0;

  // A slot (its header address) of `bytes` in span s is about to go to the allocating thread,
  // whose cache is c (the observer may keep per-thread state there: ThreadCache::sample_countdown).
  virtual void on_allocation(ThreadCache& c, const Span* s, const void* slot, std::size_t bytes) = 0;

  // Bitmap word `word` of span s holds the dead objects `dead` (one bit per slot), swept now.
  virtual void on_dead(Span* s, std::size_t word, std::uint64_t dead) = 0;

  // A mutator attaches: returns its allocation epoch (ObjectHeader::epoch of what it allocates;
  // 0 unless the observer uses epochs).
  virtual std::uint32_t on_thread_attached(std::uint64_t ordinal) = 0;

  // A cycle enters phase p (the controller thread; Config::on_event sees the same phases).
  virtual void on_phase(Phase p) = 0;
};

}  // namespace tricolor::internal
