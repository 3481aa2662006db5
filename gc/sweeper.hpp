// Lazy sweeping. After mark termination every in-use span is unswept (sweep_gen == sg - 2). Spans
// are swept on demand by allocating threads before they reuse them (the refill path), by a background
// sweeper thread, and by whoever must finish the sweep (the next cycle's start, Heap::collect()).
//
// Sweeping a span: run the destructors of allocated, unmarked objects that have one, then
// alloc_bits = alloc_bits & mark_bits; mark_bits = 0. An empty span goes back to the page heap.
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
  enum class Result { kFreed, kFull, kPartial };

  explicit Sweeper(HeapImpl& h) : h_(h) {}
  ~Sweeper() { stop(); }
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

  // The first unswept span of span class sc that has a free slot after sweeping (swept and owned by
  // the caller), or null. Spans swept on the way that turn out full go back to the central list.
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

  // Sweeps one claimed span; exposed for heap teardown (everything dead) and tests.
  Result sweep_span(Span* s, std::uint32_t sg, bool all_dead = false);

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
