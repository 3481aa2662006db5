// Heap verification: with the world stopped after marking, re-trace everything reachable from the
// roots (gc/heap_walk.hpp) into a private visited set; any reachable object whose mark bit is clear
// is a collector bug. The report names the object's type and address and the path from its root,
// then aborts. Enabled by Config::verify (TRICOLOR_VERIFY=1); every test heap turns it on.
#pragma once

namespace tricolor::internal {

class HeapImpl;

// World stopped, marking complete (the collector calls it before flipping the sweep generation):
// aborts naming the first reachable unmarked object and its path from a root.
void verify_marking(HeapImpl& h);

}  // namespace tricolor::internal
