// Lazy sweeping. After mark termination every in-use span is unswept (sweep_gen == sg - 2). Spans
// are swept on demand by allocating threads before they reuse them (the refill path), by a background
// sweeper thread, and by whoever must finish the sweep (the next cycle's start, Heap::collect()).
//
// Sweeping a span: run the destructors of allocated, unmarked objects that have one, then
// alloc_bits = alloc_bits & mark_bits; mark_bits = 0. An empty span goes back to the page heap,
// unless the sweep was for an allocation of its class (sweep_for_allocation): then the allocating
// thread takes it as it is, as Go's mcentral keeps a span it swept to allocate from. Freeing it and
// taking a span of the same size back from the page heap would cost two page-heap locks, a coalesce
// and a split; on binary-trees, whose short-lived trees leave most spans empty, that lock was the
// most contended of the run (a third of its futex calls).
// Invariant: the next cycle's marking starts only after every span of the previous one is swept
// (unswept_ == 0), so mark bits are all clear when marking begins.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#include "gc/span.hpp"

namespace tricolor::internal {

class HeapImpl;

class Sweeper {
 public:
  // kEmpty: no live object, and the span is still the caller's (keep_empty); kFreed: no live object,
  // and the span went back to the page heap.
  enum class Result { kFreed, kEmpty, kFull, kPartial };

  explicit Sweeper(HeapImpl& h) : h_(h) {}
  ~Sweeper() { stop(); }
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

  // The first unswept span of span class sc that has a free slot after sweeping (swept and owned by
  // the caller; possibly empty), or null. Spans swept on the way that turn out full go back to the
  // central list.
  Span* sweep_for_allocation(std::size_t sc, std::uint32_t sg);
  // Sweeps one unswept span of any class; false when none is left to claim.
  bool sweep_one(std::uint32_t sg);
  // Sweeps everything and waits for sweeps other threads have in flight.
  void finish(std::uint32_t sg);
  // At mark termination, with the world stopped: `spans` in-use spans just became unswept.
  void begin_generation(std::size_t spans);

  void start_background();
  void wake_background();
  void stop();

  std::uint64_t objects_freed() const { return objects_freed_.load(std::memory_order_relaxed); }
  std::size_t scavenged_bytes() const { return scavenged_bytes_.load(std::memory_order_relaxed); }

  // Sweeps one claimed span. An empty span goes back to the page heap (kFreed) unless keep_empty
  // (kEmpty: the caller allocates from it).
  Result sweep_span(Span* s, std::uint32_t sg, bool keep_empty = false);

 private:
  class DestructorScope;
  void put_back(Span* s, Result r);
  void put_back_stale(Span* s);
  void finished_one();
  void background_main();

  HeapImpl& h_;
  // Spans of this generation not yet swept. Set by begin_generation (relaxed: see there), decremented
  // once per span with release by its sweeper; finish() loads it with acquire, so a thread that sees
  // 0 sees every span's sweep (each decrement heads a release sequence that the last one ends).
  std::atomic<std::size_t> unswept_{0};
  // relaxed (all uses): statistics; nothing is read through them.
  std::atomic<std::uint64_t> objects_freed_{0};
  std::atomic<std::size_t> scavenged_bytes_{0};
  // relaxed (all uses): a hint where sweep_one starts looking (any class index is correct; racing
  // sweepers only start at different places).
  std::atomic<std::size_t> next_class_{0};

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  bool stop_ = false;
};

}  // namespace tricolor::internal
