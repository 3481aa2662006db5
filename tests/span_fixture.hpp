// Spans built by hand for the tests of the structures that hold them (central_list_test,
// thread_cache_test): real size-class geometry over a private buffer, so that slot addresses are
// genuine and no page heap is involved.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "gc/span.hpp"

namespace tctest {

struct OwnedSpan {
  std::unique_ptr<char[]> memory;
  std::unique_ptr<tricolor::internal::Span> span;
};

// A span of span class sc whose allocated slots are `allocated` (bit i of word w: slot w*64+i).
inline OwnedSpan make_test_span(std::size_t sc, const std::vector<std::uint64_t>& allocated = {}) {
  using namespace tricolor::internal;
  const std::size_t cls = class_of_span_class(sc);
  OwnedSpan o;
  o.memory = std::make_unique<char[]>(std::size_t{kClasses.pages[cls]} * kPageSize);
  o.span = std::make_unique<Span>();
  Span& s = *o.span;
  s.start = reinterpret_cast<std::uintptr_t>(o.memory.get());
  s.npages = kClasses.pages[cls];
  s.span_class = static_cast<std::uint16_t>(sc);
  s.state = SpanState::kInUse;
  s.nslots = kClasses.slots[cls];
  s.elem_size = kClasses.size[cls];
  s.reciprocal = kClasses.reciprocal[cls];
  for (std::size_t w = 0; w < allocated.size() && w < s.nwords(); ++w) s.alloc_bits[w] = allocated[w] & s.valid_mask(w);
  return o;
}

}  // namespace tctest
