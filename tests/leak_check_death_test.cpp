// A LeakCheck that is never check()ed checks itself when it dies and stops the program with the
// report if the scope leaked (RAII use outside a test framework).
#include "test_heap.hpp"

#include "death.hpp"

using namespace tricolor;

namespace lkdeath {
struct Pair : Object<Pair> {
  Member<Pair> other;
  void trace(Tracer& t) const { t.trace(other, "other"); }
};
}  // namespace lkdeath

TEST_CASE("an unchecked LeakCheck that leaked stops the program with the report", "[leak][death]") {
  REQUIRE_DEATH("tricolor::LeakCheck destroyed without check(), and the scope leaked", {
    tctest::TestHeap h;
    Global<lkdeath::Pair> g(h.heap, nullptr, "forgotten");
    {
      LeakCheck scope(h.heap);
      g = make<lkdeath::Pair>();
    }
  });
  REQUIRE_DEATH("Global \"forgotten\" -> lkdeath::Pair", {
    tctest::TestHeap h;
    Global<lkdeath::Pair> g(h.heap, nullptr, "forgotten");
    LeakCheck scope(h.heap);
    g = make<lkdeath::Pair>();
  });
}

TEST_CASE("an unchecked LeakCheck that leaked nothing is silent", "[leak]") {
  tctest::TestHeap h;
  LeakCheck scope(h.heap);
  for (int i = 0; i < 1000; ++i) make<lkdeath::Pair>();
}

TEST_CASE("LeakCheck on an unattached thread says what to do", "[leak][death]") {
  REQUIRE_DEATH("open a tricolor::LeakCheck from a thread that is not attached", {
    tricolor::Heap heap(tctest::test_config());
    LeakCheck scope(heap);
  });
}
