// The page heap's index of free spans (one for the resident ones, one for those returned to the OS):
// best fit for an allocation, largest first for the scavenger.
//
// Spans of up to kListPages pages, nearly every span a small-object class or a modest large object
// asks for, sit in one intrusive list per length, with a bitmap of the non-empty lengths: insert and
// erase are a few stores, and best fit is the lowest set bit at or above the length, so the page heap
// (which does one insert and one erase per span it hands out or takes back, under its lock) never
// calls malloc on that path. Longer spans (arena tails, huge objects) are few and go to an ordered
// set. Within one length a list is LIFO: the span freed last, whose pages are most likely still in
// the cache and resident, is taken first. (A std::set of every free span cost a node allocation per
// insert and a free per erase: 6-9% of a 32-byte allocation loop's time in malloc, free and the
// page heap's records, measured with perf on the 2-core machine.)
//
// Not thread-safe: the page heap's mutex guards it. A span is in at most one index, or in a SpanList
// of the central lists, never both (SpanList's owner check covers the lists here as well).
#pragma once
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <set>
#include <utility>

#include "gc/span.hpp"
#include "tricolor/internal/check.hpp"

namespace tricolor::internal {

class FreeIndex {
 public:
  static constexpr std::size_t kListPages = 128;

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  void insert(Span* s) {
    TC_DCHECK(s->npages != 0, "tricolor: empty span in the free index");
    ++size_;
    if (s->npages > kListPages) {
      large_.emplace(s->npages, s);
      return;
    }
    lists_[s->npages - 1].push(s);
    nonempty_[(s->npages - 1) / 64] |= std::uint64_t{1} << ((s->npages - 1) % 64);
  }
  void erase(Span* s) {
    TC_DCHECK(size_ != 0, "tricolor: erasing from an empty free index");
    --size_;
    if (s->npages > kListPages) {
      const std::size_t n = large_.erase({s->npages, s});
      TC_DCHECK(n == 1, "tricolor: span %p of %u pages is not in the free index", reinterpret_cast<void*>(s->start),
                s->npages);
      (void)n;
      return;
    }
    SpanList& l = lists_[s->npages - 1];
    l.remove(s);
    if (l.empty()) nonempty_[(s->npages - 1) / 64] &= ~(std::uint64_t{1} << ((s->npages - 1) % 64));
  }
  // The free span of the fewest pages >= npages (the most recently inserted of that length), or null.
  Span* best_fit(std::size_t npages) const {
    if (npages == 0) npages = 1;
    if (npages <= kListPages) {
      for (std::size_t w = (npages - 1) / 64; w < kWords; ++w) {
        std::uint64_t bits = nonempty_[w];
        if (w == (npages - 1) / 64) bits &= ~std::uint64_t{0} << ((npages - 1) % 64);
        if (bits != 0) return lists_[w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits))].head();
      }
    }
    const auto it = large_.lower_bound({static_cast<std::uint32_t>(std::min<std::size_t>(npages, UINT32_MAX)), nullptr});
    return it == large_.end() ? nullptr : it->second;
  }
  // Visits free spans largest first while visit(span) returns true. visit may erase the span it is
  // given (and only that one) from this index, e.g. move it to the other index.
  template <class Visit>
  void for_each_largest_first(Visit visit) {
    for (auto next = large_.end(); next != large_.begin();) {
      const auto at = std::prev(next);
      // Erasing *at invalidates only at: next stays valid either way, and it is where the walk
      // resumes; if the span stays, step past it.
      Span* s = at->second;
      const std::size_t before = large_.size();
      if (!visit(s)) return;
      if (large_.size() == before) next = at;
    }
    for (std::size_t len = kListPages; len > 0; --len) {
      for (Span* s = lists_[len - 1].head(); s != nullptr;) {
        Span* following = s->next;  // read first: visit may move s to another list
        if (!visit(s)) return;
        s = following;
      }
    }
  }

 private:
  static constexpr std::size_t kWords = (kListPages + 63) / 64;
  SpanList lists_[kListPages];        // lists_[n - 1]: spans of n pages
  std::uint64_t nonempty_[kWords] = {};  // bit n - 1: lists_[n - 1] is not empty
  std::set<std::pair<std::uint32_t, Span*>> large_;
  std::size_t size_ = 0;
};

}  // namespace tricolor::internal
