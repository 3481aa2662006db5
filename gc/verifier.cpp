#include "gc/verifier.hpp"

#include "gc/heap_impl.hpp"
#include "gc/heap_walk.hpp"

namespace tricolor::internal {

bool no_grey_objects(HeapImpl& h, const MarkContext& controller) {
  if (!h.marker.pool().empty() || controller.work.local_size() != 0) return false;
  for (ThreadState* t : h.safepoint.threads())
    if (t->barrier.n != 0 || t->mark.work.local_size() != 0) return false;
  return true;
}

bool central_mark_bits_clear(HeapImpl& h) {
  bool clear = true;
  auto check = [&](Span* s) {
    // relaxed: a check; the lists' mutex orders the sweep that cleared the bits before it.
    for (std::size_t w = 0; w < s->nwords(); ++w) clear &= s->mark_bits[w].load(std::memory_order_relaxed) == 0;
  };
  h.allocator.for_each_listed_span(check);
  return clear;
}

void verify_marking(HeapImpl& h) {
  HeapWalk walk(h);
  std::size_t bad = SIZE_MAX;
  walk.run([&](const void* obj) {
    Span* s = h.pages.span_of(obj);
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
    if (!h.marker.is_marked(obj)) {
      fatal(__FILE__, __LINE__,
            "verifier: reachable object not marked after marking terminated\n"
            "  object: %s at %p\n  path:   %s\n"
            "  Most likely a store that skipped the write barrier into the last object of the path: a plain\n"
            "  `obj->field = p` instead of a Member / TaggedMember / tc_store / tc_store_word, or a VM's own\n"
            "  word store without tricolor::write_barrier / tc_write_barrier before it. Also possible: a\n"
            "  pointer held where no root covers it (a raw local across an allocation, a malloc'ed array no\n"
            "  root callback traces), or a trace function that reads a field that changes without a barrier.\n"
            "  With every store barriered and every holder a root, it is a collector bug: please report it.",
            type_name_of(obj), obj, walk.path_to(i).c_str());
    }
  }
}

}  // namespace tricolor::internal
