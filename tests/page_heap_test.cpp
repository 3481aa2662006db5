// The page heap: spans, coalescing, the hard limit, commit failure, returning memory to the OS,
// populating a small span's fresh pages at once.
#include "gc/page_heap.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include "gc/testing.hpp"
#include "test_heap.hpp"

#include <atomic>
#include <cstring>
#include <new>
#include <thread>
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

// The page table holds in-use spans only. span_of() runs without the page heap's lock (the marker's
// shade check, Heap::contains on any pointer), so it must never reach a free span's record, which
// every split and merge rewrites under the lock. (Free spans' edges used to share the table, stored
// relaxed: a reader got a record it had no ordering with, being rewritten.)
// How many of the OS pages in [start, start + bytes) are resident (mincore).
static std::size_t resident_pages(std::uintptr_t start, std::size_t bytes) {
  const std::size_t os_page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> v((bytes + os_page - 1) / os_page);
  REQUIRE(mincore(reinterpret_cast<void*>(start), bytes, v.data()) == 0);
  std::size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

// A small span of untouched (never used, or released) pages is populated in one call when it is
// taken (MADV_POPULATE_WRITE, outside the lock): its slots are all about to be written, and one call
// costs less than a page fault per page. A large span is not: a large buffer may be used sparsely.
TEST_CASE("a small span's fresh pages are populated at once; a large span's are not", "[page_heap]") {
  PageHeap ph(std::size_t{1} << 30, 0);
  Span* large = ph.allocate(16, kLargeSpanClass, 2);
  REQUIRE(large != nullptr);
  CHECK(resident_pages(large->start, large->bytes()) == 0);
  const std::size_t sc = span_class(size_to_class(32), SpanKind::kScan);
  Span* small = ph.allocate(kClasses.pages[class_of_span_class(sc)], static_cast<std::uint16_t>(sc), 2);
  REQUIRE(small != nullptr);
  const std::size_t os_pages = small->bytes() / static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
#if defined(MADV_POPULATE_WRITE)
  // Kernels before 5.14 refuse the advice (the pages then fault in as the slots are used): probed on
  // the large span, whose residency was checked above.
  if (madvise(reinterpret_cast<void*>(large->start), kPageSize, MADV_POPULATE_WRITE) == 0)
    CHECK(resident_pages(small->start, small->bytes()) == os_pages);
#endif
  CHECK(os_pages > 0);
}

TEST_CASE("span_of finds in-use spans only, never a free one", "[page_heap]") {
  PageHeap ph(std::size_t{1} << 30, 0);
  AllocFailure why;
  Span* a = ph.allocate(1, 0, 2, &why);
  Span* b = ph.allocate(3, 0, 2, &why);
  Span* c = ph.allocate(1, 0, 2, &why);
  REQUIRE((a != nullptr && b != nullptr && c != nullptr));
  const std::uintptr_t b_first = b->start;
  const std::uintptr_t after_c = c->end();
  ph.free(b);  // a free span of three pages between two in use
  for (std::uintptr_t page = b_first; page < b_first + 3 * kPageSize; page += kPageSize)
    CHECK(ph.span_of(reinterpret_cast<void*>(page)) == nullptr);
  // The rest of the arena is one free span: its first and last pages.
  CHECK(ph.span_of(reinterpret_cast<void*>(after_c)) == nullptr);
  CHECK(ph.span_of(reinterpret_cast<void*>(ph.base() + PageHeap::kArenaBytes - kPageSize)) == nullptr);
  CHECK(ph.span_of(reinterpret_cast<void*>(a->start)) == a);
  CHECK(ph.span_of(reinterpret_cast<void*>(c->start)) == c);
  // The hole is found again (best fit), and coalescing still finds free neighbours.
  Span* b2 = ph.allocate(3, 0, 2, &why);
  REQUIRE(b2 != nullptr);
  CHECK(b2->start == b_first);
  CHECK(ph.span_of(reinterpret_cast<void*>(b_first + 2 * kPageSize)) == b2);
  ph.free(a);
  ph.free(c);
  ph.free(b2);
  const std::size_t committed = ph.committed_bytes();
  REQUIRE(ph.allocate(PageHeap::kArenaPages, kLargeSpanClass, 2, &why) != nullptr);
  REQUIRE(ph.committed_bytes() == committed);
}

// The same, concurrently (the TSan build reports the race this used to be): a thread asks for the
// span of a page that stays free while another splits and re-merges the free span it ends.
TEST_CASE("span_of on free memory reads nothing the allocating thread writes", "[page_heap][concurrency]") {
  PageHeap ph(std::size_t{1} << 30, 0);
  AllocFailure why;
  REQUIRE(ph.allocate(1, 0, 2, &why) != nullptr);  // commits the first arena
  const auto* last_page = reinterpret_cast<const void*>(ph.base() + PageHeap::kArenaBytes - kPageSize);
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> reads{0};
  std::atomic<std::size_t> found_free{0};
  std::thread reader([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      // As Heap::contains: a span found by address is read without the page heap's lock.
      if (const Span* s = ph.span_of(last_page); s != nullptr && s->state != SpanState::kInUse)
        found_free.fetch_add(1, std::memory_order_relaxed);
      reads.fetch_add(1, std::memory_order_relaxed);
    }
  });
  for (std::size_t i = 0; i < 2000 || reads.load(std::memory_order_relaxed) < 2000; ++i) {
    Span* s = ph.allocate(2, 0, 2, &why);
    REQUIRE(s != nullptr);
    ph.free(s);
  }
  stop.store(true, std::memory_order_relaxed);
  reader.join();
  REQUIRE(found_free.load() == 0);
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

// Releasing memory down to a target (the scavenger's retain target, the soft and hard limits) takes
// the largest free held spans first and stops as soon as held memory is at the target: the fewest
// madvise calls, and no page released that the target does not need. Spans the scavenger must leave
// (freed too recently) are passed over, and the walk goes on to smaller ones. Released pages read as
// zero, resident ones keep their bytes: that tells which spans went back to the OS.
TEST_CASE("memory goes back to the OS largest span first, down to the target and no further", "[page_heap][scavenger]") {
  PageHeap ph(std::size_t{1} << 30, 0);
  const std::size_t pages[3] = {16, 8, 4};
  std::uintptr_t start[3];
  for (int i = 0; i < 3; ++i) {
    Span* s = ph.allocate(pages[i], kLargeSpanClass, 2);
    REQUIRE(ph.allocate(1, kLargeSpanClass, 2) != nullptr);  // a separator: the free spans never coalesce
    REQUIRE(s != nullptr);
    start[i] = s->start;
    std::memset(reinterpret_cast<void*>(s->start), 1, s->bytes());
  }
  const auto resident = [&](int i) { return reinterpret_cast<const unsigned char*>(start[i])[100] == 1; };
  const auto free_span = [&](int i) { ph.free(ph.span_of(reinterpret_cast<void*>(start[i]))); };

  SECTION("a target the largest span meets: only it is released") {
    for (int i : {2, 0, 1}) free_span(i);  // the order of freeing does not matter
    const std::size_t held = ph.held_bytes();
    ph.set_scavenge_retain(held - 16 * kPageSize);
    REQUIRE(ph.scavenge(monotonic_ns()) == 16 * kPageSize);
    REQUIRE(!resident(0));
    REQUIRE(resident(1));
    REQUIRE(resident(2));
    REQUIRE(ph.held_bytes() == held - 16 * kPageSize);
  }
  SECTION("a soft limit one page past the largest span: the two largest are released") {
    for (int i : {1, 2, 0}) free_span(i);
    const std::size_t held = ph.held_bytes(), released = ph.released_bytes();
    ph.set_soft_limit(held - 17 * kPageSize);
    REQUIRE(ph.released_bytes() - released == 24 * kPageSize);
    REQUIRE(!resident(0));
    REQUIRE(!resident(1));
    REQUIRE(resident(2));
  }
  SECTION("spans freed after the scavenger's cut-off are passed over, smaller ones still released") {
    free_span(2);
    const std::uint64_t cut = monotonic_ns();
    while (monotonic_ns() <= cut) {
    }  // the two larger spans are freed strictly after the cut-off
    free_span(0);
    free_span(1);
    ph.set_scavenge_retain(0);
    REQUIRE(ph.scavenge(cut) == 4 * kPageSize);
    REQUIRE(resident(0));
    REQUIRE(resident(1));
    REQUIRE(!resident(2));
  }
}

// A span is taken from resident free memory whenever some resident span fits, even when a released
// one fits better: taking released pages would fault them in again and grow held memory, which near a
// limit made the page heap release another span, and so on (the quad tree at 2.5x its live heap
// re-faulted 450 MB a run).
TEST_CASE("an allocation prefers a resident free span to a better-fitting released one", "[page_heap]") {
  PageHeap ph(std::size_t{1} << 30, 0);
  AllocFailure why;
  Span* held = ph.allocate(8, kLargeSpanClass, 2, &why);
  Span* sep1 = ph.allocate(1, kLargeSpanClass, 2, &why);  // keep the free spans apart (no coalescing)
  Span* released = ph.allocate(4, kLargeSpanClass, 2, &why);
  Span* sep2 = ph.allocate(1, kLargeSpanClass, 2, &why);
  REQUIRE((held && sep1 && released && sep2));
  const std::uintptr_t held_start = held->start, released_start = released->start;
  std::memset(reinterpret_cast<void*>(held_start), 1, 8 * kPageSize);
  std::memset(reinterpret_cast<void*>(released_start), 1, 4 * kPageSize);
  ph.free(released);
  REQUIRE(ph.scavenge(monotonic_ns()) >= 4 * kPageSize);  // releases the 4-page span
  ph.free(held);                                            // freed after the scavenge: resident
  const std::size_t released_before = ph.released_bytes();
  Span* s = ph.allocate(4, kLargeSpanClass, 2, &why);
  REQUIRE(s != nullptr);
  REQUIRE(s->start == held_start);  // best fit would have taken the released 4 pages
  REQUIRE(ph.released_bytes() == released_before);
  // With no resident span left that fits, released memory is used.
  Span* t = ph.allocate(4, kLargeSpanClass, 2, &why);
  REQUIRE(t != nullptr);
  REQUIRE(t->start == held_start + 4 * kPageSize);  // the rest of the resident span first
  Span* u = ph.allocate(4, kLargeSpanClass, 2, &why);
  REQUIRE(u != nullptr);
  REQUIRE(u->start == released_start);
  REQUIRE(ph.released_bytes() == released_before - 4 * kPageSize);
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

// Hard limit means memory: held heap memory (committed and not returned to the OS) stays under
// max_heap through any mix of span sizes, not only the bytes in use; the soft limit brings it back
// down after each allocation as far as free pages allow.
namespace {
// A deterministic mix of span sizes: mostly small, sometimes large, now and then near the limit.
std::size_t next_pages(std::uint64_t& x) {
  x = x * 6364136223846793005ull + 1442695040888963407ull;
  const std::uint64_t r = x >> 33;
  if (r % 16 == 0) return 64 + r % 200;
  return 1 + r % 8;
}
}  // namespace

TEST_CASE("held memory stays under the hard limit as spans of changing sizes come and go", "[page_heap][limit]") {
  constexpr std::size_t kLimit = 4u << 20;  // far below one 64 MiB arena
  PageHeap ph(std::size_t{1} << 30, kLimit);
  std::vector<Span*> live;
  std::uint64_t x = 42;
  std::size_t refused = 0;
  for (int op = 0; op < 20000; ++op) {
    AllocFailure why = AllocFailure::kNone;
    if (Span* s = ph.allocate(next_pages(x), kLargeSpanClass, 2, &why)) {
      std::memset(reinterpret_cast<void*>(s->start), 1, s->bytes());  // really held
      live.push_back(s);
    } else {
      REQUIRE(why == AllocFailure::kHeapLimit);
      ++refused;
    }
    REQUIRE(ph.held_bytes() <= kLimit);
    // Free about as much as we allocate, from anywhere in the list, so free spans of all sizes mix.
    while (!live.empty() && (x >> 40) % 3 != 0 && live.size() > 4) {
      const std::size_t i = std::size_t(x >> 20) % live.size();
      ph.free(live[i]);
      live[i] = live.back();
      live.pop_back();
      x = x * 6364136223846793005ull + 1;
    }
  }
  REQUIRE(refused > 0);  // the limit was reached, and held memory still stayed under it
  REQUIRE(ph.committed_bytes() >= PageHeap::kArenaBytes);  // address space beyond the limit is fine
}

TEST_CASE("the soft limit returns free pages after each allocation", "[page_heap][limit]") {
  PageHeap ph(std::size_t{1} << 30, 0);
  AllocFailure why;
  std::vector<Span*> spans;
  for (int i = 0; i < 64; ++i) {
    spans.push_back(ph.allocate(32, kLargeSpanClass, 2, &why));
    std::memset(reinterpret_cast<void*>(spans.back()->start), 1, spans.back()->bytes());
  }
  for (std::size_t i = 0; i < spans.size(); i += 2) ph.free(spans[i]);  // 8 MiB free, held
  REQUIRE(ph.held_bytes() >= 16u << 20);
  ph.set_soft_limit(10u << 20);  // releases free pages at once
  REQUIRE(ph.held_bytes() <= 10u << 20);
  REQUIRE(ph.allocate(8, kLargeSpanClass, 2, &why) != nullptr);
  REQUIRE(ph.held_bytes() <= 10u << 20);
  // In-use memory above the soft limit is allowed (it is soft); free pages are not kept then.
  for (int i = 0; i < 32; ++i) ph.allocate(32, kLargeSpanClass, 2, &why);
  REQUIRE(ph.held_bytes() == ph.in_use_bytes());
}

namespace {
// A ring of buffers: each step replaces one, so the live set keeps its size while sizes change.
struct Ring : Object<Ring> {
  static constexpr std::size_t kSlots = 64;
  Member<unsigned char> slots[kSlots];
  void trace(Tracer& t) const {
    for (const auto& s : slots) t.trace(s, "slot");
  }
};
}  // namespace

TEST_CASE("a heap with max_heap never holds more memory than the limit", "[page_heap][limit]") {
  Config c = tctest::test_config();
  c.verify = false;  // the point is memory, and the run is long
  c.max_heap = 32u << 20;
  c.scavenge_delay_ms = 1000000;  // only the limit returns memory here, not the timed scavenger
  tctest::TestHeap h(c);
  Root<Ring> ring(make<Ring>(), "ring");
  std::uint64_t x = 7;
  for (int op = 0; op < 6000; ++op) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const std::uint64_t r = x >> 33;
    // Sizes from 16 bytes to 400 KiB, mixed, the large ones in phases: at most 64 live, ~13 MB.
    const std::size_t bytes = (op / 1000) % 2 == 0 ? 16 + r % 2048 : 16 + r % (400 * 1024);
    ring->slots[r % Ring::kSlots] = static_cast<unsigned char*>(make_buffer(bytes));
    if (op % 50 == 0) {
      const Stats s = h.stats();
      INFO("op " << op << ": committed " << s.committed_bytes << ", released " << s.released_bytes);
      REQUIRE(s.committed_bytes - s.released_bytes <= c.max_heap);
    }
  }
  const Stats s = h.stats();
  REQUIRE(s.committed_bytes - s.released_bytes <= c.max_heap);
  REQUIRE(s.cycles >= 1);
}
