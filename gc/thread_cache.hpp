// Per-thread allocation cache (Go: mcache): one span per span class, and a 64-slot window into it
// (ThreadFast::cache, read by the inline fast path). No locks and no atomic read-modify-write on the
// fast path; this file is the out-of-line part: move to the next window, release a span, install one.
//
// Invariant: while the cache holds span s for class c, s is in no central list and only this thread
// touches s->alloc_bits. Slots of words before word[c] are all handed out; in word[c] the handed-out
// slots are those neither in the window's free mask nor pending (sampling). release() writes that
// back into alloc_bits, so a released span's alloc_bits are exact again. pending_[c] is 0 whenever
// advance() runs. install() and release() check these (TC_DCHECK, TC_DCHECK_SLOW).
//
// Exact allocation counts (tricolor::allocated_objects/allocated_bytes) cost nothing on the fast
// path: install() counts every free slot of the span as allocated, release() takes back the slots
// still free, and allocated() subtracts the free slots of the spans held now.
#pragma once
#include <cstdint>

#include "gc/span.hpp"
#include "tricolor/internal/fast_path.hpp"

namespace tricolor::internal {

// A number of slots and their bytes (slot sizes: the object header included).
struct SlotCount {
  std::uint64_t objects = 0, bytes = 0;
};

class ThreadCache {
 public:
  Span* span(std::size_t sc) const { return span_[sc]; }

  // Moves the window to the next word with a free slot. False when the span is exhausted.
  bool advance(CacheEntry& e, std::size_t sc) {
    Span* s = span_[sc];
    if (s == nullptr) return false;
    TC_DCHECK(pending_[sc] == 0, "tricolor: window advanced over pending (sampled or parked) slots");
    s->alloc_bits[word_[sc]] = s->valid_mask(word_[sc]);  // the window was used up
    while (++word_[sc] < s->nwords()) {
      const std::uint64_t free = ~s->alloc_bits[word_[sc]] & s->valid_mask(word_[sc]);
      if (free != 0) {
        e.free_mask = free;
        e.window = s->slot_address(std::size_t{word_[sc]} * 64);
        return true;
      }
    }
    e.free_mask = 0;
    return false;
  }

  // Installs a swept span with at least one free slot. With allocate_black, pre-marks every free slot
  // so that everything allocated from it this cycle is born black.
  // Returns the free slots it takes (counted as allocated from now on).
  SlotCount install(CacheEntry& e, std::size_t sc, Span* s, bool allocate_black) {
    TC_DCHECK(span_[sc] == nullptr && pending_[sc] == 0, "tricolor: span installed over a cached one");
    TC_DCHECK(s->owner_list == nullptr && s->span_class == sc,
              "tricolor: span %p installed in a thread cache while in a central list, or of another class",
              reinterpret_cast<void*>(s->start));
    TC_DCHECK_SLOW(s->bitmaps_in_range() && s->allocated_count() < s->nslots,
                   "tricolor: span %p installed with bits outside its slots, or with no free slot",
                   reinterpret_cast<void*>(s->start));
    span_[sc] = s;
    held_[sc / 64] |= std::uint64_t{1} << (sc % 64);
    std::uint64_t nfree = 0;
    for (std::size_t w = 0; w < s->nwords(); ++w) {
      const std::uint64_t free = ~s->alloc_bits[w] & s->valid_mask(w);
      nfree += static_cast<std::uint64_t>(__builtin_popcountll(free));
      // fetch_or: markers set other bits of the same word concurrently. relaxed: as Span::mark_atomic
      // (a mark bit guards no data); a marker's own RMW on the word sees these bits.
      if (allocate_black && free != 0) s->mark_bits[w].fetch_or(free, std::memory_order_relaxed);
    }
    const SlotCount taken{nfree, nfree * s->elem_size};
    count(taken, true);
    word_[sc] = 0;
    const std::uint64_t free = ~s->alloc_bits[0] & s->valid_mask(0);
    e.free_mask = free;
    e.window = s->slot_address(0);
    if (free == 0) advance(e, sc);
    return taken;
  }

  // Gives up the span of class sc (null if none); alloc_bits become exact. The slots it gives back
  // free are no longer counted as allocated; *returned (if given) says how many.
  Span* release(CacheEntry& e, std::size_t sc, SlotCount* returned = nullptr) {
    Span* s = span_[sc];
    if (s == nullptr) return nullptr;
    const SlotCount back = still_free(e, sc);
    count(back, false);
    if (returned != nullptr) *returned = back;
    if (word_[sc] < s->nwords()) s->alloc_bits[word_[sc]] = s->valid_mask(word_[sc]) & ~(e.free_mask | pending_[sc]);
    TC_DCHECK_SLOW(s->bitmaps_in_range(), "tricolor: span %p released with bits outside its slots",
                   reinterpret_cast<void*>(s->start));
    pending_[sc] = 0;
    span_[sc] = nullptr;
    held_[sc / 64] &= ~(std::uint64_t{1} << (sc % 64));
    word_[sc] = 0;
    e.free_mask = 0;
    e.window = nullptr;
    return s;
  }

  // Observed allocation (gc/heap_observer.hpp: allocation sampling). While the heap samples, the inline window stays empty
  // so that every allocation reaches the slow path; the window's free slots wait in pending_ and are
  // handed out one per call. pending_ is always 0 when sampling is off, so nothing else changes:
  // advance() is only called with pending_[sc] == 0, and release() gives pending slots back as free.
  std::uint64_t pending(std::size_t sc) const { return pending_[sc]; }
  void* take_sampled(CacheEntry& e, std::size_t sc) {
    pending_[sc] |= e.free_mask;
    e.free_mask = 0;
    return pop_slot(pending_[sc], e.window, kClasses.size[class_of_span_class(sc)]);
  }
  // Parking (gc/collector_work.hpp): a thread that must not allocate for a while moves its windows'
  // free slots into pending_, where release() counts them as free exactly as for sampling, so every
  // allocation reaches the slow path (which refuses it by name) and the cache stays exact whoever
  // releases it meanwhile. unpark_windows() moves them back; not while sampling, which keeps its
  // window slots in pending_ anyway. Only the classes that hold a span have a window (held_): a
  // thread that allocates a few kinds of objects parks in a few nanoseconds.
  void park_windows(CacheEntry* cache) {
    for (std::size_t w = 0; w < kHeldWords; ++w)
      for (std::uint64_t m = held_[w]; m != 0; m &= m - 1) {
        const std::size_t sc = w * 64 + static_cast<std::size_t>(__builtin_ctzll(m));
        pending_[sc] |= cache[sc].free_mask;
        cache[sc].free_mask = 0;
      }
  }
  void unpark_windows(CacheEntry* cache) {
    for (std::size_t w = 0; w < kHeldWords; ++w)
      for (std::uint64_t m = held_[w]; m != 0; m &= m - 1) {
        const std::size_t sc = w * 64 + static_cast<std::size_t>(__builtin_ctzll(m));
        cache[sc].free_mask |= pending_[sc];
        pending_[sc] = 0;
      }
  }
  // What this thread has allocated since it attached: slots taken with spans, less those given back
  // and those still free in the spans held now. Cost: a popcount per word of each held span.
  SlotCount allocated(const CacheEntry* cache) const {
    SlotCount n = taken_;
    for (std::size_t w = 0; w < kHeldWords; ++w)
      for (std::uint64_t m = held_[w]; m != 0; m &= m - 1) {
        const std::size_t sc = w * 64 + static_cast<std::size_t>(__builtin_ctzll(m));
        const SlotCount f = still_free(cache[sc], sc);
        n.objects -= f.objects;
        n.bytes -= f.bytes;
      }
    return n;
  }
  // A large object (or anything allocated outside the span classes).
  void count_large(std::uint64_t bytes) { count({1, bytes}, true); }

  std::int64_t sample_countdown = 0;  // bytes until the next sample
  std::uint64_t sample_rng = 0;       // 0 until the thread's first sample seeds it

 private:
  // The free slots of the span held for class sc: the window's and the pending ones, and those of
  // the words after the window (words before it are used up).
  SlotCount still_free(const CacheEntry& e, std::size_t sc) const {
    const Span* s = span_[sc];
    if (s == nullptr) return {};
    std::uint64_t n = 0;
    if (word_[sc] < s->nwords()) {
      n = static_cast<std::uint64_t>(__builtin_popcountll(e.free_mask | pending_[sc]));
      for (std::size_t w = std::size_t{word_[sc]} + 1; w < s->nwords(); ++w)
        n += static_cast<std::uint64_t>(__builtin_popcountll(~s->alloc_bits[w] & s->valid_mask(w)));
    }
    return {n, n * s->elem_size};
  }
  void count(SlotCount c, bool add) {
    if (add) {
      taken_.objects += c.objects;
      taken_.bytes += c.bytes;
    } else {
      taken_.objects -= c.objects;
      taken_.bytes -= c.bytes;
    }
  }

  static constexpr std::size_t kHeldWords = (kNumSpanClasses + 63) / 64;
  Span* span_[kNumSpanClasses] = {};
  std::uint64_t held_[kHeldWords] = {};  // bit sc: span_[sc] != nullptr
  std::uint64_t pending_[kNumSpanClasses] = {};
  std::uint16_t word_[kNumSpanClasses] = {};
  SlotCount taken_;  // taken with spans (and large objects), less what release() gave back
};

}  // namespace tricolor::internal
