// Weak references, ephemerons, finalizers and pools (gc/weak_refs.cpp, gc/finalizer_queue.cpp).
#include "test_heap.hpp"

#include <thread>

using namespace tricolor;
using tctest::Node;
using tctest::TestHeap;

namespace {
struct WeakBox : Object<WeakBox> {
  Weak<Node> ref;
  void trace(Tracer& t) const { t.trace(ref, "ref"); }
};
struct Eph : Object<Eph> {
  Weak<Node> key;
  Member<Node> value;
  Member<Eph> next;
  void trace(Tracer& t) const {
    t.trace_ephemeron(key, value, "value");
    t.trace(next, "next");
  }
};
}  // namespace

TEST_CASE("a Weak is cleared when its target dies and kept while it lives", "[weak]") {
  TestHeap h;
  Root<WeakBox> box(make<WeakBox>());
  Root<Node> strong(make<Node>(1));
  box->ref = strong.get();
  h.collect_now();
  REQUIRE(box->ref.get() == strong.get());
  strong = nullptr;
  h.collect_now();
  REQUIRE(box->ref.get() == nullptr);
}

TEST_CASE("a Weak read while marking keeps the target for that cycle", "[weak]") {
  TestHeap h;
  Root<WeakBox> box(make<WeakBox>());
  box->ref = make<Node>(2);
  // Read it repeatedly while collections run: every read that returns non-null must be intact.
  std::atomic<bool> stop{false};
  std::thread collector([&] {
    while (!stop.load()) h.heap.collect();
  });
  for (int i = 0; i < 20000; ++i) {
    if (Node* n = box->ref.get()) {
      Root<Node> keep(n);
      REQUIRE(keep->intact());
      if (i % 1000 == 0) box->ref = make<Node>(3);
    }
    make<Node>(0);
  }
  stop = true;
  {
    BlockingScope waiting;
    collector.join();
  }
}

TEST_CASE("an ephemeron keeps its value only while its key lives, also along chains", "[weak][ephemeron]") {
  TestHeap h;
  // Chain: e1(key k1 -> value v1 = k2), e2(key k2 -> value v2). Only k1 is strongly held.
  Root<Node> k1(make<Node>(10));
  Root<Eph> e1(make<Eph>());
  e1->next = make<Eph>();
  e1->key = k1.get();
  e1->value = make<Node>(11);  // v1, which is also the key of e2
  e1->next->key = e1->value.get();
  e1->next->value = make<Node>(12);
  h.collect_now();
  REQUIRE(e1->value->value == 11);
  REQUIRE(e1->next->value->value == 12);  // alive through k1 -> v1 = k2 -> v2
  k1 = nullptr;
  h.collect_now();
  REQUIRE(e1->key.get() == nullptr);
  REQUIRE(e1->value.get() == nullptr);
  // k2 was only alive through e1's value: the second ephemeron dies one step later in the same cycle.
  REQUIRE(e1->next->key.get() == nullptr);
  REQUIRE(e1->next->value.get() == nullptr);
}

TEST_CASE("an ephemeron value referencing its own key does not keep the key alive", "[weak][ephemeron]") {
  TestHeap h;
  Root<Eph> e(make<Eph>());
  {
    Root<Node> k(make<Node>(1));
    e->key = k.get();
    Node* v = make<Node>(2);
    e->value = v;
    v->left = k.get();  // value -> key: a cycle through the ephemeron
  }
  h.collect_now();
  REQUIRE(e->key.get() == nullptr);
  REQUIRE(e->value.get() == nullptr);
}

namespace {
std::atomic<int> g_finalized{0};
Global<Node>* g_resurrect_to = nullptr;
}  // namespace

TEST_CASE("finalizers run on a mutator from the queue, once, after the object dies", "[finalizer]") {
  TestHeap h;
  g_finalized = 0;
  Root<WeakBox> box(make<WeakBox>());
  {
    Root<Node> n(make<Node>(42));
    box->ref = n.get();
    h.heap.set_finalizer(n.get(), [](void* obj, void*) {
      REQUIRE(static_cast<Node*>(obj)->intact());  // still valid when its finalizer runs
      g_finalized.fetch_add(1);
    });
    h.collect_now();
    REQUIRE(h.heap.pending_finalizers() == 0);
  }
  h.collect_now();
  REQUIRE(box->ref.get() == nullptr);  // weak refs are cleared before finalization
  REQUIRE(h.heap.pending_finalizers() == 1);
  REQUIRE(g_finalized.load() == 0);    // not run by the collector itself
  REQUIRE(h.heap.run_finalizers() == 1);
  REQUIRE(g_finalized.load() == 1);
  h.collect_now();
  REQUIRE(h.heap.run_finalizers() == 0);  // once only
}

TEST_CASE("an object resurrected by its finalizer stays valid", "[finalizer]") {
  TestHeap h;
  Global<Node> saved(h.heap, nullptr, "saved");
  g_resurrect_to = &saved;
  {
    Root<Node> n(make<Node>(7));
    n->left = make<Node>(8);  // reachable only through the finalizable object
    h.heap.set_finalizer(n.get(), [](void* obj, void*) { *g_resurrect_to = static_cast<Node*>(obj); });
  }
  h.collect_now();
  REQUIRE(h.heap.run_finalizers() == 1);
  for (int i = 0; i < 3; ++i) h.collect_now();
  REQUIRE(saved->value == 7);
  REQUIRE(saved->left->value == 8);
  REQUIRE(saved->left->intact());
  saved = nullptr;
}

TEST_CASE("a Pool hands back pooled objects and a cycle drops unreferenced ones", "[pool]") {
  TestHeap h;
  Pool<Node> pool(h.heap);
  pool.put(make<Node>(1));
  Node* again = pool.get();
  REQUIRE(again != nullptr);
  REQUIRE(again->value == 1);
  REQUIRE(pool.get() == nullptr);
  Root<Node> kept(make<Node>(2));
  pool.put(kept.get());
  pool.put(make<Node>(3));
  h.collect_now();
  REQUIRE(pool.size() == 1);  // the object nothing else referenced was dropped
  REQUIRE(pool.get() == kept.get());
}
