// The allocator's slow paths and central lists (the tiers: gc/allocator.hpp).
#include "gc/allocator.hpp"

#include <new>

#include "gc/collector_work.hpp"
#include "gc/heap_impl.hpp"
#include "gc/poison.hpp"
#include "gc/type_registry.hpp"

namespace tricolor::internal {

bool Allocator::keeps_windows_empty() const {
  return h_.observes_allocations() || collect_every_.load(std::memory_order_relaxed) != 0;
}

void Allocator::return_span(Span* s, bool has_free) {
  CentralList& c = s->span_class == kLargeSpanClass ? large_ : central_[s->span_class];
  // relaxed: the caller owns s, so its generation is stable.
  c.push_swept(s, s->sweep_gen.load(std::memory_order_relaxed), has_free);
}

void Allocator::release_caches(ThreadState* t) {
  for (std::size_t sc = 0; sc < kNumSpanClasses; ++sc) {
    SlotCount back;
    if (Span* s = t->spans.release(t->cache[sc], sc, &back)) {
      count_allocation(back, false);
      return_span(s, s->allocated_count() < s->nslots);
    }
  }
}

Span* Allocator::acquire_span(std::size_t sc, std::uint32_t sg) {
  if (Span* s = central_[sc].pop_swept_partial(sg)) return s;
  if (Span* s = h_.sweeper.sweep_for_allocation(sc, sg)) return s;
  const std::size_t cls = class_of_span_class(sc);
  return h_.pages.allocate(kClasses.pages[cls], static_cast<std::uint16_t>(sc), sg);
}

// The embedder asked for the throwing variant (make<T>): the heap stays consistent, nothing was
// allocated. (try_make returns null instead.)
void Allocator::fail_allocation() { throw std::bad_alloc(); }

// Config::collect_every: counts the heap's allocations and runs a full collection on every Nth,
// before the slot is taken (so the new object cannot be lost by it: it does not exist yet).
void Allocator::stress_collect(ThreadState* t) {
  const std::size_t n = collect_every_.load(std::memory_order_relaxed);
  if (n == 0) return;
  // relaxed: a counter; which thread's allocation triggers the collection does not matter.
  if (stress_allocs_.fetch_add(1, std::memory_order_relaxed) + 1 < n) return;
  stress_allocs_.store(0, std::memory_order_relaxed);
  park_allocation(t);
  h_.collector.collect();
  unpark_allocation(t);
}

void* Allocator::small_slow_may_reach_safepoint(ThreadState* t, std::size_t sc, bool may_fail) {
  // Parked windows send every allocation of a thread that must not allocate here.
  if (tls_collector_work != nullptr || t->blocking_depth != 0) [[unlikely]]
    refuse_allocation(t);
  CacheEntry& e = t->cache[sc];
  if (collect_every_.load(std::memory_order_relaxed) != 0) [[unlikely]]
    stress_collect(t);
  // Scan work owed from earlier allocation: one slice per slow path (gc/assist.hpp).
  if (h_.assists.owes(t)) [[unlikely]]
    h_.assists.pay(t);
  // Every safepoint below (the poll, a throttled wait, an emergency collection) may take the cache's
  // spans away (a stop releases them): loop until a slot is in hand with no safepoint after it.
  for (Collector::HeapLimitRelief relief;;) {
    if (t->poll.load(std::memory_order_relaxed) != 0) h_.safepoint.poll_slow(t);
    // pending: slots held back while sampling allocation sites (gc/thread_cache.hpp); else 0.
    if (t->spans.pending(sc) != 0 || e.free_mask != 0 || t->spans.advance(e, sc)) break;
    SlotCount back;  // none: the span is used up (advance() failed) and nothing is pending
    if (Span* old = t->spans.release(e, sc, &back)) return_span(old, false);
    count_allocation(back, false);
    const std::uint32_t sg = h_.collector.sweep_gen();
    h_.sweeper.sweep_ahead(sg);
    if (Span* s = acquire_span(sc, sg)) {
      count_allocation(t->spans.install(e, sc, s, h_.collector.pre_mark(t, s)), true);
      h_.collector.note_allocated_may_reach_safepoint(t, (s->nslots - s->allocated_count()) * std::size_t{s->elem_size});
      continue;
    }
    if (h_.collector.relieve_heap_limit_may_reach_safepoint(t, relief)) continue;
    if (may_fail) return nullptr;
    fail_allocation();
  }
  if (keeps_windows_empty() || t->spans.pending(sc) != 0) [[unlikely]] {
    poison::reused_slots(e.window, kClasses.size[class_of_span_class(sc)], e.free_mask | t->spans.pending(sc));
    // An observed heap (and stress mode) keep the window empty, so every allocation comes here
    // (gc/heap_observer.hpp). Slots left in pending_ after stress mode was turned off drain here too.
    void* slot = t->spans.take_sampled(e, sc);
    if (h_.observes_allocations()) h_.observer()->on_allocation(t->spans, t->spans.span(sc), slot, class_size(class_of_span_class(sc)));
    return slot;
  }
  // ASan builds: the window's free slots were poisoned when swept (gc/poison.hpp); the fast path
  // hands them out until the next slow path.
  poison::reused_slots(e.window, kClasses.size[class_of_span_class(sc)], e.free_mask | t->spans.pending(sc));
  return pop_slot(e.free_mask, e.window, kClasses.size[class_of_span_class(sc)]);
}

// The single size check of every allocation entry point: make<T>, make_with_trailing, make_buffer
// (and their try_ forms, make_buffer_of) and the C API send every request above kMaxSmallSize here,
// with its byte count saturated at SIZE_MAX rather than wrapped (internal::slot_bytes in
// include/tricolor/object.hpp). A request that no state of this heap could hold (more than the
// reservation or the hard limit) fails here, before any accounting, emergency collection or page
// arithmetic: null for try_, std::bad_alloc otherwise, and nothing allocated. Below the bound,
// npages fits the page heap's 32-bit page counts and no sum below can wrap.
void* Allocator::large_may_reach_safepoint(ThreadState* t, std::size_t bytes, std::uint32_t type_id, bool noscan,
                                            bool may_fail) {
  if (tls_collector_work != nullptr || t->blocking_depth != 0) [[unlikely]]
    refuse_allocation(t);
  if (bytes > h_.pages.max_span_bytes()) [[unlikely]] {
    if (may_fail) return nullptr;
    fail_allocation();
  }
  const std::size_t npages = (bytes + kPageSize - 1) / kPageSize;
  if (collect_every_.load(std::memory_order_relaxed) != 0) [[unlikely]]
    stress_collect(t);
  // Account (and maybe wait for a cycle) before the object exists: after it, no safepoint may come
  // until it is returned to the caller, who roots it.
  h_.collector.note_allocated_may_reach_safepoint(t, npages * kPageSize);
  if (t->poll.load(std::memory_order_relaxed) != 0) h_.safepoint.poll_slow(t);
  Span* s = nullptr;
  for (Collector::HeapLimitRelief relief;;) {
    const SpanKind kind = noscan                                    ? SpanKind::kNoScan
                          : type_info(type_id).destroy != nullptr ? SpanKind::kFinalize
                                                                  : SpanKind::kScan;
    const std::uint32_t sg = h_.collector.sweep_gen();
    h_.sweeper.sweep_ahead(sg);
    s = h_.pages.allocate(npages, kLargeSpanClass, sg, nullptr, kind);
    if (s != nullptr) break;
    if (h_.collector.relieve_heap_limit_may_reach_safepoint(t, relief)) continue;
    if (may_fail) return nullptr;
    fail_allocation();
  }
  poison::reused_region(reinterpret_cast<void*>(s->start), s->bytes());
  s->alloc_bits[0] = 1;
  t->spans.count_large(s->bytes());
  count_allocation({1, s->bytes()}, true);
  // Allocate black. relaxed: published to markers with the object itself.
  if (h_.collector.pre_mark(t, s)) s->mark_bits[0].fetch_or(1, std::memory_order_relaxed);
  void* payload = finish_allocation(t, reinterpret_cast<void*>(s->start), type_id);
  if (h_.observes_allocations()) [[unlikely]]
    h_.observer()->on_allocation(t->spans, s, reinterpret_cast<void*>(s->start), s->bytes());
  return_span(s, false);
  return payload;
}

}  // namespace tricolor::internal
