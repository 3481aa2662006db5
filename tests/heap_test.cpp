// API-level tests of the heap: survival through Roots, reclamation, size classes, globals, callbacks.
#include "gc/testing.hpp"
#include "test_heap.hpp"

#include <thread>
#include <vector>

using namespace tricolor;
using tctest::Counted;
using tctest::Node;
using tctest::TestHeap;

static Node* build_tree(int depth, std::uint64_t& next) {
  if (depth == 0) return make<Node>(next++);
  Root<Node> l(build_tree(depth - 1, next));
  Root<Node> r(build_tree(depth - 1, next));
  Node* n = make<Node>(next++);
  n->left = l;
  n->right = r;
  return n;
}

static std::size_t check_tree(const Node* n) {
  if (n == nullptr) return 0;
  REQUIRE(n->intact());
  return 1 + check_tree(n->left) + check_tree(n->right);
}

TEST_CASE("objects reachable from a Root survive many collections intact", "[heap]") {
  TestHeap h;
  std::uint64_t next = 1;
  Root<Node> tree(build_tree(10, next));
  for (int i = 0; i < 5; ++i) {
    // Garbage in between, so spans get reused.
    for (int j = 0; j < 10000; ++j) make<Node>(99);
    h.collect_now();
    REQUIRE(check_tree(tree) == (1u << 11) - 1);
  }
  REQUIRE(h.stats().cycles >= 5);
}

TEST_CASE("unreachable objects and cycles are reclaimed and their destructors run", "[heap]") {
  TestHeap h;
  const long before = Counted::live.load();
  {
    Root<Counted> keep(make<Counted>());
    for (int i = 0; i < 1000; ++i) {
      Root<Counted> a(make<Counted>());
      Counted* b = make<Counted>();
      a->next = b;
      b->next = a;  // a cycle
    }
    h.collect_now();
    REQUIRE(Counted::live.load() - before == 1);
  }
  h.collect_now();
  REQUIRE(Counted::live.load() == before);
}

struct Blob : Object<Blob> {
  std::size_t n;
  unsigned char bytes[1];
  explicit Blob(std::size_t len) : n(len) {
    for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<unsigned char>(i * 7 + n);
  }
  bool intact() const {
    for (std::size_t i = 0; i < n; ++i)
      if (bytes[i] != static_cast<unsigned char>(i * 7 + n)) return false;
    return true;
  }
  void trace(Tracer&) const {}
};

struct Holder : Object<Holder> {
  std::size_t n;
  Member<Blob> items[1];
  explicit Holder(std::size_t count) : n(count) {}
  void trace(Tracer& t) const { t.trace_array(items, n, "items"); }
};

TEST_CASE("every size class and large objects round-trip", "[heap]") {
  TestHeap h;
  std::vector<std::size_t> sizes;
  for (std::size_t c = 0; c < internal::kNumClasses; ++c) {
    const std::size_t s = internal::class_size(c);
    if (s > sizeof(Blob) + internal::kHeaderSize) sizes.push_back(s - internal::kHeaderSize - sizeof(Blob));
  }
  sizes.push_back(40000);
  sizes.push_back(1u << 20);
  Root<Holder> holder(make_with_trailing<Holder>(sizes.size() * sizeof(Member<Blob>), sizes.size()));
  for (std::size_t i = 0; i < sizes.size(); ++i) holder->items[i] = make_with_trailing<Blob>(sizes[i], sizes[i]);
  for (int round = 0; round < 3; ++round) {
    h.collect_now();
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      REQUIRE(holder->items[i]->n == sizes[i]);
      REQUIRE(holder->items[i]->intact());
    }
  }
}

TEST_CASE("a 10^7-long linked list is marked without recursion and collected", "[heap]") {
  tricolor::Config c = tctest::test_config();
  c.verify = false;  // the verifier's own walk is fine too, but slow on 10^7 objects in debug builds
  TestHeap h(c);
  constexpr long kLength = 10'000'000;
  const long before = Counted::live.load();
  {
    Root<Counted> head(make<Counted>());
    for (long i = 1; i < kLength; ++i) {
      Counted* n = make<Counted>();
      n->next = head.get();
      head = n;
    }
    h.collect_now();
    REQUIRE(Counted::live.load() - before == kLength);
  }
  h.collect_now();
  REQUIRE(Counted::live.load() == before);
}

TEST_CASE("globals and root callbacks keep objects alive", "[heap][roots]") {
  TestHeap h;
  const long before = Counted::live.load();
  Global<Counted> g(h.heap, make<Counted>(), "the-global");
  static Counted* from_callback = nullptr;
  from_callback = make<Counted>();
  const auto id = h.heap.add_roots([](Tracer& t, void*) { t.trace(from_callback); }, nullptr, "test-callback");
  static Counted* from_thread_callback = nullptr;
  from_thread_callback = make<Counted>();
  const auto tid = h.mutator.add_roots([](Tracer& t, void*) { t.trace(from_thread_callback); }, nullptr, "thread-cb");
  for (int i = 0; i < 3; ++i) h.collect_now();
  REQUIRE(Counted::live.load() - before == 3);
  g = nullptr;
  h.heap.remove_roots(id);
  h.mutator.remove_roots(tid);
  h.collect_now();
  REQUIRE(Counted::live.load() == before);
}

TEST_CASE("pointer-free buffers are allocated and kept by references", "[heap]") {
  TestHeap h;
  Root<double> small(make_buffer_of<double>(100));
  Root<double> big(make_buffer_of<double>(500000));
  for (int i = 0; i < 100; ++i) small.get()[i] = i;
  for (int i = 0; i < 500000; ++i) big.get()[i] = i * 0.5;
  h.collect_now();
  h.collect_now();
  REQUIRE(small.get()[99] == 99);
  REQUIRE(big.get()[499999] == 499999 * 0.5);
}

TEST_CASE("stats report cycles, live bytes and pauses", "[heap][stats]") {
  TestHeap h;
  std::uint64_t next = 0;
  Root<Node> tree(build_tree(12, next));
  h.collect_now();
  const Stats s = h.stats();
  REQUIRE(s.cycles >= 1);
  // 8191 nodes of 48-byte slots are live.
  REQUIRE(s.live_bytes >= 8191 * 48);
  REQUIRE(s.global_pauses.count >= 1);  // the termination stop (mark start is a ragged handshake)
  REQUIRE(!s.pauses.empty());
  REQUIRE(s.heap_bytes > 0);
}

TEST_CASE("collections start by themselves when the heap grows", "[heap][pacer]") {
  TestHeap h;
  for (int i = 0; i < 200000; ++i) make<Node>(1);  // ~10 MB of garbage, initial heap 1 MB
  // The controller runs asynchronously; a collect() call waits for any cycle under way, after which
  // the automatic ones have been counted.
  const auto cycles_before = h.stats().cycles;
  REQUIRE(cycles_before >= 1);
}

// At the hard limit with a cycle already in flight, the allocation waits for that cycle's end (and its
// lazy sweep), which frees the garbage; it does not also wait for a new full collection
// (Heap::collect() would: it waits for a cycle that starts after the call). gc/collector_pacing.cpp,
// relieve_heap_limit_may_reach_safepoint. The next cycle (the pacer asks for one: the heap is past its
// trigger) is held at its start until the allocation has returned, so an allocation that waited for
// it would never return.
TEST_CASE("at the hard limit an allocation waits for the cycle in flight, not for another", "[heap][limit]") {
  tctest::PhaseGate gate(Phase::kMark);  // the first cycle's marking
  std::atomic<int> mark_starts{0};
  tctest::Gate second_cycle;               // holds the second cycle at its start
  Config c = tctest::test_config();
  c.concurrent = true;
  c.gc_percent = -1;
  c.max_heap = std::size_t{8} << 20;
  c.initial_heap = c.max_heap;  // no cycle before the test starts one
  c.on_event = [&](const Event& e) {
    if (e.phase == Phase::kMarkStart && mark_starts.fetch_add(1) == 1) second_cycle.wait();
    gate.on_event(e);
  };
  Heap heap(c);
  Mutator mutator(heap, "limit-test");
  // Garbage from before the cycle, which the cycle frees (what is allocated during it is black).
  std::size_t allocated = 0;
  for (; allocated < c.max_heap / 2; allocated += sizeof(Node)) make<Node>(allocated);
  // A cycle in flight that cannot finish until the test lets it: markers held.
  internal::hold_markers_for_testing(heap, true);
  std::thread collector([&] { heap.collect(); });
  gate.wait_reached();
  gate.release();
  std::thread releaser([&] {
    internal::wait_for_heap_limit_waiter_for_testing(heap);
    internal::hold_markers_for_testing(heap, false);
  });
  // Garbage only, more than the limit holds: some allocation must find the heap full.
  while (internal::heap_limit_waits_for_testing(heap) + internal::heap_limit_collections_for_testing(heap) == 0) {
    REQUIRE(allocated < 4 * c.max_heap);
    make<Node>(allocated);
    allocated += sizeof(Node);
  }
  REQUIRE(internal::heap_limit_waits_for_testing(heap) == 1);
  REQUIRE(internal::heap_limit_collections_for_testing(heap) == 0);
  REQUIRE(heap.stats().cycles == 1);  // the held cycle only
  bool waited = false;
  for (const Pause& p : heap.stats().pauses) waited |= p.kind == PauseKind::kHeapLimitWait;
  REQUIRE(waited);
  second_cycle.open();
  {
    BlockingScope blocked;
    releaser.join();
    collector.join();
  }
}

// At the hard limit with no cycle in flight but the last cycle's garbage still unswept, an allocation
// too large for the lazy sweep of its slow path (a few spans) finishes the sweep, and that is enough:
// no full collection (gc/collector_pacing.cpp, stage 2). Without the stage it would collect.
TEST_CASE("at the hard limit an allocation finishes the sweep before it collects", "[heap][limit]") {
  Config c = tctest::test_config();
  c.gc_percent = -1;                 // no paced cycle below the soft limit (95% of max_heap)
  c.periodic_gc_ms = 0;              // and no periodic one: the test runs the one cycle
  c.background_sweeper = false;      // the garbage stays unswept until someone allocates
  c.max_heap = std::size_t{8} << 20;
  c.initial_heap = c.max_heap;
  Heap heap(c);
  Mutator mutator(heap, "sweep-test");
  // Small garbage filling most of the limit, then one cycle that finds it all dead and sweeps none.
  for (std::uint64_t i = 0; i % 1024 != 0 || heap.stats().heap_bytes < (std::size_t{6} << 20); ++i) make<Node>(i);
  REQUIRE(internal::heap_limit_collections_for_testing(heap) == 0);
  internal::cycle_without_sweeping_for_testing(heap);
  const auto cycles = heap.stats().cycles;
  // Half the limit in one large object: it does not fit beside the unswept spans.
  Root<char> big(static_cast<char*>(make_buffer(std::size_t{4} << 20)));
  REQUIRE(big.get() != nullptr);
  REQUIRE(internal::heap_limit_sweeps_for_testing(heap) == 1);
  REQUIRE(internal::heap_limit_collections_for_testing(heap) == 0);
  REQUIRE(internal::heap_limit_waits_for_testing(heap) == 0);
  REQUIRE(heap.stats().cycles == cycles);
}

namespace {
struct KiloGarbage : Object<KiloGarbage> {
  unsigned char bytes[1000];
  void trace(Tracer&) const {}
};
}  // namespace

// At the hard limit, when the cycle in flight cannot free enough (what the allocation needs was still
// reachable when that cycle marked) and the next cycle is already in flight, the allocation waits for
// that one too (gc/collector_pacing.cpp, stage 1's second wait). Without it the allocation would
// collect, which waits for the next cycle and then a whole new one.
TEST_CASE("at the hard limit an allocation waits for the next cycle in flight before it collects", "[heap][limit]") {
  tctest::PhaseGate first_marked(Phase::kMarkTermination);  // cycle 1, its marking done
  tctest::PhaseGate second_start(Phase::kMarkStart);         // cycle 2, at its start
  Config c = tctest::test_config();
  c.concurrent = true;
  c.gc_percent = -1;             // no paced cycle below the soft limit (95% of max_heap)
  c.periodic_gc_ms = 0;          // no periodic one
  c.background_sweeper = false;  // what cycle 2 frees is swept by the allocation (stage 2), not raced
  c.max_heap = std::size_t{8} << 20;
  c.initial_heap = c.max_heap;
  c.on_event = [&](const Event& e) {
    if (e.cycle == 1) first_marked.on_event(e);
    if (e.cycle == 2) second_start.on_event(e);
  };
  Heap heap(c);
  Mutator mutator(heap, "next-cycle-test");
  std::thread collector;
  {
    // 5 MB reachable while cycle 1 marks, dropped before it ends: cycle 1 cannot free it.
    constexpr std::size_t kObjects = 5000;
    Root<tctest::Keep<KiloGarbage>> keep(tctest::make_keep<KiloGarbage>(kObjects));
    for (std::size_t i = 0; i < kObjects; ++i) keep->items[i] = make<KiloGarbage>();
    collector = std::thread([&] { heap.collect(); });
    first_marked.wait_reached();
  }
  heap.start_collection();  // cycle 2: the controller starts it as soon as cycle 1 ends
  // The allocation's first stage (cycle 1 in flight) lets cycle 1 end and waits until cycle 2 has
  // started, so that the second stage finds it in flight; the second stage lets it run.
  struct Hooks {
    tctest::PhaseGate* first_marked;
    tctest::PhaseGate* second_start;
    int calls = 0;
  } hooks{&first_marked, &second_start};
  internal::set_heap_limit_wait_hook_for_testing(
      heap,
      [](void* p) {
        auto* h = static_cast<Hooks*>(p);
        if (h->calls++ == 0) {
          h->first_marked->release();
          h->second_start->wait_reached();
        } else {
          h->second_start->release();
        }
      },
      &hooks);
  Root<char> big(static_cast<char*>(make_buffer(std::size_t{4} << 20)));
  // CHECK, not REQUIRE: on a failure the gates must still be released and the collector joined.
  CHECK(big.get() != nullptr);
  CHECK(internal::heap_limit_waits_for_testing(heap) == 2);
  CHECK(internal::heap_limit_collections_for_testing(heap) == 0);
  second_start.release();  // in case the stages went otherwise: let the join below end
  first_marked.release();
  BlockingScope blocked;
  collector.join();
}

// A cycle is held in its marking phase (the controller stopped at kMark) while this thread allocates
// garbage far past the cycle's goal. Under a hard limit it must never wait for the cycle below the
// limit (bounded assists, as Go's, are the only brake there); without a limit it waits once the heap
// reaches twice its goal, since nothing else would bound it. The hook runs as a wait begins and lets
// the cycle finish, so a wrong wait fails the test instead of hanging it.
TEST_CASE("a mutator waits for a held cycle only without a hard limit", "[heap][limit]") {
  for (bool limited : {true, false}) {
    CAPTURE(limited);
    tctest::PhaseGate gate(Phase::kMark);
    Config c = tctest::test_config();
    c.concurrent = true;
    c.gc_percent = 100;
    c.initial_heap = std::size_t{4} << 20;
    c.max_heap = limited ? std::size_t{512} << 20 : 0;
    c.on_event = [&](const Event& e) { gate.on_event(e); };
    Heap heap(c);
    Mutator mutator(heap, "wait-test");
    struct Waited {
      tctest::PhaseGate* gate;
      std::atomic<int> count{0};
    } waited{&gate};
    internal::set_heap_limit_wait_hook_for_testing(
        heap,
        [](void* p) {
          auto* w = static_cast<Waited*>(p);
          w->count.fetch_add(1);
          w->gate->release();
        },
        &waited);
    std::size_t allocated = 0;
    while (gate.state.load() == 0) {  // until a paced cycle is held at its marking phase
      REQUIRE(allocated < (std::size_t{64} << 20));
      make<KiloGarbage>();
      allocated += sizeof(KiloGarbage);
    }
    // 48 MB of garbage: more than twice any goal this heap can have (live is at most its 4 MB start).
    for (std::size_t more = 0; more < (std::size_t{48} << 20) && waited.count.load() == 0; more += sizeof(KiloGarbage))
      make<KiloGarbage>();
    gate.release();
    heap.collect();
    bool wait_pause = false;
    for (const Pause& p : heap.stats().pauses) wait_pause |= p.kind == PauseKind::kHeapLimitWait;
    if (limited) {
      REQUIRE(waited.count.load() == 0);
      REQUIRE_FALSE(wait_pause);
    } else {
      REQUIRE(waited.count.load() >= 1);
      REQUIRE(wait_pause);
    }
    internal::set_heap_limit_wait_hook_for_testing(heap, nullptr, nullptr);
  }
}
