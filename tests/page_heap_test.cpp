// The page heap: spans, coalescing, the hard limit, commit failure, returning memory to the OS.
#include "gc/page_heap.hpp"

#include "gc/testing.hpp"
#include "test_heap.hpp"

#include <new>
#include <vector>

using namespace tricolor;
using namespace tricolor::internal;

TEST_CASE("spans are carved, found by address and coalesced on free", "[page_heap]") {
  PageHeap ph(std::size_t{1} << 30, 0);
  AllocFailure why;
  Span* a = ph.allocate(1, 0, 2, &why);
  Span* b = ph.allocate(3, 0, 2, &why);
  Span* c = ph.allocate(2, kLargeSpanClass, 2, &why);
  REQUIRE(a != nullptr);
  REQUIRE(ph.span_of(reinterpret_cast<void*>(b->start + 2 * kPageSize + 5)) == b);
  REQUIRE(ph.in_use_bytes() == 6 * kPageSize);
  ph.free(b);
  ph.free(a);
  ph.free(c);
  REQUIRE(ph.in_use_bytes() == 0);
  // Everything coalesced back: a request for the whole arena fits without growing.
  const std::size_t committed = ph.committed_bytes();
  Span* big = ph.allocate(PageHeap::kArenaPages, kLargeSpanClass, 2, &why);
  REQUIRE(big != nullptr);
  REQUIRE(ph.committed_bytes() == committed);
}

TEST_CASE("the hard limit refuses spans beyond max_heap", "[page_heap]") {
  PageHeap ph(std::size_t{1} << 30, 10 * kPageSize);
  AllocFailure why = AllocFailure::kNone;
  REQUIRE(ph.allocate(8, 0, 2, &why) != nullptr);
  REQUIRE(ph.allocate(4, 0, 2, &why) == nullptr);
  REQUIRE(why == AllocFailure::kHeapLimit);
}

TEST_CASE("a failed commit fails the allocation cleanly", "[page_heap]") {
  PageHeap ph(std::size_t{1} << 30, 0);
  ph.fail_commits_for_testing(true);
  AllocFailure why = AllocFailure::kNone;
  REQUIRE(ph.allocate(1, 0, 2, &why) == nullptr);
  REQUIRE(why == AllocFailure::kCommitFailed);
  ph.fail_commits_for_testing(false);
  REQUIRE(ph.allocate(1, 0, 2, &why) != nullptr);
}

TEST_CASE("the scavenger returns free spans to the OS", "[page_heap]") {
  PageHeap ph(std::size_t{1} << 30, 0);
  AllocFailure why;
  Span* s = ph.allocate(512, kLargeSpanClass, 2, &why);
  std::memset(reinterpret_cast<void*>(s->start), 1, s->bytes());
  ph.free(s);
  REQUIRE(ph.scavenge(monotonic_ns()) >= 512 * kPageSize);
  REQUIRE(ph.released_bytes() >= 512 * kPageSize);
  Span* again = ph.allocate(512, kLargeSpanClass, 2, &why);
  REQUIRE(reinterpret_cast<unsigned char*>(again->start)[100] == 0);  // released pages read as zero
}

namespace {
struct Big : Object<Big> {
  unsigned char bytes[100000];
  void trace(Tracer&) const {}
};
}  // namespace

TEST_CASE("at the heap limit try_make returns null and make throws, after one emergency collection", "[page_heap][limit]") {
  Config c = tctest::test_config();
  c.max_heap = 8u << 20;
  c.gc_percent = -1;  // only emergencies collect
  tctest::TestHeap h(c);
  std::vector<Root<Big>*> kept;
  Big* last = nullptr;
  while ((last = try_make<Big>()) != nullptr) kept.push_back(new Root<Big>(last));
  REQUIRE(h.stats().cycles >= 1);  // the emergency collection ran
  REQUIRE(!kept.empty());
  REQUIRE_THROWS_AS(make<Big>(), std::bad_alloc);
  REQUIRE(h.stats().heap_bytes <= c.max_heap);
  // Release memory: the heap is consistent and usable again.
  while (!kept.empty()) {
    delete kept.back();
    kept.pop_back();
  }
  REQUIRE(try_make<Big>() != nullptr);
}

TEST_CASE("memory of a dropped structure goes back to the OS", "[page_heap][scavenger]") {
  Config c = tctest::test_config();
  c.scavenge_delay_ms = 1000000;  // only the explicit call below scavenges
  tctest::TestHeap h(c);
  {
    std::vector<Root<Big>*> kept;
    for (int i = 0; i < 400; ++i) kept.push_back(new Root<Big>(make<Big>()));  // ~40 MB live
    h.collect_now();
    REQUIRE(h.stats().heap_bytes >= 400 * sizeof(Big));
    while (!kept.empty()) {
      delete kept.back();
      kept.pop_back();
    }
  }
  h.collect_now();
  REQUIRE(h.stats().heap_bytes < 400 * sizeof(Big) / 4);
  const std::size_t released = scavenge_now_for_testing(h.heap);
  REQUIRE(released >= 300 * sizeof(Big));
  const Stats s = h.stats();
  REQUIRE(s.committed_bytes - s.released_bytes < 400 * sizeof(Big) / 2);
}

TEST_CASE("a commit failure surfaces as a clean allocation failure", "[page_heap][limit]") {
  tctest::TestHeap h;
  fail_commits_for_testing(h.heap, true);
  Big* p = nullptr;
  std::vector<Root<Big>*> kept;
  while ((p = try_make<Big>()) != nullptr) kept.push_back(new Root<Big>(p));
  fail_commits_for_testing(h.heap, false);
  REQUIRE(try_make<Big>() != nullptr);
  while (!kept.empty()) {
    delete kept.back();
    kept.pop_back();
  }
}
