// The mark loop (gc/marker.*): every reachable object is scanned exactly once per cycle and counted
// once in the live bytes, whatever the shape -- a 10^6-node quad tree (siblings share mark-bit words:
// the batched atomic), a 10^6-long list (deep), one object with 10^5 fields (wide: more fields than the
// tracer's buffer, duplicates side by side), a random graph with sharing and cycles -- with 1, 2 and 4
// markers, and in stop-the-world mode; and with the markers capped to a CPU share (MarkDuty), resting
// part of the time. Each node counts its own trace() calls; with the verifier off and
// no automatic cycles, only the markers call it.
#include "gc/marker.hpp"

#include "gc/heap_impl.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "tricolor/tricolor.hpp"

using namespace tricolor;

namespace {

struct TNode : Object<TNode> {
  Member<TNode> kid[4];
  mutable std::atomic<std::uint32_t> traced{0};
  void trace(Tracer& t) const {
    traced.fetch_add(1, std::memory_order_relaxed);
    t.trace_array(kid, 4, "kid");
  }
};

struct Wide : Object<Wide> {
  explicit Wide(std::size_t count) : n(count) {}
  std::size_t n;
  mutable std::atomic<std::uint32_t> traced{0};
  Member<TNode> items[1];
  void trace(Tracer& t) const {
    traced.fetch_add(1, std::memory_order_relaxed);
    t.trace_array(items, n, "items");
  }
};

constexpr std::size_t kNodeBytes = internal::class_size(internal::size_to_class(sizeof(TNode) + internal::kHeaderSize));

Config marking_config(unsigned markers, bool concurrent = true) {
  Config c;
  c.gc_percent = -1;      // only explicit collections: trace() counts are per collect()
  c.periodic_gc_ms = 0;
  c.verify = false;       // the verifier traces too
  c.marker_threads = markers;
  c.concurrent = concurrent;
  c.reserve = std::size_t{4} << 30;
  return c;
}

struct Fixture {
  explicit Fixture(Config c) : heap(c), mutator(heap, "marker-test") {}
  Heap heap;
  Mutator mutator;
  std::vector<TNode*> nodes;  // every node built; all reachable from the test's root

  // Nothing collects while a structure is built (gc_percent -1), so raw pointers are safe until the
  // test roots the top.
  TNode* node() {
    TNode* n = make<TNode>();
    nodes.push_back(n);
    return n;
  }
  // A quad tree of exactly n nodes, children allocated before their parent (as bench/ builds it), so
  // the four children of a node above leaves sit side by side.
  TNode* quad(std::size_t n) {
    if (n == 0) return nullptr;
    const std::size_t rest = n - 1;
    TNode* k[4];
    for (std::size_t i = 0; i < 4; ++i) k[i] = quad(rest / 4 + (i < rest % 4 ? 1 : 0));
    TNode* p = node();
    for (std::size_t i = 0; i < 4; ++i) p->kid[i] = k[i];
    return p;
  }
  // Every node traced exactly `times` times.
  bool all_traced(std::uint32_t times) const {
    for (const TNode* n : nodes)
      if (n->traced.load(std::memory_order_relaxed) != times) return false;
    return true;
  }
};

}  // namespace

TEST_CASE("a 10^6-node quad tree: every node scanned once, live bytes exact", "[marker]") {
  for (unsigned markers : {1u, 4u}) {
    CAPTURE(markers);
    Fixture f(marking_config(markers));
    Root<TNode> root(f.quad(1'000'000));
    // Garbage beside it must not be counted.
    for (int i = 0; i < 10'000; ++i) make<TNode>();
    f.heap.collect();
    REQUIRE(f.all_traced(1));
    REQUIRE(f.heap.stats().live_bytes == f.nodes.size() * kNodeBytes);
    f.heap.collect();
    REQUIRE(f.all_traced(2));
    REQUIRE(f.heap.stats().live_bytes == f.nodes.size() * kNodeBytes);
  }
}

TEST_CASE("a 10^6-long list (deep) is scanned once per node", "[marker]") {
  for (unsigned markers : {1u, 2u}) {
    CAPTURE(markers);
    Fixture f(marking_config(markers));
    TNode* head = nullptr;
    for (int i = 0; i < 1'000'000; ++i) {
      TNode* n = f.node();
      n->kid[i % 4] = head;  // the link moves between fields
      head = n;
    }
    Root<TNode> root(head);
    f.heap.collect();
    REQUIRE(f.all_traced(1));
    REQUIRE(f.heap.stats().live_bytes == f.nodes.size() * kNodeBytes);
  }
}

TEST_CASE("a wide object (10^5 fields, duplicates side by side) marks each target once", "[marker]") {
  for (unsigned markers : {1u, 2u, 4u}) {
    CAPTURE(markers);
    Fixture f(marking_config(markers));
    constexpr std::size_t kFields = 100'000;
    Wide* w = make_with_trailing<Wide>(kFields * sizeof(Member<TNode>), kFields);
    Root<Wide> root(w);
    // Fields 2i and 2i+1 name the same node (one batch holds both: pushed once); every node's four
    // kids name one shared node.
    TNode* shared = f.node();
    for (std::size_t i = 0; i < kFields / 2; ++i) {
      TNode* n = f.node();
      for (auto& k : n->kid) k = shared;
      w->items[2 * i] = n;
      w->items[2 * i + 1] = n;
    }
    f.heap.collect();
    REQUIRE(w->traced.load() == 1);
    REQUIRE(f.all_traced(1));
    const std::size_t live = f.heap.stats().live_bytes;
    REQUIRE(live >= f.nodes.size() * kNodeBytes + kFields * sizeof(Member<TNode>));
    f.heap.collect();
    REQUIRE(w->traced.load() == 2);
    REQUIRE(f.all_traced(2));
    REQUIRE(f.heap.stats().live_bytes == live);  // the same objects, each counted once again
  }
}

// shade_batch keeps the span of the previous pointer and skips the page-table lookup while the next
// one falls in its address range. Fields in address order cross every span boundary (the last slot
// of one span, then the first of the next, often adjacent in memory); in alternating order every
// field leaves the cached span; a large object sits between them, listed twice. Each target must be
// marked once and counted in its own span.
TEST_CASE("a batch crossing span boundaries marks each target once, in its own span", "[marker]") {
  struct Big : Object<Big> {
    mutable std::atomic<std::uint32_t> traced{0};
    char pad[40000];  // over the largest size class (32 KiB): a span of its own, one slot
    void trace(Tracer&) const { traced.fetch_add(1, std::memory_order_relaxed); }
  };
  struct Mixed : Object<Mixed> {
    explicit Mixed(std::size_t count) : n(count) {}
    std::size_t n;
    Member<Big> big;
    Member<TNode> items[1];
    void trace(Tracer& t) const {
      t.trace_array(items, n / 2, "first half");
      // Between two runs of small objects: leaves their span and comes back. Twice in a row: the
      // second visit takes the cached path through a large span (one slot).
      t.trace(big, "big");
      t.trace(big, "big again");
      t.trace_array(items + n / 2, n - n / 2, "second half");
    }
  };
  for (unsigned markers : {1u, 2u}) {
    CAPTURE(markers);
    Fixture f(marking_config(markers));
    constexpr std::size_t kNodes = 4096;  // several spans of TNode's class
    for (std::size_t i = 0; i < kNodes; ++i) f.node();
    std::vector<TNode*> by_address = f.nodes;
    std::sort(by_address.begin(), by_address.end());
    constexpr std::size_t kFields = 3 * kNodes;
    Mixed* m = make_with_trailing<Mixed>(kFields * sizeof(Member<TNode>), kFields);
    Root<Mixed> root(m);
    m->big = make<Big>();
    for (std::size_t i = 0; i < kNodes; ++i) {
      m->items[i] = by_address[i];                                  // ascending: every boundary
      m->items[kNodes + i] = by_address[kNodes - 1 - i];            // descending
      m->items[2 * kNodes + i] = by_address[(i % 2 == 0 ? i / 2 : kNodes - 1 - i / 2)];  // alternating ends
    }
    std::size_t live = 0;
    for (std::uint32_t round = 1; round <= 2; ++round) {
      f.heap.collect();
      REQUIRE(f.all_traced(round));
      REQUIRE(m->big->traced.load() == round);
      // Each counted once: the nodes, the big object and the holder, and nothing more.
      const std::size_t now = f.heap.stats().live_bytes;
      REQUIRE(now >= kNodes * kNodeBytes + sizeof(Big) + kFields * sizeof(Member<TNode>));
      REQUIRE(now < kNodes * kNodeBytes + 2 * (sizeof(Big) + kFields * sizeof(Member<TNode>)));
      if (round > 1) REQUIRE(now == live);
      live = now;
    }
  }
}

TEST_CASE("a random graph with sharing and cycles is scanned once per node", "[marker]") {
  for (bool concurrent : {true, false}) {
    CAPTURE(concurrent);
    Fixture f(marking_config(2, concurrent));
    constexpr std::size_t kNodes = 200'000;
    for (std::size_t i = 0; i < kNodes; ++i) f.node();
    std::mt19937_64 rng(12345);
    for (std::size_t i = 0; i < kNodes; ++i) {
      TNode* n = f.nodes[i];
      n->kid[0] = f.nodes[(i + 1) % kNodes];  // a ring: everything reachable, one big cycle
      for (int k = 1; k < 4; ++k) n->kid[k] = f.nodes[rng() % kNodes];
    }
    Root<TNode> root(f.nodes[kNodes / 2]);
    for (int i = 0; i < 1000; ++i) make<TNode>();  // garbage
    for (std::uint32_t round = 1; round <= 3; ++round) {
      f.heap.collect();
      REQUIRE(f.all_traced(round));
      REQUIRE(f.heap.stats().live_bytes == kNodes * kNodeBytes);
    }
  }
}

TEST_CASE("unreachable parts of a structure are collected, reachable ones kept", "[marker]") {
  Fixture f(marking_config(2));
  Root<TNode> root(f.quad(100'000));
  // Cut one subtree off: its nodes are garbage from now on.
  TNode* cut = root->kid[3];
  std::size_t cut_nodes = 0;
  {
    std::vector<const TNode*> stack{cut};
    while (!stack.empty()) {
      const TNode* n = stack.back();
      stack.pop_back();
      ++cut_nodes;
      for (const auto& k : n->kid)
        if (k) stack.push_back(k);
    }
  }
  root->kid[3] = nullptr;
  f.heap.collect();
  REQUIRE(f.heap.stats().live_bytes == (f.nodes.size() - cut_nodes) * kNodeBytes);
  REQUIRE(root->kid[0]->traced.load() == 1);
}

namespace {
// Logs the order in which the (single) marker scans nodes.
struct ONode : Object<ONode> {
  Member<ONode> kid[4];  // a binary tree leaves the last two null
  std::uint32_t id = 0;
  static inline std::vector<std::uint32_t>* log = nullptr;
  void trace(Tracer& t) const {
    log->push_back(id);
    t.trace_array(kid, 4, "kid");
  }
};

struct OrderFixture {
  explicit OrderFixture(int arity)
      : arity(arity), heap(marking_config(1, /*concurrent=*/false)), mutator(heap, "order-test") {
    ONode::log = &order;
  }
  ~OrderFixture() { ONode::log = nullptr; }
  const int arity;
  Heap heap;
  Mutator mutator;
  std::vector<std::uint32_t> order;
  std::uint32_t next = 0;
  ONode* node() {
    ONode* n = make<ONode>();
    n->id = next++;
    return n;
  }
  // Parent first, then each subtree in field order (top-down construction).
  ONode* pre_order(int depth) {
    Root<ONode> p(node());
    if (depth > 0)
      for (int k = 0; k < arity; ++k) p->kid[k] = pre_order(depth - 1);
    return p.get();
  }
  // The subtrees in field order, then their parent (bottom-up construction).
  ONode* post_order(int depth) {
    if (depth == 0) return node();
    Root<ONode> kids[4];  // an array's elements die in reverse order: the Roots' stack discipline
    for (int k = 0; k < arity; ++k) kids[k] = post_order(depth - 1);
    ONode* p = node();
    for (int k = 0; k < arity; ++k) p->kid[k] = kids[k].get();
    return p;
  }
};
}  // namespace

// The marker goes depth-first into the first or the last child, whichever sits nearer its parent in
// memory, and then through the others in field order (gc/marker.cpp, shade_batch), so a structure is
// scanned in the order it was allocated whichever way it was built: a fixed field order would walk
// one of these trees backwards through memory, one cache miss per node. With one marker and the
// world stopped, the order is deterministic: the scan order is the allocation order (top-down) or its
// reverse (bottom-up), i.e. addresses visited monotonically. The 4-ary top-down tree fails under a
// rule that only puts the nearest child first (its walk went f0, f3, f2, f1).
TEST_CASE("the marker scans a tree in allocation order, whichever way it was built", "[marker]") {
  for (int arity : {2, 4}) {
    for (bool top_down : {true, false}) {
      CAPTURE(arity, top_down);
      OrderFixture f(arity);
      const int depth = arity == 2 ? 9 : 5;  // 1023 or 1365 nodes
      Root<ONode> root(top_down ? f.pre_order(depth) : f.post_order(depth));
      f.heap.collect();
      const std::uint32_t n = f.next;
      REQUIRE(n == (arity == 2 ? 1023u : 1365u));
      REQUIRE(f.order.size() == n);
      for (std::uint32_t i = 0; i < n; ++i) {
        CAPTURE(i);
        REQUIRE(f.order[i] == (top_down ? i : n - 1 - i));
      }
    }
  }
}

TEST_CASE("the marker team for a CPU share: threads and duty", "[marker]") {
  using internal::mark_team;
  // No cap: half the cores (at least one) or marker_threads, each at full speed.
  CHECK(mark_team(0, 0, 2).threads == 1);
  CHECK(mark_team(0, 0, 16).threads == 8);
  CHECK(mark_team(0, 0, 1).threads == 1);
  CHECK(mark_team(3, 0, 2).threads == 3);
  CHECK_FALSE(mark_team(0, 0, 2).duty.capped());
  // Go's 25% of 2 cores is half a CPU: one marker, running half the time.
  CHECK(mark_team(0, 25, 2).threads == 1);
  CHECK(mark_team(0, 25, 2).duty.duty == Approx(0.5));
  // 25% of 16 cores: four markers at full speed; of 10 cores: three at 2.5/3 each.
  CHECK(mark_team(0, 25, 16).threads == 4);
  CHECK_FALSE(mark_team(0, 25, 16).duty.capped());
  CHECK(mark_team(0, 25, 10).threads == 3);
  CHECK(mark_team(0, 25, 10).duty.duty == Approx(2.5 / 3));
  // Both given: the threads share the budget; never more than full speed.
  CHECK(mark_team(4, 25, 2).duty.duty == Approx(0.125));
  CHECK_FALSE(mark_team(1, 100, 2).duty.capped());
  // An unknown core count (hardware_concurrency() == 0) counts as one core.
  CHECK(mark_team(0, 50, 0).threads == 1);
  CHECK(mark_team(0, 50, 0).duty.duty == Approx(0.5));
}

TEST_CASE("a capped marker rests only past its share and its burst, back to exactly the share", "[marker]") {
  internal::MarkDuty d;
  d.duty = 0.25;
  d.burst_ns = 1'000'000;
  CHECK(d.rest_ns(0, 0) == 0);
  CHECK(d.rest_ns(1'000'000, 0) == 0);          // the burst: a short cycle runs uncapped
  CHECK(d.rest_ns(3'500'000, 10'000'000) == 0);  // 2.5 ms share + 1 ms burst
  // 4 ms of CPU over 10 ms: rest until 16 ms, where 4 ms is 25% again.
  CHECK(d.rest_ns(4'000'000, 10'000'000) == 6'000'000);
  internal::MarkDuty full;
  CHECK(full.rest_ns(100'000'000, 1) == 0);  // uncapped never rests
}

TEST_CASE("markers capped to a small CPU share rest, and still scan every node exactly once", "[marker]") {
  for (unsigned markers : {1u, 2u}) {
    CAPTURE(markers);
    Config c = marking_config(markers);
    // A tenth of a core per marker (at least 1% of the cores): capped on any machine under 100 cores.
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    c.mark_cpu_percent = std::max(1u, 10 * markers / cores);
    Fixture f(c);
    Root<TNode> root(f.quad(500'000));
    f.heap.collect();  // this thread waits: the markers alone scan, resting when over their share
    REQUIRE(f.all_traced(1));
    REQUIRE(f.heap.stats().live_bytes == f.nodes.size() * kNodeBytes);
    // Scanning 500,000 nodes takes more than the 1 ms burst on any machine, so they rested.
    REQUIRE(f.heap.impl().marker.duty().capped());
    REQUIRE(f.heap.impl().marker.rests() > 0);
  }
}
