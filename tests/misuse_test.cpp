// Every misuse the README lists gets a precise message and a clean abort, never a silent crash.
#include "death.hpp"
#include "gc/heap_impl.hpp"
#include "gc/testing.hpp"
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

TEST_CASE("destroying a heap while a Global refers to it names the Global", "[misuse][roots]") {
  REQUIRE_DEATH("a tricolor::Global (\"settings\") still refers to it: destroy Globals first", {
    auto* heap = new Heap(tctest::test_config());
    new Global<Node>(*heap, nullptr, "older");
    new Global<Node>(*heap, nullptr, "settings");  // the newest is named
    delete heap;
  });
}

TEST_CASE("removing a heap root callback twice is refused", "[misuse][roots]") {
  REQUIRE_DEATH("Heap::remove_roots: no root callback with id", {
    Heap heap(tctest::test_config());
    const std::uint64_t id = heap.add_roots([](Tracer&, void*) {}, nullptr, "r");
    heap.remove_roots(id);
    heap.remove_roots(id);
  });
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
      {"TRICOLOR_MARK_CPU", "101", "TRICOLOR_MARK_CPU=101: out of range: expected an integer from 0 to 100"},
      {"TRICOLOR_MARK_CPU", "25%", "TRICOLOR_MARK_CPU=25%: expected an integer from 0 to 100"},
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

TEST_CASE("a background-marking CPU share above 100% is refused by name", "[misuse][config]") {
  REQUIRE_DEATH("Config::mark_cpu_percent = 250: a share of the cores in percent, 1 to 100 (0: no cap)", {
    Config c = tctest::test_config();
    c.mark_cpu_percent = 250;
    Heap heap(c);
  });
}

// ---- Reentrancy: what the collector calls back (destructors, trace(), root callbacks) must not
// collect or allocate, and a thread in a BlockingScope must not allocate. Each used to hang.

namespace {

struct CollectsInDestructor : Object<CollectsInDestructor> {
  static inline Heap* heap = nullptr;
  ~CollectsInDestructor() { heap->collect(); }
  void trace(Tracer&) const {}
};

struct AllocatesInDestructor : Object<AllocatesInDestructor> {
  ~AllocatesInDestructor() { make<Node>(7); }
  void trace(Tracer&) const {}
};

struct CollectsInTrace : Object<CollectsInTrace> {
  static inline Heap* heap = nullptr;
  void trace(Tracer&) const { heap->collect(); }
};

}  // namespace

TEST_CASE("allocating inside a BlockingScope names the fix", "[misuse][blocking]") {
  REQUIRE_DEATH("inside a tricolor::BlockingScope", {
    tctest::TestHeap h;
    Root<Node> warm(make<Node>(1));  // the window of Node's class has free slots: the fast path would take one
    BlockingScope blocked;
    make<Node>(2);
  });
  REQUIRE_DEATH("inside a tricolor::BlockingScope", {
    tctest::TestHeap h;
    BlockingScope blocked;
    make_buffer(100000);  // the large path
  });
  REQUIRE_DEATH("inside a tricolor::BlockingScope", {
    tctest::TestHeap h;
    BlockingScope outer;
    {
      BlockingScope inner;
    }
    try_make_buffer(16);  // still inside the outer scope
  });
}

TEST_CASE("Heap::collect() from a destructor run by the sweeper names the fix", "[misuse][reentrancy]") {
  // Whichever thread sweeps (this one finishing the sweep, the background sweeper, the controller),
  // the destructor's collect() is refused.
  REQUIRE_DEATH("Heap::collect() called from a destructor run by the sweeper, which the collector runs in the "
                "middle of a collection: it would wait for the collector's own work and never return. destructors "
                "must not collect or allocate; do that work in a finalizer",
                {
    tctest::TestHeap h;
    CollectsInDestructor::heap = &h.heap;
    for (int i = 0; i < 100; ++i) make<CollectsInDestructor>();
    h.collect_now();
    h.collect_now();
  });
}

TEST_CASE("allocating in a destructor during an attached thread's lazy sweep names the fix", "[misuse][reentrancy]") {
  REQUIRE_DEATH("an allocation (make<>, make_buffer, tc_alloc) called from a destructor run by the sweeper", {
    Config c = tctest::test_config();
    c.background_sweeper = false;
    c.gc_percent = -1;
    c.periodic_gc_ms = 0;
    tctest::TestHeap h(c);
    for (int i = 0; i < 10; ++i) make<AllocatesInDestructor>();  // unreachable at once
    internal::cycle_without_sweeping_for_testing(h.heap);
    // Node's window is parked while the destructors run, so even its fast path is refused.
    Root<Node> warm(make<Node>(1));
    make<AllocatesInDestructor>();  // refills its class: sweeps the span with the dead ones, here
  });
}

TEST_CASE("Heap::collect() inside trace() names the fix in both modes", "[misuse][reentrancy]") {
  for (const bool concurrent : {true, false}) {
    INFO("concurrent " << concurrent);
    REQUIRE_DEATH("Heap::collect() called from a trace() function, which the collector runs in the middle of a "
                  "collection: it would wait for the collector's own work and never return. trace() must only visit",
                  {
      Config c = tctest::test_config();
      c.concurrent = concurrent;
      tctest::TestHeap h(c);
      CollectsInTrace::heap = &h.heap;
      Root<CollectsInTrace> r(make<CollectsInTrace>());
      h.collect_now();
    });
  }
}

TEST_CASE("Heap::collect() inside a root callback names the fix", "[misuse][reentrancy]") {
  REQUIRE_DEATH("Heap::collect() called from a root callback, which the collector runs in the middle of a "
                "collection: it would wait for the collector's own work and never return. a root callback must only",
                {
    tctest::TestHeap h;
    h.heap.add_roots([](Tracer&, void* heap) { static_cast<Heap*>(heap)->collect(); }, &h.heap, "collects");
    h.collect_now();
  });
  REQUIRE_DEATH("an allocation (make<>, make_buffer, tc_alloc) called from a root callback", {
    tctest::TestHeap h;
    h.mutator.add_roots([](Tracer&, void*) { make<Node>(1); }, nullptr, "allocates");
    h.collect_now();
  });
}

// ---- Pointers that are not objects of the heap, given to Root, Global and Weak: checked in every
// build (they used to crash the next collection in a release build).

namespace {
struct Named {
  virtual ~Named() = default;
  virtual const char* name() const = 0;
};
struct Iface {
  virtual ~Iface() = default;
  virtual int f() const = 0;
};
// cppgc's mixin: Iface is not the first dynamic base (Named is, at offset 0), so an Iface* points
// into the middle of the object.
struct Impl : Object<Impl>, Named, Iface {
  const char* name() const override { return "impl"; }
  int f() const override { return 3; }
  void trace(Tracer&) const {}
};
std::ptrdiff_t iface_offset() {
  alignas(Impl) static unsigned char storage[sizeof(Impl)];
  auto* impl = reinterpret_cast<Impl*>(storage);  // only converted, never used as an object
  return reinterpret_cast<unsigned char*>(static_cast<Iface*>(impl)) - storage;
}
struct WeakHolder : Object<WeakHolder> {
  Weak<Node> w;
  void trace(Tracer& t) const { t.trace(w, "w"); }
};
}  // namespace

// Root checks an interior pointer at once in debug-check builds; in others (its check is the inline
// reservation range, roots.hpp) the marker stops at the next collection, naming the same fix.
#if defined(TRICOLOR_DEBUG_CHECKS) && TRICOLOR_DEBUG_CHECKS
constexpr const char* kRootInteriorMessage = "tricolor::Root given";
#else
constexpr const char* kRootInteriorMessage = "a pointer into an object";
#endif

TEST_CASE("a Root given an interior pointer or a foreign pointer names the fix", "[misuse][pointers]") {
  REQUIRE_DEATH(kRootInteriorMessage, {
    tctest::TestHeap h;
    Node* n = make<Node>(1);
    Root<std::uint64_t> r(&n->value);
    h.heap.collect();
  });
  REQUIRE(iface_offset() != 0);
  REQUIRE_DEATH(kRootInteriorMessage, {
    tctest::TestHeap h;
    Iface* iface = make<Impl>();
    Root<Iface> r(iface);
    h.heap.collect();
  });
  REQUIRE_DEATH("is not an object of this tricolor heap", {
    tctest::TestHeap h;
    Root<Node> r(make<Node>(1));
    static Node not_in_heap;
    r = &not_in_heap;
  });
  REQUIRE_DEATH("tricolor::Root given", {
    tctest::TestHeap h;
    Heap second(tctest::test_config());
    Global<Node> keep(second, nullptr, "keep");
    std::thread([&] {
      Mutator m(second);
      keep = make<Node>(1);
    }).join();
    Root<Node> r(keep.get());  // an object of another heap
  });
}

TEST_CASE("a Global or a Weak given a pointer that is not an object names the fix", "[misuse][pointers]") {
  REQUIRE_DEATH("tricolor::Global given", {
    tctest::TestHeap h;
    Global<std::uint64_t> g(h.heap, nullptr, "g");
    g = &make<Node>(1)->value;
  });
  REQUIRE_DEATH("tricolor::Weak given", {
    tctest::TestHeap h;
    Root<WeakHolder> holder(make<WeakHolder>());
    holder->w = reinterpret_cast<Node*>(reinterpret_cast<char*>(make<Node>(1)) + 8);
  });
  REQUIRE_DEATH("tricolor::Weak given", {
    tctest::TestHeap h;
    static Node not_in_heap;
    Weak<Node> w(&not_in_heap);
  });
}

TEST_CASE("run-time knobs out of range name the function and the range", "[misuse][knobs]") {
  tctest::TestHeap h;
  REQUIRE_DEATH("Heap::set_gc_percent(-2): expected -1 (no paced cycles) to 1000000", { h.heap.set_gc_percent(-2); });
  REQUIRE_DEATH("Heap::set_soft_limit(17592186044417): expected 0 (none) to 17592186044416 bytes",
                { h.heap.set_soft_limit((std::size_t{1} << 44) + 1); });
}

TEST_CASE("allocation counters read inside a BlockingScope or unattached name the fix", "[misuse][alloc_counters]") {
  tctest::TestHeap h;
  REQUIRE_DEATH("tricolor::allocated_objects() inside a tricolor::BlockingScope", {
    BlockingScope b;
    (void)allocated_objects();
  });
  REQUIRE_DEATH("tricolor::allocated_bytes() from a thread that is not attached", {
    std::thread([] { (void)allocated_bytes(); }).join();
  });
}
