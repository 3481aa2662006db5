// Assists (gc/assist.*): one payment scans one bounded slice; owed work is paid at every allocation
// slow path, not only at span refills; the rest of a taken segment stays with the thread between
// slices and the cycle still finds everything (its flush answers publish it).
#include "gc/assist.hpp"

#include "gc/heap_impl.hpp"
#include "gc/testing.hpp"
#include "gated_heap.hpp"
#include "test_heap.hpp"

using namespace tricolor;
using tctest::Node;

namespace {
internal::ThreadState* state_of_this_thread() { return internal::as_state(internal::tls_thread); }
}  // namespace

TEST_CASE("an assist scans one bounded slice, and owed work is paid at every allocation slow path", "[assist]") {
  tctest::GatedHeap g(Phase::kMark);  // markers held: only this thread's assists scan
  Root<Node> list(nullptr);
  for (int i = 0; i < 20000; ++i) {  // grey work for the assists: a long list, scanned one node at a time
    Node* n = make<Node>(std::uint64_t(i));
    n->left = list.get();
    list = n;
  }
  g.start_cycle();  // this thread's roots are scanned: it allocates black and may assist
  internal::HeapImpl& hi = g.heap.impl();
  internal::ThreadState* t = state_of_this_thread();
  REQUIRE(t->allocate_black);
  REQUIRE_FALSE(hi.marker.pool().empty());

  // One payment scans one slice (drain() stops after the object that crosses the budget).
  t->assist_debt = 10 * internal::Assists::kSlice;
  hi.assists.pay(t);
  const std::int64_t paid = 10 * internal::Assists::kSlice - t->assist_debt;
  CHECK(paid >= internal::Assists::kSlice);
  CHECK(paid <= internal::Assists::kSlice + std::int64_t{sizeof(Node)} + 64);
  // Still owing, with no marker idle: the rest of the taken work stays with this thread for its next
  // slice (no shelf lock, no wake-up), and the cycle's flush rounds publish it (finish_cycle below
  // must still find the whole list).
  REQUIRE_FALSE(hi.marker.pool().hungry());
  CHECK(t->mark.work.local_size() > 0);

  // Owed work is paid at window advances (every 64 slots), not only when a span is refilled: 200
  // allocations of one size class cross at least three windows, and at most one refill.
  auto assists = [&] {
    std::size_t n = 0;
    for (const Pause& p : g.heap.stats().pauses) n += p.kind == PauseKind::kAssist;
    return n;
  };
  t->assist_debt = 10 * internal::Assists::kSlice;
  const std::size_t before = assists();
  for (int i = 0; i < 200; ++i) make<Node>(std::uint64_t(i));
  CHECK(assists() - before >= 3);
  g.finish_cycle();
  std::size_t n = 0;
  for (Node* x = list.get(); x != nullptr; x = x->left, ++n) REQUIRE(x->intact());
  REQUIRE(n == 20000);
}
