// Per-thread allocation cache (Go: mcache): one span per span class, and a 64-slot window into it
// (ThreadFast::cache, read by the inline fast path). No locks and no atomic read-modify-write on the
// fast path; this file is the out-of-line part: move to the next window, release a span, install one.
//
// Invariant: while the cache holds span s for class c, s is in no central list and only this thread
// touches s->alloc_bits. Slots of words before word[c] are all handed out; in word[c] the handed-out
// slots are those not in the window's free mask. release() writes that back into alloc_bits, so a
// released span's alloc_bits are exact again.
#pragma once
#include <cstdint>

#include "gc/span.hpp"
#include "tricolor/internal/fast_path.hpp"

namespace tricolor::internal {

class ThreadCache {
 public:
  Span* span(std::size_t sc) const { return span_[sc]; }

  // Moves the window to the next word with a free slot. False when the span is exhausted.
  bool advance(CacheEntry& e, std::size_t sc) {
    Span* s = span_[sc];
    if (s == nullptr) return false;
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
  void install(CacheEntry& e, std::size_t sc, Span* s, bool allocate_black) {
    span_[sc] = s;
    if (allocate_black)
      for (std::size_t w = 0; w < s->nwords(); ++w) {
        const std::uint64_t free = ~s->alloc_bits[w] & s->valid_mask(w);
        // relaxed fetch_or: markers set other bits of the same word concurrently.
        if (free != 0) s->mark_bits[w].fetch_or(free, std::memory_order_relaxed);
      }
    word_[sc] = 0;
    const std::uint64_t free = ~s->alloc_bits[0] & s->valid_mask(0);
    e.free_mask = free;
    e.window = s->slot_address(0);
    if (free == 0) advance(e, sc);
  }

  // Gives up the span of class sc (null if none); alloc_bits become exact.
  Span* release(CacheEntry& e, std::size_t sc) {
    Span* s = span_[sc];
    if (s == nullptr) return nullptr;
    if (word_[sc] < s->nwords()) s->alloc_bits[word_[sc]] = s->valid_mask(word_[sc]) & ~e.free_mask;
    span_[sc] = nullptr;
    word_[sc] = 0;
    e.free_mask = 0;
    e.window = nullptr;
    return s;
  }

 private:
  Span* span_[kNumSpanClasses] = {};
  std::uint16_t word_[kNumSpanClasses] = {};
};

}  // namespace tricolor::internal
