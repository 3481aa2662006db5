// A span is a run of pages. A small-object span holds slots of one size class; a large object
// (> 32 KiB) is a span of its own with one slot. Span metadata lives outside the pages.
//
// Invariants:
//  - alloc_bits is exact whenever no thread cache holds the span: bit i set <=> slot i holds an object.
//    A thread cache owns the span's alloc_bits while it holds it and writes them back on release.
//  - mark_bits are all clear outside marking, except that a span handed to a cache during marking has
//    its free slots pre-marked (allocate black); the sweep keeps only marks of allocated slots.
//  - sweep_gen (Go's scheme, the heap's sweep generation sg rises by 2 per cycle):
//      sg - 2: needs sweeping; sg - 1: being swept; sg: swept (or fresh) and usable.
//    Only the thread whose CAS moved it from sg-2 to sg-1 sweeps it.
//  - A span is in at most one SpanList (owner_list says which), and in none while a thread cache or
//    a sweeper holds it.
// The checks: SpanList's push/remove (TC_DCHECK), bitmaps_in_range() (TC_DCHECK_SLOW, at cache
// install and release, gc/thread_cache.hpp).
#pragma once
#include <atomic>
#include <cstdint>

#include "gc/size_classes.hpp"
#include "tricolor/internal/check.hpp"

namespace tricolor::internal {

class SpanList;

inline constexpr std::uint16_t kLargeSpanClass = 0xFFFF;

enum class SpanState : std::uint8_t { kFree, kInUse };

struct Span {
  std::uintptr_t start = 0;
  std::uint32_t npages = 0;
  std::uint16_t span_class = 0;
  SpanState state = SpanState::kFree;
  bool noscan = false;
  // Objects here may have destructors: a "finalize" span class, or a large object whose type has one.
  bool has_destructors = false;
  bool scavenged = false;     // free span whose pages were returned to the OS
  std::uint32_t nslots = 0;
  std::uint32_t elem_size = 0;
  std::uint64_t reciprocal = 0;
  // Orders: release by the sweep that finishes the span, acquire by the claim and put_back_stale
  // (gc/sweeper.cpp, each says why); relaxed in init_span, before the span is published.
  std::atomic<std::uint32_t> sweep_gen{0};
  std::uint64_t free_since_ns = 0;  // free spans: for the scavenger

  Span* next = nullptr;  // intrusive list links, owned by whichever list holds the span
  Span* prev = nullptr;
  const SpanList* owner_list = nullptr;  // the list holding the span, or null (for the checks)

  std::uint64_t alloc_bits[kBitmapWords] = {};
  // relaxed wherever set or tested: a mark bit guards no data (see mark_atomic). Atomic because
  // markers, allocate-black installs and barrier flushes set bits of one word concurrently. The sweep
  // reads and clears them after termination, ordered by the stop and the sweep_gen_ flip.
  std::atomic<std::uint64_t> mark_bits[kBitmapWords] = {};

  std::size_t bytes() const { return std::size_t{npages} * kPageSize; }
  std::uintptr_t end() const { return start + bytes(); }
  std::size_t nwords() const { return (nslots + 63) / 64; }
  // Mask of the valid slots in bitmap word w.
  std::uint64_t valid_mask(std::size_t w) const {
    const std::size_t rem = nslots - w * 64;
    return rem >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << rem) - 1;
  }

  // payload address -> slot index. Payloads sit kHeaderSize bytes into their slot.
  std::size_t slot_index(const void* payload) const {
    const std::uint64_t off = reinterpret_cast<std::uintptr_t>(payload) - kHeaderSize - start;
    return static_cast<std::size_t>((off * reciprocal) >> 32);
  }
  char* slot_address(std::size_t i) const { return reinterpret_cast<char*>(start + i * elem_size); }
  void* payload(std::size_t i) const { return slot_address(i) + kHeaderSize; }

  // relaxed by default: a test of the bit alone (mark_bits' declaration).
  bool is_marked(std::size_t i, std::memory_order mo = std::memory_order_relaxed) const {
    return (mark_bits[i / 64].load(mo) >> (i % 64)) & 1;
  }
  // The only white-to-grey transition: true for the one thread that set the bit. relaxed: the mark
  // bit guards no data; the scanning thread reads the object's fields, which were published to it by
  // the cycle's start handshake or by the worklist hand-off (a mutex).
  bool mark_atomic(std::size_t i) {
    const std::uint64_t bit = std::uint64_t{1} << (i % 64);
    std::atomic<std::uint64_t>& w = mark_bits[i / 64];
    if (w.load(std::memory_order_relaxed) & bit) return false;
    return (w.fetch_or(bit, std::memory_order_relaxed) & bit) == 0;
  }
  bool is_allocated(std::size_t i) const { return (alloc_bits[i / 64] >> (i % 64)) & 1; }
  // No bit set outside the span's slots, in either bitmap (a walk: TC_DCHECK_SLOW).
  bool bitmaps_in_range() const {
    for (std::size_t w = 0; w < kBitmapWords; ++w) {
      const std::uint64_t valid = w < nwords() ? valid_mask(w) : 0;
      // relaxed: a check, run where this thread owns the span's bitmaps (or the world is stopped).
      if ((alloc_bits[w] & ~valid) != 0 || (mark_bits[w].load(std::memory_order_relaxed) & ~valid) != 0)
        return false;
    }
    return true;
  }
  std::size_t allocated_count() const {
    std::size_t n = 0;
    for (std::size_t w = 0; w < nwords(); ++w) n += static_cast<std::size_t>(__builtin_popcountll(alloc_bits[w]));
    return n;
  }
};

// Intrusive doubly-linked list of spans; not thread-safe (its owner locks).
class SpanList {
 public:
  bool empty() const { return head_ == nullptr; }
  Span* head() const { return head_; }
  std::size_t size() const { return size_; }
  void push(Span* s) {
    TC_DCHECK(s->owner_list == nullptr, "tricolor: span %p pushed onto a list while already in one",
              reinterpret_cast<void*>(s->start));
    s->owner_list = this;
    s->prev = nullptr;
    s->next = head_;
    if (head_) head_->prev = s;
    head_ = s;
    ++size_;
  }
  Span* pop() {
    Span* s = head_;
    if (s) remove(s);
    return s;
  }
  void remove(Span* s) {
    TC_DCHECK(s->owner_list == this, "tricolor: span %p removed from a list that does not hold it",
              reinterpret_cast<void*>(s->start));
    s->owner_list = nullptr;
    if (s->prev) s->prev->next = s->next;
    else head_ = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = nullptr;
    --size_;
  }

 private:
  Span* head_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tricolor::internal
