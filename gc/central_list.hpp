// Per-span-class shared spans (Go: mcentral). Holds every in-use span of its class that no thread
// cache holds, in four lists: {partial, full} x {swept, unswept}. Which pair is "swept" flips with the
// sweep generation (index (sg/2)&1), so making every span unswept at the end of a cycle is O(1).
//
// Invariant: a span is in at most one list, and in none while a thread cache or a sweeper holds it
// (checked by SpanList, gc/span.hpp).
// Spans are popped under the lock and then swept outside it (destructors may take long).
#pragma once
#include <cstdint>
#include <mutex>

#include "gc/span.hpp"

namespace tricolor::internal {

class CentralList {
 public:
  // A swept span with a free slot, or null.
  Span* pop_swept_partial(std::uint32_t sg) {
    std::lock_guard lock(mu_);
    return partial_[swept(sg)].pop();
  }
  // An unswept span (partial ones first: they are likelier to yield free slots), or null.
  Span* pop_unswept(std::uint32_t sg) {
    std::lock_guard lock(mu_);
    if (Span* s = partial_[unswept(sg)].pop()) return s;
    return full_[unswept(sg)].pop();
  }
  // A span swept in generation sg (or fresh), going back to the shared pool.
  void push_swept(Span* s, std::uint32_t sg, bool has_free) {
    std::lock_guard lock(mu_);
    (has_free ? partial_ : full_)[swept(sg)].push(s);
  }
  // Visits every span in the swept lists (the world is stopped, or the heap is being destroyed).
  template <class F>
  void for_each_span(F&& f) {
    std::lock_guard lock(mu_);
    for (SpanList* l : {&partial_[0], &partial_[1], &full_[0], &full_[1]})
      for (Span* s = l->head(); s != nullptr; s = s->next) f(s);
  }

 private:
  static std::size_t swept(std::uint32_t sg) { return (sg / 2) & 1; }
  static std::size_t unswept(std::uint32_t sg) { return 1 - swept(sg); }

  std::mutex mu_;
  SpanList partial_[2];
  SpanList full_[2];
};

}  // namespace tricolor::internal
