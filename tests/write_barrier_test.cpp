// One directed test per barrier rule. Each puts the collector into the exact state where the rule
// matters (markers held, a phase gate on the controller) and would fail without it: the verifier
// aborts on the unmarked reachable object, or the check on its mark bit fails.
#include "gc/testing.hpp"
#include "gc/thread_state.hpp"
#include "tricolor/tricolor.h"
#include "gated_heap.hpp"
#include "test_heap.hpp"

#include <thread>

using namespace tricolor;
using tctest::Node;

namespace {

using tctest::GatedHeap;
using tctest::PhaseGate;

// After a cycle: the chain after `head` (through `right`) has n links, and each link's `left` is the
// object it kept alive, intact, with value base + the link's own value.
void require_survivors(Node* head, std::uint64_t base, int n) {
  int seen = 0;
  for (Node* k = head->right; k != nullptr; k = k->right, ++seen) {
    REQUIRE(k->left->intact());
    REQUIRE(k->left->value == base + k->value);
  }
  REQUIRE(seen == n);
}

// tc_store_word's decode for a word that is a plain object pointer.
void* decode_untagged(std::uintptr_t w) { return reinterpret_cast<void*>(w); }

}  // namespace

TEST_CASE("deletion half: overwriting the only reference to a white object shades it", "[barrier]") {
  GatedHeap g(Phase::kMark);
  Root<Node> x(make<Node>(1));
  x->left = make<Node>(2);
  g.start_cycle();  // roots scanned: x is grey, markers held, x->left is white
  REQUIRE(g.marked(x.get()));
  REQUIRE_FALSE(g.marked(x->left.get()));
  Root<Node> y(make<Node>(3));
  REQUIRE(g.marked(y.get()));  // allocated black
  Node* b = x->left;
  x->left = nullptr;  // the deletion barrier must shade b ...
  y->left = b;        // ... because black y is now its only holder
  g.finish_cycle();
  REQUIRE(y->left->intact());
  REQUIRE(y->left->value == 2);
}

TEST_CASE("insertion half: a store from a thread whose roots are not scanned shades the new value", "[barrier]") {
  GatedHeap g(Phase::kRootScan);
  Root<Node> rp(make<Node>(5));
  g.start_cycle();  // barrier on, this thread's roots not yet scanned
  Root<Node> ry(make<Node>(6));  // white (the cache's span) or black (a fresh one): black below
  internal::blacken_for_testing(g.heap, ry.get());  // black, as another thread's allocation would be
  Node* p = rp;
  rp = nullptr;     // p leaves the (unscanned) roots ...
  ry->left = p;     // ... for a black object: only the insertion half keeps it
  g.finish_cycle();
  REQUIRE(ry->left->intact());
  REQUIRE(ry->left->value == 5);
}

// Once the barrier round is over, every barrier is on and objects may be born black, on threads whose
// roots are not scanned yet too (gc/write_barrier.cpp). Such an object is never scanned: what its
// unscanned allocator stores into it is kept by the insertion half alone.
TEST_CASE("after the barrier round a thread not yet scanned allocates black, and its stores into it are shaded",
          "[barrier]") {
  GatedHeap g(Phase::kRootScan);
  Root<Node> rw(make<Node>(5));  // white when the cycle starts, held only by this (unscanned) root
  g.start_cycle();               // barrier round over, root round not posted
  REQUIRE_FALSE(internal::as_state(internal::tls_thread)->roots_scanned);
  // The span cached before the cycle was installed white; the first span taken now is pre-marked.
  Root<Node> n(make<Node>(0));
  for (int i = 1; i < 1000 && !g.marked(n.get()); ++i) n = make<Node>(i);
  REQUIRE(g.marked(n.get()));
  Node* w = rw;
  n->left = w;   // into a black object that no marker will scan: the insertion half shades w
  rw = nullptr;  // the root scan to come will not find it
  g.finish_cycle();
  REQUIRE(n->left->intact());
  REQUIRE(n->left->value == 5);
}

TEST_CASE("allocate black: a new object published into a black one survives", "[barrier]") {
  GatedHeap g(Phase::kMark);
  Root<Node> x(make<Node>(1));
  x->left = make<Node>(2);
  g.start_cycle();
  Node* z = x->left;
  internal::blacken_for_testing(g.heap, z);  // z is black and will not be scanned again
  Node* n = make<Node>(7);
  REQUIRE(g.marked(n));  // born black
  z->right = n;          // roots are scanned, old value null: nothing is shaded by the barrier
  g.finish_cycle();
  REQUIRE(x->left->right->intact());
  REQUIRE(x->left->right->value == 7);
}

TEST_CASE("a Global overwritten while marking keeps its old value alive this cycle", "[barrier][roots]") {
  GatedHeap g(Phase::kMark);
  Global<Node> glob(g.heap, make<Node>(11), "glob");
  g.start_cycle();  // markers held: the globals are not scanned yet
  Root<Node> y(make<Node>(12));
  Node* old = glob.get();
  glob = nullptr;  // deletion barrier on the global slot
  y->left = old;
  g.finish_cycle();
  REQUIRE(y->left->value == 11);
}

// The root barrier's window (gc/write_barrier.cpp, "Root part"): a Root assignment records its new
// value while some thread's roots are not scanned, and nothing once every thread's are. (The case
// that needs the window, a hand-off from a thread not yet scanned, is in collector_test.cpp.)
TEST_CASE("a Root records its new value only until every thread's roots are scanned", "[barrier][roots]") {
  auto records = [] { return internal::as_state(internal::tls_thread)->barrier.n; };
  SECTION("before the root round: recorded") {
    GatedHeap g(Phase::kRootScan);
    Root<Node> x(make<Node>(1));
    g.start_cycle();  // barrier on, no root scanned yet
    const std::size_t before = records();
    Root<Node> y(x.get());
    REQUIRE(records() == before + 1);
    tc_root c;  // the C API's roots, pushed and assigned: the same rule
    tc_root_push(&c, x.get(), "c");
    tc_root_set(&c, y.get());
    REQUIRE(records() == before + 3);
    tc_root_pop(&c);
    g.finish_cycle();
  }
  SECTION("after it: nothing recorded, even while marking") {
    GatedHeap g(Phase::kMark);
    Root<Node> x(make<Node>(1));
    x->left = make<Node>(2);
    g.start_cycle();  // every root scanned, markers held: x->left is still white
    REQUIRE(internal::g_barrier_active.load());
    REQUIRE_FALSE(internal::g_root_barrier_active.load());
    const std::size_t before = records();
    Root<Node> y(x->left.get());
    y = x.get();
    tc_root c;
    tc_root_push(&c, x->left.get(), "c");
    tc_root_set(&c, x.get());
    tc_root_pop(&c);
    REQUIRE(records() == before);
    g.finish_cycle();
    REQUIRE(x->left->value == 2);
  }
}

TEST_CASE("barrier records nothing while no heap marks", "[barrier]") {
  tctest::TestHeap h;
  Root<Node> x(make<Node>(1));
  for (int i = 0; i < 1000; ++i) x->left = make<Node>(i);
  REQUIRE_FALSE(internal::g_barrier_active.load());
}

// Each store below records two pointers (the old value, and the new one for the insertion half), so
// the thread's barrier buffer (BarrierBuffer::kCapacity) fills many times, with one or two free
// entries as often as none: every record must survive the flush that makes room for it.
TEST_CASE("a barrier buffer that fills mid-store loses neither half's record", "[barrier]") {
  constexpr int kStores = 700;  // 1400 records: more than five full buffers
  static_assert(2 * kStores > 5 * tricolor::internal::BarrierBuffer::kCapacity);
  GatedHeap g(Phase::kRootScan);
  Root<Node> targets[kStores];
  for (int k = 0; k < kStores; ++k) targets[k] = make<Node>(1000 + k);
  Root<Node> holders(make<Node>(0));
  g.start_cycle();  // barrier on, this thread's roots not yet scanned
  Node* prev = holders.get();
  internal::blacken_for_testing(g.heap, prev);
  for (int k = 0; k < kStores; ++k) {
    Node* h = make<Node>(k);
    h->left = make<Node>(2000 + k);  // the old value the store below overwrites
    internal::blacken_for_testing(g.heap, h);  // black: its fields are not scanned again
    prev->right = h;
    prev = h;
  }
  for (Node* h = holders->right; h != nullptr; h = h->right) {
    const std::uint64_t k = h->value;
    h->left = targets[k].get();  // records old (2000 + k) and new (1000 + k)
    targets[k] = nullptr;        // the new value leaves the unscanned roots: only the insertion half keeps it
  }
  g.finish_cycle();
  require_survivors(holders.get(), 1000, kStores);
}

// The inline barrier (write_barrier_marking in include/tricolor/internal/fast_path.hpp, and its C twin
// tc_internal_write_barrier in include/tricolor/tricolor.h): once this thread's roots are scanned a
// store records exactly its old value (none for a null one, never the new value), into the buffer it
// shares with the out-of-line path, and a full buffer goes through that path's flush. Each old value
// below is white and, once overwritten, held only by a black object that is never scanned: its one
// record is all that keeps it alive, across more than five full buffers.
TEST_CASE("after the root scan a store records its old value alone, and full buffers lose nothing", "[barrier]") {
  // The store that drops the old value, in each of its inline forms.
  using Clear = void (*)(Node* holder);
  Clear clear = nullptr;
  SECTION("Member<T>") { clear = [](Node* h) { h->left = nullptr; }; }
  SECTION("tc_store") { clear = [](Node* h) { tc_store(reinterpret_cast<void**>(h->left.slot_for_tracing()), nullptr); }; }
  SECTION("tc_store_word") {
    clear = [](Node* h) {
      tc_store_word(reinterpret_cast<std::uintptr_t*>(h->left.slot_for_tracing()), 0, decode_untagged);
    };
  }
  SECTION("tc_write_barrier") {
    clear = [](Node* h) {
      tc_write_barrier(h->left.get(), nullptr);
      h->left.slot_for_tracing()->store(nullptr, std::memory_order_release);
    };
  }
  constexpr int kStores = 1400;
  static_assert(kStores > 5 * tricolor::internal::BarrierBuffer::kCapacity);
  auto records = [] { return internal::as_state(internal::tls_thread)->barrier.n; };
  GatedHeap g(Phase::kMark);
  // holders: a chain (through `right`) of white objects, each holding one white old value in `left`.
  Root<Node> holders(make<Node>(-1));
  for (int k = kStores - 1; k >= 0; --k) {
    Node* h = make<Node>(k);
    h->left = make<Node>(3000 + k);
    h->right = holders->right;
    holders->right = h;
  }
  g.start_cycle();  // every root scanned, markers held: everything above but `holders` is white
  Root<Node> keepers(make<Node>(-2));  // born black, as every keeper below: never scanned
  Node* last = keepers.get();
  int flushes = 0;  // seen as a buffer that did not grow by this iteration's one record
  std::size_t prev = records();
  for (Node* h = holders->right; h != nullptr; h = h->right) {
    Node* keeper = make<Node>(h->value);
    REQUIRE(g.marked(keeper));
    last->right = keeper;  // null old value: nothing recorded (a full buffer is flushed here first)
    last = keeper;
    Node* old = h->left;
    const std::size_t before = records();
    keeper->left = old;  // null old value; the new value is never recorded once roots are scanned
    REQUIRE(records() == before);
    clear(h);  // records `old`, now held only by the black keeper
    REQUIRE((records() == before + 1 || records() == 1));  // 1: into a buffer just flushed
    if (records() != prev + 1) ++flushes;
    prev = records();
  }
  REQUIRE(flushes >= 5);
  g.finish_cycle();
  require_survivors(keepers.get(), 3000, kStores);
}
