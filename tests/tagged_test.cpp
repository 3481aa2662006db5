// Tagged values (include/tricolor/tagged.hpp), weak callbacks (include/tricolor/weak.hpp) and the
// stress knobs (Config::collect_every, Heap::start_collection). The barrier cases put the collector
// into the exact state where the rule matters (markers held, the controller stopped at a phase) and
// fail without it: the verifier aborts on the unmarked reachable object, or the mark-bit check fails.
#include "tricolor/tagged.hpp"

#include "gc/poison.hpp"
#include "gc/testing.hpp"
#include "gated_heap.hpp"
#include "test_heap.hpp"

#include <cstring>
#include <thread>
#include <vector>

using namespace tricolor;
using tctest::GatedHeap;
using tctest::Node;

namespace {

// Low-bit tagging as examples/scheme does it: ...1 a fixnum, ...010 a constant, ...000 (non-zero) a
// pointer to an object (payloads are 8-byte aligned).
struct LowTag {
  static const void* decode(std::uintptr_t w) noexcept {
    return (w & 7u) == 0 ? reinterpret_cast<const void*>(w) : nullptr;
  }
};
std::uintptr_t word_of(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }
constexpr std::uintptr_t fixnum(std::uintptr_t n) { return (n << 1) | 1u; }

struct Box : Object<Box> {
  TaggedMember<LowTag> a, b;
  void trace(Tracer& t) const {
    a.trace(t, "a");
    b.trace(t, "b");
  }
};

// A VM's own slot: a plain atomic word, stored through tricolor::write_barrier.
struct RawBox : Object<RawBox> {
  std::atomic<std::uintptr_t> w{0};
  void trace(Tracer& t) const {
    const void* p = LowTag::decode(w.load(std::memory_order_acquire));
    t.trace(p, "w");
  }
  void store(std::uintptr_t v) {
    write_barrier(LowTag::decode(w.load(std::memory_order_acquire)), LowTag::decode(v));
    w.store(v, std::memory_order_release);
  }
};



}  // namespace

TEST_CASE("TaggedMember: overwriting the only tagged reference to a white object shades it", "[tagged][barrier]") {
  GatedHeap g(Phase::kMark, "tagged-test");
  Root<Box> x(make<Box>());
  x->a = word_of(make<Node>(1));
  g.start_cycle();  // x grey (root), markers held: x->a's node is white
  const void* n = x->a.target();
  REQUIRE_FALSE(g.marked(n));
  Root<Box> y(make<Box>());  // allocated black
  REQUIRE(g.marked(y.get()));
  const std::uintptr_t w = x->a.load();
  x->a = fixnum(7);  // the deletion half must shade the decoded old target ...
  y->b = w;          // ... because black y is now its only holder
  g.finish_cycle();
  REQUIRE(static_cast<const Node*>(y->b.target())->intact());
  REQUIRE(static_cast<const Node*>(y->b.target())->value == 1);
  REQUIRE(x->a.load() == fixnum(7));
}

TEST_CASE("TaggedMember: a store from a thread whose roots are unscanned shades the decoded new value",
          "[tagged][barrier]") {
  GatedHeap g(Phase::kRootScan, "tagged-test");
  Root<Node> rp(make<Node>(5));
  g.start_cycle();  // barrier on, this thread's roots not yet scanned
  Root<Box> ry(make<Box>());
  internal::blacken_for_testing(g.heap, ry.get());
  Node* p = rp;
  rp = nullptr;          // p leaves the unscanned roots ...
  ry->a = word_of(p);    // ... for a black object: only the insertion half keeps it
  g.finish_cycle();
  REQUIRE(static_cast<const Node*>(ry->a.target())->value == 5);
}

TEST_CASE("TaggedMember: immediates reach neither the barrier nor the tracer", "[tagged]") {
  tctest::TestHeap h;
  Root<Box> x(make<Box>());
  x->a = fixnum(42);
  x->b = 0x12;  // a constant (...010)
  h.collect_now();  // the verifier and the marker would stop on a non-object pointer
  REQUIRE(x->a.load() == fixnum(42));
  REQUIRE(x->a.target() == nullptr);
}

TEST_CASE("write_barrier: a VM's own atomic word store keeps the old target alive", "[tagged][barrier]") {
  GatedHeap g(Phase::kMark, "tagged-test");
  Root<RawBox> x(make<RawBox>());
  x->store(word_of(make<Node>(3)));
  g.start_cycle();
  const std::uintptr_t w = x->w.load();
  REQUIRE_FALSE(g.marked(LowTag::decode(w)));
  Root<RawBox> y(make<RawBox>());  // black
  x->store(fixnum(1));
  y->store(w);
  g.finish_cycle();
  REQUIRE(static_cast<const Node*>(LowTag::decode(y->w.load()))->value == 3);
}

// A mutator shuffles tagged words (pointers and fixnums) between boxes while cycles run concurrently;
// the verifier re-traces after every cycle and aborts on a reachable object left unmarked, and every
// node is checked intact at the end (a freed and reused node fails its check value).
TEST_CASE("TaggedMember under concurrent marking: stores race with the markers, verifier after every cycle",
          "[tagged][concurrency]") {
  Config c = tctest::test_config();
  c.concurrent = true;
  c.gc_percent = -1;  // the cycles the test starts
  c.marker_threads = 2;
  Heap heap(c);
  constexpr int kThreads = 2;
  constexpr int kBoxes = 64;
  constexpr int kMinRounds = 3000;
  constexpr std::uint64_t kCycles = 6;
  const std::uint64_t target = heap.stats().cycles + kCycles;
  std::atomic<int> done{0};
  std::atomic<int> corrupt{0};
  auto mutate = [&](int seed) {
    Mutator m(heap, "tagged-mutator");
    Root<Box> ring(make<Box>());
    {
      // A ring of boxes, each `b` pointing at the next box; `a` holds a node or a fixnum.
      Box* prev = ring.get();
      for (int i = 1; i < kBoxes; ++i) {
        Box* nb = make<Box>();
        prev->b = word_of(nb);
        prev = nb;
      }
    }
    std::uint64_t x = static_cast<std::uint64_t>(seed) * 0x9E3779B97F4A7C15ull + 1;
    auto next = [&] { return x = x * 6364136223846793005ull + 1442695040888963407ull; };
    auto box_at = [&](std::uint64_t k) {
      const Box* bx = ring.get();
      for (std::uint64_t i = 0; i < k; ++i) {
        const void* t = bx->b.target();
        if (t == nullptr) break;
        bx = static_cast<const Box*>(t);
      }
      return const_cast<Box*>(bx);
    };
    // Until kCycles cycles have completed since the start: every one of them raced with these stores.
    for (int r = 0; r < kMinRounds || heap.stats().cycles < target; ++r) {
      Box* from = box_at(next() % kBoxes);
      Box* to = box_at(next() % kBoxes);
      switch (next() % 4) {
        case 0: to->a = word_of(make<Node>(r)); break;        // a new node (the old one may die)
        case 1: to->a = from->a.load(); from->a = fixnum(r); break;  // move: only `to` holds it now
        case 2: to->a = fixnum(r); break;
        default: {  // swap (no safepoint while the words are only in locals)
          const std::uintptr_t wt = to->a.load();
          to->a = from->a.load();
          from->a = wt;
          break;
        }
      }
      if (r % 64 == 0) {
        heap.start_collection();
        safepoint();
      }
    }
    // Catch's assertions are not thread-safe: count here, assert on the main thread.
    for (int i = 0; i < kBoxes; ++i)
      if (const void* t = box_at(i)->a.target(); t != nullptr && !static_cast<const Node*>(t)->intact())
        corrupt.fetch_add(1);
    done.fetch_add(1);
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(mutate, i + 1);
  for (auto& t : threads) t.join();
  REQUIRE(done.load() == kThreads);
  REQUIRE(corrupt.load() == 0);
  REQUIRE(heap.stats().cycles >= target);
}

namespace {
// An open-addressing weak set: entries are weak; the callback turns cleared ones into tombstones.
struct WeakSet : Object<WeakSet> {
  static constexpr std::size_t kSlots = 16;
  Weak<Node> keys[kSlots];
  std::atomic<bool> tomb[kSlots] = {};
  void trace(Tracer& t) const {
    for (const auto& k : keys) t.trace(k, "key");
  }
};
struct CallbackState {
  WeakSet* set = nullptr;
  int calls = 0;
  int tombstoned = 0;
};
void prune(void* ctx) {
  auto* s = static_cast<CallbackState*>(ctx);
  ++s->calls;
  for (std::size_t i = 0; i < WeakSet::kSlots; ++i) {
    // Plain read (world stopped): a slot read null was cleared this cycle if it is not yet a tombstone.
    if (s->set->keys[i].slot_for_tracing()->target.load(std::memory_order_relaxed) == nullptr &&
        !s->set->tomb[i].load(std::memory_order_relaxed)) {
      s->set->tomb[i].store(true, std::memory_order_relaxed);
      ++s->tombstoned;
    }
  }
}
}  // namespace

TEST_CASE("weak callback: runs after weak clearing, sees every key that died, stops when removed", "[weak]") {
  tctest::TestHeap h;
  Root<WeakSet> set(make<WeakSet>());
  Root<Node> keep;  // the even keys, chained through `right`
  for (std::size_t i = 0; i < WeakSet::kSlots; ++i) {
    Node* n = make<Node>(i);
    set->keys[i] = n;
    if (i % 2 == 0) {
      n->right = keep.get();
      keep = n;
    }
  }
  CallbackState st;
  st.set = set.get();
  const std::uint64_t id = add_weak_callback(h.heap, &prune, &st);
  h.collect_now();
  REQUIRE(st.calls >= 1);
  REQUIRE(st.tombstoned == static_cast<int>(WeakSet::kSlots / 2));  // the odd keys died and were cleared first
  for (std::size_t i = 0; i < WeakSet::kSlots; ++i) REQUIRE(set->tomb[i].load() == (i % 2 == 1));
  remove_weak_callback(h.heap, id);
  const int calls = st.calls;
  keep = nullptr;
  h.collect_now();
  REQUIRE(st.calls == calls);
}

TEST_CASE("collect_every: a full collection every N allocations", "[stress]") {
  Config c = tctest::test_config();
  c.gc_percent = -1;  // no paced cycle: every cycle here comes from the knob
  c.periodic_gc_ms = 0;
  c.collect_every = 10;
  Heap heap(c);
  Mutator m(heap, "stress");
  const std::uint64_t before = heap.stats().cycles;
  Root<Node> keep(make<Node>(1));
  for (int i = 0; i < 99; ++i) {
    Node* n = make<Node>(i + 2);
    n->left = keep.get();
    keep = n;  // every node stays reachable: a collection per 10 allocations must keep all of them
  }
  REQUIRE(heap.stats().cycles - before == 10);  // 100 allocations
  int count = 0;
  for (const Node* n = keep.get(); n != nullptr; n = n->left.get()) {
    REQUIRE(n->intact());
    ++count;
  }
  REQUIRE(count == 100);
  heap.set_collect_every(0);
  const std::uint64_t off = heap.stats().cycles;
  for (int i = 0; i < 100; ++i) (void)make<Node>(i);
  REQUIRE(heap.stats().cycles == off);
}

TEST_CASE("start_collection: returns while the cycle is still running", "[stress]") {
  GatedHeap g(Phase::kMark, "tagged-test");
  const std::uint64_t before = g.heap.stats().cycles;
  g.heap.start_collection();  // would never return if it waited: the controller stops at kMark
  g.gate.wait_reached();
  g.gate.release();
  g.heap.collect();  // waits for a cycle after the started one
  REQUIRE(g.heap.stats().cycles >= before + 1);
}

// gc/poison.hpp: a freed slot reads as the 0xdb pattern in debug-checks builds and is poisoned for
// AddressSanitizer in ASan builds (a later access reports use-after-free at the access).
TEST_CASE("freed memory is poisoned in debug-checks and ASan builds", "[stress]") {
  Config c = tctest::test_config();
  c.gc_percent = -1;
  c.background_sweeper = false;
  Heap heap(c);
  Mutator m(heap, "poison");
  auto* dead = make<Node>(7);  // never rooted: freed by the next collection
  heap.collect();
  internal::wait_for_sweeping_for_testing(heap);
#if TRICOLOR_ASAN
  REQUIRE(__asan_address_is_poisoned(dead));
#elif TC_DCHECK_IS_ON
  unsigned char bytes[sizeof(Node)];
  std::memcpy(bytes, static_cast<const void*>(dead), sizeof bytes);  // the heap stays mapped
  for (unsigned char b : bytes) REQUIRE(b == internal::poison::kFreedByte);
#else
  (void)dead;
  SUCCEED("release build without ASan: freed memory is left as it is");
#endif
}
