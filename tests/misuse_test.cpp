// Every misuse the README lists gets a precise message and a clean abort, never a silent crash.
#include "death.hpp"
#include "test_heap.hpp"

#include <thread>

using namespace tricolor;
using tctest::Node;

TEST_CASE("allocating from an unattached thread names the fix", "[misuse]") {
  REQUIRE_DEATH("allocate from a thread that is not attached", { make<Node>(1); });
}

TEST_CASE("a Root on an unattached thread names the fix", "[misuse]") {
  REQUIRE_DEATH("create a Root from a thread that is not attached", { Root<Node> r(nullptr); });
}

TEST_CASE("Roots destroyed out of order are caught", "[misuse]") {
  tctest::TestHeap h;
  REQUIRE_DEATH("destroyed out of order", {
    auto* a = new Root<Node>(make<Node>(1), "first");
    auto* b = new Root<Node>(make<Node>(2), "second");
    delete a;  // b is still above it on the root stack
    delete b;
  });
}

TEST_CASE("a second Mutator on one thread is refused", "[misuse]") {
  tctest::TestHeap h;
  REQUIRE_DEATH("already attached", { Mutator again(h.heap); });
}

TEST_CASE("destroying a heap with attached threads is refused", "[misuse]") {
  REQUIRE_DEATH("still attached", {
    auto* heap = new Heap(tctest::test_config());
    new Mutator(*heap);
    delete heap;
  });
}

TEST_CASE("a Mutator destroyed while its Roots live is refused", "[misuse]") {
  REQUIRE_DEATH("while Root \"kept\" of its thread is still alive", {
    Heap heap(tctest::test_config());
    auto* m = new Mutator(heap);
    new Root<Node>(make<Node>(1), "kept");
    delete m;
  });
}

TEST_CASE("storing into a Global from an unattached thread is refused", "[misuse]") {
  Heap heap(tctest::test_config());
  Global<Node> g(heap, nullptr, "g");
  REQUIRE_DEATH("store into a Global from a thread that is not attached", { g = nullptr; });
}

#if TC_DCHECK_IS_ON
TEST_CASE("debug: a pointer that is not a heap object stored in a Member is refused", "[misuse]") {
  tctest::TestHeap h;
  Root<Node> x(make<Node>(1));
  static Node on_stack_like;  // not allocated by make<>
  REQUIRE_DEATH("is not an object of this thread's tricolor heap", { x->left = &on_stack_like; });
}
#endif

TEST_CASE("a malformed environment variable is named", "[misuse][config]") {
  REQUIRE_DEATH("TRICOLOR_MAX_HEAP=lots", {
    setenv("TRICOLOR_MAX_HEAP", "lots", 1);
    Config c;
    c.apply_env();
  });
}
