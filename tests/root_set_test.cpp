// The root set (gc/root_set.*): first alone, with GlobalNodes of the test's own and a marking flag the
// test sets, then inside a heap. The Globals list keeps the newest first and stays doubly linked
// through removals anywhere; a Global unregistered while the flag is up queues its target (not a null
// one) for shading, taken once or dropped after being shown to the caller's check; heap root callbacks
// keep their order and come off by id; a null callback and an unknown id stop with Heap's messages.
// In a heap: a Global destroyed while markers have not scanned it keeps its target alive for the
// cycle, and a target queued after the last drain is dropped at the flip instead of surviving the
// next cycle too.
#include "gc/root_set.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <vector>

#include "death.hpp"
#include "gated_heap.hpp"
#include "gc/testing.hpp"

using namespace tricolor;
using tricolor::internal::GlobalNode;
using tricolor::internal::RootCallbackEntry;
using tricolor::internal::RootSet;

namespace {

// The Globals in the order for_each_global visits them, after checking that each one's prev is the
// one visited before it (the list's back links). A list broken into a loop fails here, not by hanging.
std::vector<GlobalNode*> globals(RootSet& set) {
  std::vector<GlobalNode*> v;
  set.for_each_global([&](GlobalNode* g) {
    REQUIRE(v.size() < 16);  // more than any test registers
    CHECK(g->prev == (v.empty() ? nullptr : v.back()));
    v.push_back(g);
  });
  return v;
}

std::vector<std::uint64_t> callback_ids(RootSet& set) {
  std::vector<std::uint64_t> v;
  set.for_each_heap_callback([&](RootCallbackEntry& e) { v.push_back(e.id); });
  return v;
}

void trace_nothing(Tracer&, void*) {}
void trace_nothing_either(Tracer&, void*) {}

// Stand-ins for targets: the set only stores and returns the addresses.
int target_a, target_b, target_c;

}  // namespace

TEST_CASE("root set: Globals are listed newest first and unlink from the head, the middle and the tail",
          "[root_set]") {
  std::atomic<bool> marking{false};
  RootSet set(marking);
  CHECK(globals(set).empty());
  GlobalNode g1, g2, g3, g4;
  set.register_global(&g1);
  set.register_global(&g2);
  set.register_global(&g3);
  CHECK(globals(set) == std::vector<GlobalNode*>{&g3, &g2, &g1});

  set.unregister_global(&g2);  // the middle
  CHECK(globals(set) == std::vector<GlobalNode*>{&g3, &g1});
  CHECK(g2.next == nullptr);
  CHECK(g2.prev == nullptr);
  set.unregister_global(&g3);  // the head
  CHECK(globals(set) == std::vector<GlobalNode*>{&g1});
  CHECK(g3.next == nullptr);

  set.register_global(&g4);
  CHECK(globals(set) == std::vector<GlobalNode*>{&g4, &g1});
  set.unregister_global(&g1);  // the tail
  CHECK(globals(set) == std::vector<GlobalNode*>{&g4});
  CHECK(g4.next == nullptr);
  set.unregister_global(&g4);  // the last one
  CHECK(globals(set).empty());
  set.register_global(&g2);  // an unlinked node can be registered again
  CHECK(globals(set) == std::vector<GlobalNode*>{&g2});
  set.unregister_global(&g2);
  CHECK(set.take_pending_shades().empty());  // nothing marked meanwhile
}

TEST_CASE("root set: a Global unregistered while the heap marks queues its target once; a null one nothing",
          "[root_set]") {
  std::atomic<bool> marking{false};
  RootSet set(marking);
  GlobalNode quiet, a, empty, b;
  quiet.ptr = &target_c;
  a.ptr = &target_a;
  b.ptr = &target_b;
  for (GlobalNode* g : {&quiet, &a, &empty, &b}) set.register_global(g);

  set.unregister_global(&quiet);  // not marking: no deletion barrier
  CHECK(set.take_pending_shades().empty());

  marking = true;
  set.unregister_global(&a);
  set.unregister_global(&empty);
  set.unregister_global(&b);
  CHECK(globals(set).empty());  // unlinked all the same
  CHECK(set.take_pending_shades() == std::vector<const void*>{&target_a, &target_b});
  CHECK(set.take_pending_shades().empty());  // taken once
}

TEST_CASE("root set: discard_pending_shades shows each queued target to its check, then drops them",
          "[root_set]") {
  std::atomic<bool> marking{true};
  RootSet set(marking);
  GlobalNode a, b, late;
  a.ptr = &target_a;
  b.ptr = &target_b;
  late.ptr = &target_c;
  for (GlobalNode* g : {&a, &b, &late}) set.register_global(g);
  set.unregister_global(&b);
  set.unregister_global(&a);

  // The flip's order (gc/collector.cpp, end_marking_and_flip): the flag down, then the discard.
  marking = false;
  std::vector<const void*> seen;
  set.discard_pending_shades([&](const void* p) { seen.push_back(p); });
  CHECK(seen == std::vector<const void*>{&target_b, &target_a});
  CHECK(set.take_pending_shades().empty());
  set.unregister_global(&late);  // after the flip: nothing is queued for the next cycle
  CHECK(set.take_pending_shades().empty());
  seen.clear();
  set.discard_pending_shades([&](const void* p) { seen.push_back(p); });
  CHECK(seen.empty());
}

TEST_CASE("root set: heap root callbacks keep their order, their context and name, and come off by id",
          "[root_set]") {
  std::atomic<bool> marking{false};
  RootSet set(marking);
  CHECK_FALSE(set.has_heap_callbacks());
  int ctx1 = 0, ctx2 = 0, ctx3 = 0;
  const std::uint64_t id1 = set.add_heap_roots(&trace_nothing, &ctx1, "first");
  const std::uint64_t id2 = set.add_heap_roots(&trace_nothing_either, &ctx2, "second");
  const std::uint64_t id3 = set.add_heap_roots(&trace_nothing, &ctx3, nullptr);
  CHECK(id1 != 0);
  CHECK(id2 != id1);
  CHECK(id3 != id1);
  CHECK(id3 != id2);
  CHECK(set.has_heap_callbacks());

  std::vector<RootCallbackEntry> entries;
  set.for_each_heap_callback([&](RootCallbackEntry& e) { entries.push_back(e); });
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].id == id1);
  CHECK(entries[0].fn == &trace_nothing);
  CHECK(entries[0].context == &ctx1);
  CHECK(std::string(entries[0].name) == "first");
  CHECK(entries[1].id == id2);
  CHECK(entries[1].fn == &trace_nothing_either);
  CHECK(entries[1].context == &ctx2);
  CHECK(std::string(entries[1].name) == "second");
  CHECK(entries[2].id == id3);
  CHECK(entries[2].context == &ctx3);
  CHECK(entries[2].name == nullptr);

  set.remove_heap_roots(id2);
  CHECK(callback_ids(set) == std::vector<std::uint64_t>{id1, id3});
  const std::uint64_t id4 = set.add_heap_roots(&trace_nothing, nullptr, "fourth");
  CHECK(id4 != id2);  // an id is never handed out twice
  CHECK(callback_ids(set) == std::vector<std::uint64_t>{id1, id3, id4});
  set.remove_heap_roots(id1);
  set.remove_heap_roots(id4);
  CHECK(callback_ids(set) == std::vector<std::uint64_t>{id3});
  CHECK(set.has_heap_callbacks());
  set.remove_heap_roots(id3);
  CHECK_FALSE(set.has_heap_callbacks());
  CHECK(callback_ids(set).empty());
}

TEST_CASE("root set: a null callback and an id it did not hand out stop with Heap's messages",
          "[root_set][death]") {
  std::atomic<bool> marking{false};
  RootSet set(marking);
  REQUIRE_DEATH("Heap::add_roots: the callback is null", { set.add_heap_roots(nullptr, nullptr, "null"); });
  REQUIRE_DEATH("Heap::remove_roots: no root callback with id 12345", { set.remove_heap_roots(12345); });
  const std::uint64_t id = set.add_heap_roots(&trace_nothing, nullptr, "once");
  set.remove_heap_roots(id);
  REQUIRE_DEATH("Heap::remove_roots: no root callback with id " + std::to_string(id),
                { set.remove_heap_roots(id); });  // removed already
}

TEST_CASE("root set in a heap: a Global destroyed before the markers scanned it keeps its target alive",
          "[root_set][roots]") {
  tctest::GatedHeap g(Phase::kMark);
  const long before = tctest::Counted::live.load();
  auto global = std::make_unique<Global<tctest::Counted>>(g.heap, make<tctest::Counted>(), "doomed");
  g.start_cycle();  // markers held: the Globals are not scanned yet
  Root<tctest::Counted> holder(make<tctest::Counted>());  // allocated black
  tctest::Counted* target = global->get();  // a raw pointer: a Root store would shade it
  global.reset();  // the only deletion barrier this target gets
  holder->next = target;  // the old value is null, the thread's roots are scanned: no shade here
  g.finish_cycle();  // the verifier re-traces the heap at the end of the cycle
  CHECK(tctest::Counted::live.load() - before == 2);
  CHECK(holder->next.get() == target);
  holder->next = nullptr;
  g.heap.collect();
  CHECK(tctest::Counted::live.load() - before == 1);
}

TEST_CASE("root set in a heap: a target queued after the last drain is dropped at the flip", "[root_set][roots]") {
  tricolor::Config c = tctest::test_config();
  c.gc_percent = -1;  // only the cycles the test asks for
  tctest::TestHeap h(c);
  const long before = tctest::Counted::live.load();
  struct Ctx {
    std::unique_ptr<Global<tctest::Counted>> global;
    int fired = 0;
  } ctx;
  ctx.global = std::make_unique<Global<tctest::Counted>>(h.heap, make<tctest::Counted>(), "destroyed-late");
  // On the controller, after the last quiet flush round (the Global's target is black by then) and
  // before termination: no drain of the pending shades comes after this in a ragged termination.
  internal::set_before_termination_hook_for_testing(
      h.heap,
      [](void* p) {
        auto* x = static_cast<Ctx*>(p);
        if (x->fired++ == 0) x->global.reset();
      },
      &ctx);
  h.collect_now();
  internal::set_before_termination_hook_for_testing(h.heap, nullptr, nullptr);
  REQUIRE(ctx.fired >= 1);
  REQUIRE(ctx.global == nullptr);
  CHECK(tctest::Counted::live.load() - before == 1);  // marked before its Global went: floating garbage
  // Unreachable now; a queued shade left over from the last cycle would keep it for this one too.
  h.collect_now();
  CHECK(tctest::Counted::live.load() == before);
}
