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
//
// Sweeping ahead. Whatever is still unswept when the next cycle is requested, the cycle's start
// sweeps (finish()) before it can turn the barrier on, while the mutators go on allocating; and a
// span's garbage is not reusable until it is swept, so allocation meanwhile takes fresh pages. The
// background sweeper cannot be relied on for it: it yields to the mutators
// (gc/background_thread.hpp). So an allocating thread helps: before it takes a span it sweeps up to
// kSweepAhead spans of any class (sweep_ahead()) while the generation has unswept spans, and the
// empty ones it frees go back to the page heap, where its own refill may take them. Measured on
// this 2-core machine before it (GCBench with two threads, TRICOLOR_GCTRACE): about 1100 of 1700
// spans were still unswept at each request, the start's sweep took 2-3.5 ms, and the mutators
// allocated 15-35 MB past the trigger in that time; peak RSS fell from 82 to 70 MB with it (medians
// of 7 paired runs, wall 1.01x). A schedule in proportion to allocation (Go's sweep credit: done by
// the trigger, the first half left to the background sweeper) was measured too: the RSS of before.
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
  // At the flip to generation sg: `spans` in-use spans just became unswept.
  void begin_generation(std::size_t spans, std::uint32_t sg);
  // An allocating thread, before it takes a span: sweeps up to kSweepAhead unswept spans of any
  // class, if any are left (see the top of the file). May run destructors.
  static constexpr std::size_t kSweepAhead = 16;
  void sweep_ahead(std::uint32_t sg);

  void start_background();
  void wake_background();
  void stop();

  // Spans of the current generation not yet swept (tests, traces). relaxed: a count; finish() is
  // what waits for 0 with acquire.
  std::size_t unswept() const { return count_of(unswept_.load(std::memory_order_relaxed)); }
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
  // Spans of this generation not yet swept (low 32 bits) and the generation's tag (high 32 bits:
  // sg / 2, so every flip changes the word). Set by begin_generation (release: see there),
  // decremented once per span with release by its sweeper; finish() loads it with acquire, so a
  // thread that sees a count of 0 sees every span's sweep (each decrement heads a release sequence
  // that the last one ends). The tag lets finish(sg) tell that a newer generation has begun: its
  // caller read sg, then slept past the next cycle's flip (see finish()).
  std::atomic<std::uint64_t> unswept_{0};
  static std::size_t count_of(std::uint64_t w) { return static_cast<std::uint32_t>(w); }
  static std::uint64_t tag_of(std::uint32_t sg) { return std::uint64_t{sg / 2} << 32; }
  static bool of_generation(std::uint64_t w, std::uint32_t sg) { return (w >> 32) == sg / 2; }
  // The generation in which sweep_ahead found no span left to claim in any list (the rest are in
  // thread caches or being swept): later calls of that generation return at once instead of
  // visiting every list. Spans a cache gives back after that are left to the background sweeper and
  // finish(). relaxed: a hint; a stale value costs one fruitless visit or one skipped call.
  std::atomic<std::uint32_t> ahead_exhausted_gen_{UINT32_MAX};
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
