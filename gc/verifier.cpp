#include "gc/verifier.hpp"

#include "gc/heap_impl.hpp"

namespace tricolor::internal {

void HeapImpl::verify_marking() {
  HeapWalk walk(*this);
  std::size_t bad = SIZE_MAX;
  walk.run([&](const void* obj) {
    Span* s = pages.span_of(obj);
    TC_CHECK(s != nullptr && s->state == SpanState::kInUse,
             "verifier: reachable pointer %p is not in the heap (a trace() visited something that was not "
             "returned by make<>(), or the object was freed)", obj);
    if (bad == SIZE_MAX && !s->is_marked(s->slot_index(obj))) bad = walk.nodes().size();
    return bad == SIZE_MAX;
  });
  if (bad == SIZE_MAX) return;
  // Find the node of the first unmarked object.
  for (std::size_t i = 0; i < walk.nodes().size(); ++i) {
    const void* obj = walk.nodes()[i].obj;
    if (!marker.is_marked(obj)) {
      fatal(__FILE__, __LINE__,
            "verifier: reachable object not marked after marking terminated (collector bug)\n"
            "  object: %s at %p\n  path:   %s",
            type_name_of(obj), obj, walk.path_to(i).c_str());
    }
  }
}

}  // namespace tricolor::internal
