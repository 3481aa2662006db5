// The reachability walk (gc/heap_walk.*) over a heap the test builds by hand, with no cycle running
// (paced cycles off): it reaches exactly what the roots reach, each object once, roots first and in
// root order (thread Roots, thread callbacks, Globals, heap callbacks, the finalizer queue), each
// object under the root and parent it was first reached from; an object on_object refuses is not
// passed through, a root skip_root refuses is not walked, on_edge sees every strong edge; ephemeron
// values follow marked keys (kMarkedKeys) or keys the walk reaches, at any depth (kReachableKeys);
// and path_to / retention_path describe the path from the root in the verifier's format.
#include "gc/heap_walk.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gc/heap_impl.hpp"
#include "gc/testing.hpp"
#include "test_heap.hpp"

using namespace tricolor;
using tricolor::internal::HeapWalk;
using tctest::Node;

namespace heap_walk_test {

// Four Node slots traced as an array.
struct Table : Object<Table> {
  Member<Node> slots[4];
  void trace(Tracer& t) const { t.trace_array(slots, 4, "slots"); }
};

// A field traced without a name.
struct Unnamed : Object<Unnamed> {
  Member<Node> a;
  void trace(Tracer& t) const { t.trace(a); }
};

// One ephemeron: value is kept only while key is alive by other paths.
struct Entry : Object<Entry> {
  Weak<Node> key;
  Member<Node> value;
  void trace(Tracer& t) const { t.trace_ephemeron(key, value, "entry"); }
};

Config quiet_config() {
  Config c = tctest::test_config();
  c.gc_percent = -1;  // no cycle but the ones a test asks for: the walks see a still heap
  return c;
}

HeapWalk::Options with_keys(HeapWalk::Ephemerons e) {
  HeapWalk::Options o;
  o.ephemerons = e;
  return o;
}

// Runs walk with the world stopped, following every object.
void walk_all(tctest::TestHeap& h, HeapWalk& walk, const HeapWalk::Options& options = {}) {
  h.heap.impl().with_world_stopped([&] { walk.run([](const void*) { return true; }, options); });
}

std::set<const void*> reached(const HeapWalk& walk) {
  std::set<const void*> s;
  for (const HeapWalk::Node& n : walk.nodes()) s.insert(n.obj);
  return s;
}

std::string at(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "@%p", p);
  return buf;
}

// The node of obj, which the walk must have reached.
const HeapWalk::Node& node_of(const HeapWalk& walk, const void* obj) {
  const std::size_t i = walk.find(obj);
  REQUIRE(i != HeapWalk::kRoot);
  return walk.nodes()[i];
}

std::string field_of(const HeapWalk::Node& n) { return n.field != nullptr ? n.field : "<null>"; }

}  // namespace heap_walk_test

using namespace heap_walk_test;

TEST_CASE("heap walk: exactly what the roots reach, each object once, under the root it was first reached from",
          "[heap_walk]") {
  tctest::TestHeap h(quiet_config());
  // The finalizer queue's root: an unreachable object with a finalizer, queued by a collection and not
  // yet run. Only this raw pointer knows it; the collection keeps it (and its child) for the finalizer.
  Node* queued = make<Node>(50);
  queued->left = make<Node>(51);
  h.heap.set_finalizer(queued, [](void*, void*) {}, nullptr);
  h.collect_now();
  REQUIRE(h.heap.pending_finalizers() == 1);

  Root<Node> none(nullptr, "none");  // null roots are no roots
  Root<Node> r(make<Node>(1), "r");
  Node* a = r.get();
  a->left = make<Node>(2);
  a->right = make<Node>(3);
  Node* b = a->left;
  Node* c = a->right;
  b->left = a;  // a cycle
  Global<Table> cache(h.heap, make<Table>(), "cache");
  Global<Node> unset(h.heap, nullptr, "unset");
  cache->slots[2] = c;  // c is reached from a first (thread roots come before Globals)
  struct Slots {
    Node* acc;
    Node* local;
  } slots{make<Node>(4), make<Node>(5)};
  const std::uint64_t heap_cb =
      h.heap.add_roots([](Tracer& t, void* s) { t.trace(static_cast<Slots*>(s)->acc, "acc"); }, &slots, "vm");
  const std::uint64_t thread_cb = h.mutator.add_roots(
      [](Tracer& t, void* s) { t.trace(static_cast<Slots*>(s)->local, "local"); }, &slots, "interp");
  Node* garbage = make<Node>(6);  // points into the live graph; nothing points at it
  garbage->left = a;

  HeapWalk walk(h.heap.impl());
  walk_all(h, walk);

  const std::set<const void*> expected = {a, b, c, cache.get(), slots.acc, slots.local, queued, queued->left.get()};
  CHECK(reached(walk) == expected);
  CHECK(walk.nodes().size() == expected.size());  // each once, the cycle and the shared c included
  CHECK(walk.find(garbage) == HeapWalk::kRoot);

  // The roots, in the walk's order, and the first level of the breadth-first walk in the same order.
  REQUIRE(walk.roots().size() == 5);
  const RootKind kinds[] = {RootKind::kThreadRoot, RootKind::kThreadCallback, RootKind::kGlobal,
                            RootKind::kHeapCallback, RootKind::kFinalizerQueue};
  const void* first_level[] = {a, slots.local, cache.get(), slots.acc, queued};
  const char* fields[] = {"<null>", "local", "<null>", "acc", "<null>"};
  for (std::uint32_t i = 0; i < 5; ++i) {
    INFO("root " << i << ": " << walk.roots()[i].description());
    CHECK(walk.roots()[i].kind == kinds[i]);
    const HeapWalk::Node& n = walk.nodes()[i];
    CHECK(n.obj == first_level[i]);
    CHECK(n.parent == HeapWalk::kRoot);
    CHECK(n.root == i);
    CHECK(field_of(n) == fields[i]);
    CHECK(n.index == Tracer::kNoIndex);
  }
  CHECK(walk.roots()[0].description() == "thread #1 \"test-main\" Root \"r\"");
  CHECK(walk.roots()[1].description() == "thread #1 \"test-main\" root callback \"interp\"");
  CHECK(walk.roots()[2].description() == "Global \"cache\"");
  CHECK(walk.roots()[3].description() == "heap root callback \"vm\"");
  CHECK(walk.roots()[4].description() == "finalizer queue");
  for (std::uint32_t i : {0u, 1u}) {
    CHECK(walk.roots()[i].thread != nullptr);
    CHECK(walk.roots()[i].thread_name() == "#1 \"test-main\"");
  }
  for (std::uint32_t i : {2u, 3u, 4u}) {
    CHECK(walk.roots()[i].thread == nullptr);
    CHECK(walk.roots()[i].thread_name().empty());
  }
  CHECK(walk.roots()[4].name == nullptr);

  // Deeper objects: their parent and field, and the root of their parent.
  const HeapWalk::Node& nb = node_of(walk, b);
  CHECK(nb.parent == walk.find(a));
  CHECK(field_of(nb) == "left");
  CHECK(nb.root == 0);
  const HeapWalk::Node& nc = node_of(walk, c);
  CHECK(nc.parent == walk.find(a));  // not the Global's table: a was scanned first
  CHECK(field_of(nc) == "right");
  CHECK(nc.root == 0);
  const HeapWalk::Node& nq = node_of(walk, queued->left.get());
  CHECK(nq.parent == walk.find(queued));
  CHECK(nq.root == 4);

  h.heap.remove_roots(heap_cb);
  h.mutator.remove_roots(thread_cb);
  CHECK(h.heap.run_finalizers() == 1);
}

TEST_CASE("heap walk: an object on_object refuses is not passed through; a root skip_root refuses is not walked",
          "[heap_walk]") {
  tctest::TestHeap h(quiet_config());
  Root<Node> r(make<Node>(1), "r");
  Node* a = r.get();
  a->left = make<Node>(2);
  a->right = make<Node>(3);
  Node* b = a->left;
  Node* c = a->right;
  b->left = make<Node>(4);
  Global<Table> cache(h.heap, make<Table>(), "cache");
  cache->slots[3] = c;
  HeapWalk walk(h.heap.impl());

  SECTION("on_object") {
    std::vector<const void*> called;
    h.heap.impl().with_world_stopped([&] {
      walk.run([&](const void* obj) {
        called.push_back(obj);
        return obj != a;
      });
    });
    // a is reached (it is a root's) but not entered: b and its child are not reached; c is, through
    // the Global's table, at the slot's index.
    CHECK(reached(walk) == std::set<const void*>{a, cache.get(), c});
    CHECK(called == std::vector<const void*>{a, cache.get(), c});  // once per reached object, in walk order
    const HeapWalk::Node& nc = node_of(walk, c);
    CHECK(nc.parent == walk.find(cache.get()));
    CHECK(field_of(nc) == "slots");
    CHECK(nc.index == 3);
    CHECK(walk.roots()[nc.root].kind == RootKind::kGlobal);
  }
  SECTION("skip_root") {
    HeapWalk::Options options;
    std::vector<RootKind> offered;
    options.skip_root = [&](const HeapWalk::RootInfo& root) {
      offered.push_back(root.kind);
      return root.kind == RootKind::kThreadRoot;
    };
    walk_all(h, walk, options);
    CHECK(offered == std::vector<RootKind>{RootKind::kThreadRoot, RootKind::kGlobal});
    CHECK(reached(walk) == std::set<const void*>{cache.get(), c});
    REQUIRE(walk.roots().size() == 1);  // a skipped root is not listed either
    CHECK(walk.roots()[0].kind == RootKind::kGlobal);
    CHECK(node_of(walk, c).root == 0);
  }
}

TEST_CASE("heap walk: on_edge sees every strong edge, to objects visited already too", "[heap_walk]") {
  tctest::TestHeap h(quiet_config());
  Root<Node> r(make<Node>(1), "r");
  Node* a = r.get();
  a->left = make<Node>(2);
  Node* b = a->left;
  b->left = a;
  b->right = a;
  Global<Table> cache(h.heap, make<Table>(), "cache");
  cache->slots[0] = b;

  struct Edge {
    std::size_t parent;
    std::uint32_t root;
    const void* child;
    std::string field;
    std::size_t index;
    bool operator==(const Edge&) const = default;
  };
  std::vector<Edge> edges;
  HeapWalk::Options options;
  options.on_edge = [&](std::size_t parent, std::uint32_t root, const void* child, const char* field,
                        std::size_t index) {
    edges.push_back({parent, root, child, field != nullptr ? field : "<null>", index});
  };
  HeapWalk walk(h.heap.impl());
  walk_all(h, walk, options);
  REQUIRE(walk.nodes().size() == 3);
  const std::size_t ia = walk.find(a), ib = walk.find(b), it = walk.find(cache.get());
  const std::vector<Edge> expected = {
      {HeapWalk::kRoot, 0, a, "<null>", Tracer::kNoIndex},            // Root "r"
      {HeapWalk::kRoot, 1, cache.get(), "<null>", Tracer::kNoIndex},  // Global "cache"
      {ia, 0, b, "left", Tracer::kNoIndex},
      {it, 1, b, "slots", 0},                                         // b is visited already
      {ib, 0, a, "left", Tracer::kNoIndex},
      {ib, 0, a, "right", Tracer::kNoIndex},
  };
  CHECK(edges == expected);
}

TEST_CASE("heap walk: an ephemeron's value follows a marked key, or a key the walk reaches at any depth",
          "[heap_walk]") {
  tctest::TestHeap h(quiet_config());
  // The entries are thread Roots, scanned before the walk reaches `key` two levels down from the
  // Global: the live entry's value waits for the fixpoint.
  Root<Entry> table(make<Entry>(), "table");
  Root<Entry> dead_entry(make<Entry>(), "dead-entry");
  Node* key = make<Node>(1);
  Global<Node> holder(h.heap, make<Node>(2), "holder");
  holder->left = key;
  table->key = key;
  table->value = make<Node>(3);
  Node* value = table->value;
  value->left = make<Node>(4);  // walked after the fixpoint too
  Node* unreachable_key = make<Node>(5);
  dead_entry->key = unreachable_key;
  dead_entry->value = make<Node>(6);
  Node* dead_value = dead_entry->value;
  HeapWalk walk(h.heap.impl());

  SECTION("kReachableKeys") {
    walk_all(h, walk, with_keys(HeapWalk::Ephemerons::kReachableKeys));
    CHECK(reached(walk) ==
          std::set<const void*>{table.get(), dead_entry.get(), holder.get(), key, value, value->left.get()});
    CHECK(walk.find(unreachable_key) == HeapWalk::kRoot);
    CHECK(walk.find(dead_value) == HeapWalk::kRoot);
    const HeapWalk::Node& nv = node_of(walk, value);
    CHECK(nv.parent == walk.find(table.get()));  // through the ephemeron, not through the key
    CHECK(field_of(nv) == "entry");
    CHECK(walk.roots()[nv.root].kind == RootKind::kThreadRoot);
    CHECK(std::string(walk.roots()[nv.root].name) == "table");
  }
  SECTION("kMarkedKeys") {
    // No cycle has run since the key was allocated: it is white, so the walk does not follow the
    // value even though it reaches the key (the verifier's rule: marking decided liveness).
    REQUIRE_FALSE(internal::is_marked_for_testing(h.heap, key));
    walk_all(h, walk, with_keys(HeapWalk::Ephemerons::kMarkedKeys));
    CHECK(reached(walk) == std::set<const void*>{table.get(), dead_entry.get(), holder.get(), key});
  }
}

TEST_CASE("heap walk: path_to and retention_path describe the path from the root", "[heap_walk]") {
  tctest::TestHeap h(quiet_config());
  Node* queued = make<Node>(40);
  h.heap.set_finalizer(queued, [](void*, void*) {}, nullptr);
  h.collect_now();
  REQUIRE(h.heap.pending_finalizers() == 1);

  Root<Node> r(make<Node>(1), "r");
  Root<Node> anonymous(make<Node>(2));
  Global<Table> cache(h.heap, make<Table>(), "cache");
  cache->slots[1] = make<Node>(10);
  Node* x = cache->slots[1];
  x->left = make<Node>(11);
  Node* y = x->left;
  struct Frame {
    Member<Node> stack[3];
    Unnamed* unnamed;
  } frame;
  frame.stack[2] = make<Node>(20);
  frame.unnamed = make<Unnamed>();
  frame.unnamed->a = make<Node>(21);
  const std::uint64_t heap_cb = h.heap.add_roots(
      [](Tracer& t, void* f) {
        auto* fr = static_cast<Frame*>(f);
        t.trace_array(fr->stack, 3, "stack");
        t.trace(fr->unnamed);  // a root edge without a name
      },
      &frame, "vm");

  // Another thread, attached without a name, holding a Root; blocked while the walk runs.
  tctest::Gate ready, done;
  Node* theirs = nullptr;
  std::thread other([&] {
    Mutator m(h.heap);
    Root<Node> held(make<Node>(30), "theirs");
    theirs = held.get();
    BlockingScope blocked;
    ready.open();
    done.wait();
  });
  struct JoinOnExit {  // also when a REQUIRE below fails: the thread must not outlive the test case
    tctest::Gate& done;
    std::thread& thread;
    ~JoinOnExit() {
      done.open();
      BlockingScope blocked;
      thread.join();
    }
  } join_other{done, other};
  {
    BlockingScope blocked;
    ready.wait();
  }

  HeapWalk walk(h.heap.impl());
  walk_all(h, walk);
  auto path = [&](const void* obj) {
    const std::size_t n = walk.find(obj);
    REQUIRE(n != HeapWalk::kRoot);
    return walk.path_to(n);
  };
  const std::string table = "heap_walk_test::Table ", node = "tctest::Node ";
  CHECK(path(r.get()) == "thread #1 \"test-main\" Root \"r\" -> " + node + at(r.get()));
  CHECK(path(anonymous.get()) == "thread #1 \"test-main\" Root -> " + node + at(anonymous.get()));
  CHECK(path(theirs) == "thread #2 Root \"theirs\" -> " + node + at(theirs));
  CHECK(path(y) == "Global \"cache\" -> " + table + at(cache.get()) + ".slots[1] -> " + node + at(x) + ".left -> " +
                       node + at(y));
  CHECK(path(frame.stack[2].get()) == "heap root callback \"vm\" .stack[2] -> " + node + at(frame.stack[2].get()));
  CHECK(path(frame.unnamed->a.get()) == "heap root callback \"vm\" -> heap_walk_test::Unnamed " + at(frame.unnamed) +
                                            ".? -> " + node + at(frame.unnamed->a.get()));
  CHECK(path(queued) == "finalizer queue -> " + node + at(queued));

  // The same paths as structured steps.
  const RetentionPath py = walk.retention_path(walk.find(y));
  CHECK(py.root_kind == RootKind::kGlobal);
  CHECK(py.root_name == "cache");
  CHECK(py.root_thread.empty());
  CHECK(py.root == "Global \"cache\"");
  REQUIRE(py.steps.size() == 3);
  CHECK(py.steps[0].field.empty());  // the Global's own edge
  CHECK(py.steps[0].index == SIZE_MAX);
  CHECK(py.steps[0].type == "heap_walk_test::Table");
  CHECK(py.steps[0].object == cache.get());
  CHECK(py.steps[1].field == "slots");
  CHECK(py.steps[1].index == 1);
  CHECK(py.steps[1].type == "tctest::Node");
  CHECK(py.steps[1].object == x);
  CHECK(py.steps[2].field == "left");
  CHECK(py.steps[2].index == SIZE_MAX);
  CHECK(py.steps[2].object == y);

  const RetentionPath pz = walk.retention_path(walk.find(frame.stack[2].get()));
  CHECK(pz.root_kind == RootKind::kHeapCallback);
  CHECK(pz.root == "heap root callback \"vm\"");
  REQUIRE(pz.steps.size() == 1);
  CHECK(pz.steps[0].field == "stack");  // a callback names its root edge
  CHECK(pz.steps[0].index == 2);

  const RetentionPath pu = walk.retention_path(walk.find(frame.unnamed->a.get()));
  REQUIRE(pu.steps.size() == 2);
  CHECK(pu.steps[0].field.empty());
  CHECK(pu.steps[0].type == "heap_walk_test::Unnamed");
  CHECK(pu.steps[1].field == "?");  // a field traced without a name

  const RetentionPath pt = walk.retention_path(walk.find(theirs));
  CHECK(pt.root_kind == RootKind::kThreadRoot);
  CHECK(pt.root_name == "theirs");
  CHECK(pt.root_thread == "#2");
  CHECK(pt.root == "thread #2 Root \"theirs\"");
  REQUIRE(pt.steps.size() == 1);
  CHECK(pt.steps[0].object == theirs);

  const RetentionPath pq = walk.retention_path(walk.find(queued));
  CHECK(pq.root_kind == RootKind::kFinalizerQueue);
  CHECK(pq.root_name.empty());
  CHECK(pq.root == "finalizer queue");

  const RetentionPath root_only = walk.root_path(node_of(walk, r.get()).root);
  CHECK(root_only.root_kind == RootKind::kThreadRoot);
  CHECK(root_only.root_name == "r");
  CHECK(root_only.root_thread == "#1 \"test-main\"");
  CHECK(root_only.root == "thread #1 \"test-main\" Root \"r\"");
  CHECK(root_only.steps.empty());

  h.heap.remove_roots(heap_cb);
  CHECK(h.heap.run_finalizers() == 1);
}
