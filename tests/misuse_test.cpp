// Every misuse the README lists gets a precise message and a clean abort, never a silent crash.
#include "death.hpp"
#include "test_heap.hpp"

#include <cstdint>
#include <cstdlib>
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

TEST_CASE("every TRICOLOR_* variable is range-checked and named with its range", "[misuse][config]") {
  struct Case {
    const char* var;
    const char* value;
    const char* message;
  };
  // Each used to pass silently (wrapping, truncating, or a double's rounding) or to end in
  // std::terminate; the message names the variable, the value and what is accepted.
  const Case cases[] = {
      {"TRICOLOR_GC_PERCENT", "99999999999999999999",
       "TRICOLOR_GC_PERCENT=99999999999999999999: out of range: expected an integer from -1 to 1000000"},
      {"TRICOLOR_GC_PERCENT", "-2", "TRICOLOR_GC_PERCENT=-2: out of range: expected an integer from -1 to 1000000"},
      {"TRICOLOR_GC_PERCENT", "50%", "TRICOLOR_GC_PERCENT=50%: expected an integer from -1 to 1000000"},
      {"TRICOLOR_MAX_HEAP", "99999999999999999999", "TRICOLOR_MAX_HEAP=99999999999999999999: out of range: expected a byte count from 0 bytes to 16 TiB"},
      {"TRICOLOR_MAX_HEAP", "17t", "TRICOLOR_MAX_HEAP=17t: out of range"},
      {"TRICOLOR_MAX_HEAP", "-1", "TRICOLOR_MAX_HEAP=-1: expected a byte count"},
      {"TRICOLOR_SOFT_LIMIT", "1.5", "TRICOLOR_SOFT_LIMIT=1.5: expected a byte count"},
      {"TRICOLOR_SOFT_LIMIT", "2 GiB", "TRICOLOR_SOFT_LIMIT=2 GiB: expected a byte count"},
      {"TRICOLOR_INITIAL_HEAP", "16777216t", "TRICOLOR_INITIAL_HEAP=16777216t: out of range"},
      {"TRICOLOR_RESERVE", "1m", "TRICOLOR_RESERVE=1m: out of range: expected a byte count from 64 MiB to 16 TiB"},
      {"TRICOLOR_RESERVE", "32TiB", "TRICOLOR_RESERVE=32TiB: out of range"},
      {"TRICOLOR_MARKERS", "100000", "TRICOLOR_MARKERS=100000: out of range: expected an integer from 0 to 1024"},
      {"TRICOLOR_MARKERS", "-1", "TRICOLOR_MARKERS=-1: out of range"},
      {"TRICOLOR_CONCURRENT", "2", "TRICOLOR_CONCURRENT=2: expected 0 or 1"},
      {"TRICOLOR_VERIFY", "yes", "TRICOLOR_VERIFY=yes: expected 0 or 1"},
      {"TRICOLOR_GCTRACE", "11", "TRICOLOR_GCTRACE=11: expected 0 or 1"},
      {"TRICOLOR_SCAVENGE_MS", "1e3", "TRICOLOR_SCAVENGE_MS=1e3: expected an integer from 0 to 86400000"},
      {"TRICOLOR_PERIODIC_GC_MS", "4294967296", "TRICOLOR_PERIODIC_GC_MS=4294967296: out of range"},
      {"TRICOLOR_ALLOC_SITES", "512q", "TRICOLOR_ALLOC_SITES=512q: expected a byte count"},
  };
  for (const Case& c : cases) {
    INFO(c.var << "=" << c.value);
    REQUIRE_DEATH(c.message, {
      setenv(c.var, c.value, 1);
      Config config;
      config.apply_env();
    });
  }
}

TEST_CASE("too many marker threads in a Config is refused by name", "[misuse][config]") {
  REQUIRE_DEATH("Config::marker_threads = 5000: at most 1024", {
    Config c = tctest::test_config();
    c.marker_threads = 5000;
    Heap heap(c);
  });
}
