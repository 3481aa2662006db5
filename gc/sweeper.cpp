#include "gc/sweeper.hpp"

#include <chrono>

#include "gc/background_thread.hpp"
#include "gc/collector_work.hpp"
#include "gc/heap_impl.hpp"
#include "gc/poison.hpp"
#include "gc/type_registry.hpp"

namespace tricolor::internal {

// Destructors run with tls_collector_work set (collecting or allocating there is refused by name,
// gc/collector_work.hpp); on a running thread of this heap, its allocation windows are parked
// meanwhile so that even a fast-path allocation is refused (the hard limit's sweep stage parked them
// already; parking again is harmless, and unparking at the span's end leaves them open only while
// finish() itself runs, which allocates nothing). A blocked thread (Heap::collect()) parked them
// before blocking; threads of no heap have no windows. Entered once per span, at its first
// dead object with a destructor.
class Sweeper::DestructorScope {
 public:
  explicit DestructorScope(HeapImpl& h) : h_(h) {}
  void enter() {
    if (entered_) return;
    entered_ = true;
    saved_ = tls_collector_work;
    tls_collector_work = kInSweepDestructor;
    ThreadFast* t = tls_thread;
    if (t != nullptr && t->heap == &h_ && as_state(t)->blocking_depth == 0) {
      parked_ = as_state(t);
      park_allocation(parked_);
    }
  }
  ~DestructorScope() {
    if (!entered_) return;
    if (parked_ != nullptr) unpark_allocation(parked_);
    tls_collector_work = saved_;
  }
  DestructorScope(const DestructorScope&) = delete;
  DestructorScope& operator=(const DestructorScope&) = delete;

 private:
  HeapImpl& h_;
  bool entered_ = false;
  const char* saved_ = nullptr;
  ThreadState* parked_ = nullptr;
};

Sweeper::Result Sweeper::sweep_span(Span* s, std::uint32_t sg, bool keep_empty) {
  std::size_t freed = 0;
  std::size_t live = 0;
  // The heap's observer sees every dead object while it asks to (gc/heap_observer.hpp).
  const bool observe = h_.observes_deaths();
  DestructorScope destructors(h_);
  for (std::size_t w = 0; w < s->nwords(); ++w) {
    const std::uint64_t alloc = s->alloc_bits[w];
    // relaxed: marking is over. The caller learnt sg from sweep_gen() (acquire), which pairs with the
    // flip after termination, and termination waited for every marker and handshake first.
    const std::uint64_t mark = s->mark_bits[w].load(std::memory_order_relaxed);
    std::uint64_t dead = alloc & ~mark;
    freed += static_cast<std::size_t>(__builtin_popcountll(dead));
    if (observe && dead != 0) [[unlikely]] h_.observer()->on_dead(s, w, dead);  // before any destructor runs
    if (s->has_destructors && dead != 0) {
      destructors.enter();
      while (dead != 0) {
        const std::size_t i = w * 64 + static_cast<std::size_t>(__builtin_ctzll(dead));
        dead &= dead - 1;
        void* obj = s->payload(i);
        if (auto destroy = type_info(header_of(obj)->type_id).destroy) destroy(obj);
      }
    }
    poison::freed_slots(*s, w, alloc & ~mark);  // gc/poison.hpp: debug-checks and ASan builds only
    // Free slots pre-marked for allocate-black but never handed out drop their mark here.
    s->alloc_bits[w] = alloc & mark;
    live += static_cast<std::size_t>(__builtin_popcountll(alloc & mark));
    s->mark_bits[w].store(0, std::memory_order_relaxed);  // relaxed: published by the release below
  }
  objects_freed_.fetch_add(freed, std::memory_order_relaxed);
  // release: pairs with the acquire of whoever reads the span's generation next (the next
  // generation's claim), so it sees the new bitmaps. A thread that takes the span from a
  // list is ordered by the list's mutex as well, and the next marking by finish() (unswept_).
  s->sweep_gen.store(sg, std::memory_order_release);
  if (live == 0) {
    if (keep_empty) return Result::kEmpty;
    h_.pages.free(s);
    return Result::kFreed;
  }
  return live == s->nslots ? Result::kFull : Result::kPartial;
}

static bool claim(Span* s, std::uint32_t sg) {
  std::uint32_t expected = sg - 2;
  // The CAS alone decides the one sweeper. acq_rel, more than needed, once per span: the acquire
  // pairs with the previous sweep's release (also ordered by the list's mutex the span was popped
  // under); the marking's bits are ordered by sweep_gen(), through which the caller learnt sg.
  // Nothing is read through sg - 1.
  return s->sweep_gen.compare_exchange_strong(expected, sg - 1, std::memory_order_acq_rel);
}

void Sweeper::finished_one() {
  // release: pairs with finish()'s acquire (unswept_, in the header). The notify wakes waiters,
  // which re-check the count.
  if (count_of(unswept_.fetch_sub(1, std::memory_order_release)) == 1) unswept_.notify_all();
}

void Sweeper::put_back(Span* s, Result r) {
  TC_DCHECK(r != Result::kEmpty, "tricolor: an empty span kept by its sweeper was put back");
  if (r != Result::kFreed) h_.allocator.return_span(s, r == Result::kPartial);  // by the generation just swept
}

// A caller that read the sweep generation before a flip pops from what is now a swept list: the
// span is already swept in the newer generation. Put it back where it belongs, by its generation.
// (return_span reads it relaxed; the list's mutex the span was popped under orders the sweep that
// set it, and its bitmaps, before us.)
void Sweeper::put_back_stale(Span* s) { h_.allocator.return_span(s, s->allocated_count() < s->nslots); }

Span* Sweeper::sweep_for_allocation(std::size_t sc, std::uint32_t sg) {
  CentralList& c = h_.allocator.list(sc);
  while (Span* s = c.pop_unswept(sg)) {
    if (!claim(s, sg)) {
      put_back_stale(s);
      return nullptr;
    }
    const Result r = sweep_span(s, sg, /*keep_empty=*/true);
    if (r == Result::kPartial || r == Result::kEmpty) {
      finished_one();
      return s;
    }
    put_back(s, r);
    finished_one();
  }
  return nullptr;
}

bool Sweeper::sweep_one(std::uint32_t sg) {
  const std::size_t start = next_class_.load(std::memory_order_relaxed);
  for (std::size_t k = 0; k <= kNumSpanClasses; ++k) {
    const std::size_t sc = (start + k) % (kNumSpanClasses + 1);
    CentralList& c = h_.allocator.list(sc);
    if (Span* s = c.pop_unswept(sg)) {
      next_class_.store(sc, std::memory_order_relaxed);
      if (!claim(s, sg)) {
        put_back_stale(s);
        return false;
      }
      const Result r = sweep_span(s, sg);
      put_back(s, r);
      finished_one();
      return true;
    }
  }
  return false;
}

void Sweeper::finish(std::uint32_t sg) {
  while (sweep_one(sg)) {
  }
  // acquire: pairs with finished_one's release: at 0 every span's sweep is visible (the next
  // marking must find all mark bits clear).
  // A newer tag ends the wait too: the flip that set it came after the next cycle's start had seen
  // this generation all swept (gc/collector.cpp, step 1), so there is nothing of sg left. Without it,
  // a caller that read sg and was not scheduled again until after that flip would wait for the next
  // generation's whole sweep, forever where nobody else sweeps (background sweeper off, no thread
  // allocating).
  for (std::uint64_t w; (w = unswept_.load(std::memory_order_acquire)), count_of(w) != 0 && of_generation(w, sg);)
    unswept_.wait(w, std::memory_order_acquire);
}

// The sweep_gen_ flip right after it (gc/collector.cpp) is acq_rel, and every sweeper and finish()
// of the new generation learns sg through sweep_gen() (acquire) first, so the store happens before
// their decrements and loads. release besides: a finish() of the old generation that sees the new
// tag and returns sees the old generation's sweeps, which the controller acquired before the flip.
void Sweeper::begin_generation(std::size_t spans, std::uint32_t sg) {
  TC_DCHECK(spans <= UINT32_MAX && count_of(unswept_.load(std::memory_order_relaxed)) == 0,
            "tricolor: a flip with %zu spans of the last generation unswept", count_of(unswept_.load(std::memory_order_relaxed)));
  unswept_.store(tag_of(sg) | spans, std::memory_order_release);
}

void Sweeper::sweep_ahead(std::uint32_t sg) {
  // relaxed (both loads): hints; claim() decides each span, and finish() is exact.
  if (ahead_exhausted_gen_.load(std::memory_order_relaxed) == sg) return;
  if (count_of(unswept_.load(std::memory_order_relaxed)) == 0) return;
  for (std::size_t n = 0; n < kSweepAhead; ++n) {
    if (!sweep_one(sg)) {
      ahead_exhausted_gen_.store(sg, std::memory_order_relaxed);
      return;
    }
  }
}

void Sweeper::start_background() {
  thread_ = std::thread([this] { background_main(); });
  name_thread(thread_, "tc-sweeper");
}

void Sweeper::wake_background() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_one();
}

void Sweeper::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

// The background thread sweeps after every cycle and is also the scavenger: free spans that have
// stayed free for longer than Config::scavenge_delay_ms go back to the OS (madvise DONTNEED), so
// resident memory follows the live heap down after a phase of high use. It wakes at least every
// scavenge delay for that, even when no cycle runs.
void Sweeper::background_main() {
  become_background_thread();
  const auto delay = std::chrono::milliseconds(h_.config.scavenge_delay_ms);
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, delay, [&] { return wake_ || stop_; });
      if (stop_) return;
      wake_ = false;
    }
    const std::uint32_t sg = h_.collector.sweep_gen();
    while (sweep_one(sg)) {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    const std::uint64_t now = monotonic_ns();
    const std::uint64_t d = std::uint64_t(h_.config.scavenge_delay_ms) * 1000000u;
    if (now > d) scavenged_bytes_.fetch_add(h_.pages.scavenge(now - d), std::memory_order_relaxed);
  }
}

}  // namespace tricolor::internal
