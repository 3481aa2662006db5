// The core's answers to the C API (gc/capi_support.hpp): each forwards to the part of the heap that
// owns the answer.
#include "gc/capi_support.hpp"

#include <mutex>

#include "gc/heap_impl.hpp"

namespace tricolor::internal {

static_assert(std::size_t{1} << kHeapArenaShift == PageHeap::kArenaBytes,
              "gc/capi_support.hpp: kHeapArenaShift must match PageHeap::kArenaBytes");

bool heap_contains(const HeapImpl& h, const void* p) { return h.contains(p); }

const Config& heap_config(const HeapImpl& h) { return h.config; }

std::size_t attached_thread_count(HeapImpl& h) {
  std::lock_guard lock(h.safepoint.threads_mu());
  return h.safepoint.threads().size();
}

std::optional<std::size_t> slot_payload_bytes(const HeapImpl& h, const void* p) {
  const Span* s = h.pages.span_of(p);
  if (s == nullptr) return std::nullopt;
  return (s->span_class == kLargeSpanClass ? s->bytes() : s->elem_size) - kHeaderSize;
}

std::uint32_t blocking_depth(const ThreadFast* t) { return static_cast<const ThreadState*>(t)->blocking_depth; }

const char* thread_name(const ThreadFast* t) { return static_cast<const ThreadState*>(t)->name.c_str(); }

}  // namespace tricolor::internal
