// Heap verification: with the world stopped after marking, re-trace everything reachable from the
// roots (gc/heap_walk.hpp) into a private visited set; any reachable object whose mark bit is clear
// is a collector bug. The report names the object's type and address and the path from its root,
// then aborts. Enabled by Config::verify (TRICOLOR_VERIFY=1); every test heap turns it on.
#pragma once

namespace tricolor::internal {

class HeapImpl;
struct MarkContext;

// World stopped, marking complete (the collector calls it before flipping the sweep generation):
// aborts naming the first reachable unmarked object and its path from a root.
void verify_marking(HeapImpl& h);

// Checks (TC_DCHECK, TC_DCHECK_SLOW) the collector runs in debug and sanitizer builds.
// World stopped, after marking: no worklist, pool, barrier buffer or the controller's context
// (`controller`) holds a grey object.
bool no_grey_objects(HeapImpl& h, const MarkContext& controller);
// Before marking (sweep finished): every span in a central list has all its mark bits clear, so no
// object of the new cycle starts out black (a span a cache held across the flip and gave back as
// swept would not). A walk: TC_DCHECK_SLOW.
bool central_mark_bits_clear(HeapImpl& h);

}  // namespace tricolor::internal
