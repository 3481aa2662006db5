// The page heap (Go: mheap): one large virtual reservation, committed arena by arena on demand, carved
// into spans of 8 KiB pages. Any address maps to its span in O(1) through the page table.
//
// Invariants:
//  - page_table_[i] is the span that covers page i while that span is in use, else null: lock-free
//    readers (span_of) only ever find in-use spans, whose records do not change while they are in use.
//  - free_edges_[i] is the free span whose first or last page is i (for coalescing), else null; read
//    and written only under mu_. (Kept apart from the page table: a free span's record is rewritten by
//    every split and merge, so a reader without mu_ must never reach it.)
//  - in_use_bytes_ never exceeds max_heap (when set): allocate() fails instead.
//  - Held memory, committed_bytes() - released_bytes(), never exceeds max_heap (when set) either:
//    before a span would take it past the limit, allocate() returns free pages to the OS. Pages an
//    arena commits count as released until a span takes them (mprotect'ed pages never touched are
//    not resident), so growing the reservation costs nothing against the limit.
//  - Held memory is brought back under the soft limit (when set) after each allocation, as far as
//    free pages allow: the soft limit bounds memory, not only the pacer's goal.
//  - A free span is never adjacent to another free span (coalesced on free).
//  - The scavenger returns free spans' pages to the OS (madvise DONTNEED); their contents read as zero.
//  - A span is wholly released or wholly counted as held. Coalescing a released span with a held one
//    counts the result as held (over-counting rather than releasing pages about to be reused),
//    unless that would take held memory past a limit: then the held part is released.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_set>
#include <utility>
#include <vector>

#include "gc/free_index.hpp"
#include "gc/span.hpp"

namespace tricolor::internal {

// kTooLarge: no heap state could satisfy the request (larger than the reservation or the hard limit).
enum class AllocFailure : std::uint8_t { kNone, kHeapLimit, kCommitFailed, kReservationExhausted, kTooLarge };

class PageHeap {
 public:
  static constexpr std::size_t kArenaBytes = std::size_t{64} << 20;
  static constexpr std::size_t kArenaPages = kArenaBytes / kPageSize;
  // The largest reservation: its page count fits the 32-bit page counts of spans and of the free
  // index, even after coalescing, and its page table (reserve / 1024 bytes, and as much again for
  // free_edges_) stays virtual.
  static constexpr std::size_t kMaxReserveBytes = std::size_t{1} << 44;
  static_assert(kMaxReserveBytes / kPageSize <= UINT32_MAX);

  // Reserves reserve_bytes (rounded up to whole arenas) of address space. Throws
  // tricolor::ReservationError when reserve_bytes exceeds kMaxReserveBytes or the OS refuses.
  PageHeap(std::size_t reserve_bytes, std::size_t max_heap);
  ~PageHeap();
  PageHeap(const PageHeap&) = delete;
  PageHeap& operator=(const PageHeap&) = delete;

  // A span of npages, initialised for span_class (kLargeSpanClass: one slot of npages pages, of
  // large_kind), swept in generation sweep_gen. Null on failure, with *why set if why is not null
  // (kTooLarge for more pages than the reservation holds: any npages is safe to ask for). The heap's
  // allocation paths pass null: whatever the reason, they relieve the limit or fail the same way.
  // Once flip_generation() has run, a new span is tagged with the generation set there instead of a
  // smaller sweep_gen: a caller that read the heap's generation just before a flip must not create a
  // span of the old generation that the flip did not count (gc/collector.cpp, the ragged flip).
  Span* allocate(std::size_t npages, std::uint16_t span_class, std::uint32_t sweep_gen, AllocFailure* why = nullptr,
                 SpanKind large_kind = SpanKind::kScan);
  // The sweep flip, atomic with respect to allocate() and free(): under the page heap's lock, sets
  // the generation new spans are born in to new_gen and calls flip(in_use_spans), where the heap
  // arms its sweeper with the count and publishes new_gen. Every span in use at that moment
  // (counted) is of an older generation; every span allocated after it is of new_gen.
  template <class F>
  void flip_generation(std::uint32_t new_gen, F&& flip) {
    std::lock_guard lock(mu_);
    birth_gen_ = new_gen;
    flip(in_use_spans_.load(std::memory_order_relaxed));
  }
  void free(Span* s);

  // The in-use span covering p, or null (also for p in a free span). acquire: pairs with the release
  // in set_range(), so whoever finds a span through an object sees its metadata (size, noscan) as
  // initialised, even when the object was allocated concurrently with marking and reached through a
  // Member.
  Span* span_of(const void* p) const {
    const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
    if (a - base_ >= reserved_bytes_) return nullptr;
    return page_table_[(a - base_) >> kPageShift].load(std::memory_order_acquire);
  }

  std::size_t in_use_bytes() const { return in_use_bytes_.load(std::memory_order_relaxed); }
  std::size_t peak_in_use_bytes() const { return peak_in_use_bytes_.load(std::memory_order_relaxed); }
  std::size_t committed_bytes() const { return committed_pages_.load(std::memory_order_relaxed) * kPageSize; }
  std::size_t released_bytes() const { return released_bytes_.load(std::memory_order_relaxed); }
  // Both at one moment (under the lock): an arena's growth changes both.
  std::pair<std::size_t, std::size_t> committed_and_released() const;
  // The heap memory the process holds: committed and not returned to the OS (what the limits bound).
  std::size_t held_bytes() const { return committed_bytes() - std::min(committed_bytes(), released_bytes()); }
  std::size_t max_heap() const { return max_heap_; }
  std::size_t reserved_bytes() const { return reserved_bytes_; }
  std::uintptr_t base() const { return base_; }  // the reservation's start (gc/poison.hpp)
  // No span of more bytes than this can ever be allocated: the reservation, or the hard limit if
  // lower. Constant after construction, so allocate_large() reads it without ordering.
  std::size_t max_span_bytes() const { return max_heap_ != 0 && max_heap_ < reserved_bytes_ ? max_heap_ : reserved_bytes_; }
  std::size_t in_use_spans() const { return in_use_spans_.load(std::memory_order_relaxed); }

  // Returns to the OS the free spans that have been free since before `free_before_ns`, as long as
  // resident heap memory (committed - released) stays above the retain target; returns bytes.
  std::size_t scavenge(std::uint64_t free_before_ns);
  // Resident memory the scavenger leaves alone (the pacer's goal plus a margin): releasing pages
  // the heap will grow back into soon only buys page faults.
  void set_scavenge_retain(std::size_t bytes) { retain_bytes_.store(bytes, std::memory_order_relaxed); }
  // The soft limit on held memory (0: none); returns free pages at once if held memory is above it.
  void set_soft_limit(std::size_t bytes);

  // Test hook: make the next commits fail as if mmap/mprotect had.
  void fail_commits_for_testing(bool fail) { fail_commits_.store(fail, std::memory_order_relaxed); }

 private:
  Span* new_span_record();
  void delete_span_record(Span* s);
  void set_range(Span* s, Span* value, bool whole);
  void absorb(Span* s, Span* neighbour);
  void insert_free(Span* s);
  void remove_free(Span* s);
  bool grow(std::size_t npages);
  // Returns free held spans to the OS, largest first, until held memory is at most target or no
  // free held span is left; returns the bytes released. mu_ held.
  std::size_t release_down_to(std::size_t target);
  static void init_span(Span* s, std::uint16_t span_class, std::uint32_t sweep_gen, SpanKind large_kind);

  std::uintptr_t base_ = 0;
  std::size_t reserved_bytes_ = 0;
  std::size_t max_heap_ = 0;
  std::atomic<Span*>* page_table_ = nullptr;  // release in set_range(), acquire in span_of()
  Span** free_edges_ = nullptr;               // under mu_; mapped with the page table, after it
  std::size_t page_table_bytes_ = 0;          // both tables

  mutable std::mutex mu_;
  // Free spans by (npages, span), best fit: the resident ones and the released ones apart, so an
  // allocation takes resident memory whenever a resident span fits (no page fault, no growth of held
  // memory) and released memory only when none does.
  FreeIndex held_free_;
  FreeIndex released_free_;
  FreeIndex& free_index(const Span* s) { return s->scavenged ? released_free_ : held_free_; }
  // Releases free held span s to the OS (it moves to released_free_); false if madvise failed. mu_ held.
  bool release_free(Span* s);
  template <class Pick>
  std::size_t release_largest(std::size_t held, std::size_t target, Pick pick);
  // The best-fitting free span for npages, resident first; null if none fits. mu_ held.
  Span* best_fit(std::size_t npages);
  static constexpr std::size_t kSpareRecords = 256;
  std::vector<Span*> spare_records_;
  std::unordered_set<Span*> all_records_;
  // relaxed (all uses): every write holds mu_, and so does every read that decides something about
  // the heap (allocate's limit checks, coalescing, the scavenger); the mutex orders those. The lock-free
  // readers (the accessors above: the pacer, stats, tests) take a number and read no data through
  // it, so a value a moment old is all they need. committed_pages_ with released_bytes_ at one moment:
  // committed_and_released(), under mu_. peak_in_use_bytes_ is a load-then-store, exact under mu_.
  std::atomic<std::size_t> committed_pages_{0};
  std::atomic<std::size_t> in_use_bytes_{0};
  std::atomic<std::size_t> peak_in_use_bytes_{0};
  std::atomic<std::size_t> released_bytes_{0};
  std::atomic<std::size_t> in_use_spans_{0};
  std::uint32_t birth_gen_ = 0;  // under mu_: flip_generation()'s, 0 before the first
  // relaxed (all uses): knobs. A test sets fail_commits_ before the allocation it affects, on the same
  // thread or ordered by the test's own synchronisation; retain_bytes_ and soft_limit_ are targets
  // read under mu_ (a set racing an allocation takes effect at the next one).
  std::atomic<bool> fail_commits_{false};
  std::atomic<std::size_t> retain_bytes_{0};
  std::atomic<std::size_t> soft_limit_{0};
};

std::uint64_t monotonic_ns();

}  // namespace tricolor::internal
