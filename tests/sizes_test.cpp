// Sizes no heap can hold: every C++ allocation entry point refuses them (null from try_, std::bad_alloc
// otherwise) with nothing allocated, accounted or collected, and the heap stays usable: a buffer
// allocated afterwards overlaps no live object. The boundaries: SIZE_MAX, SIZE_MAX - header,
// SIZE_MAX - 4, the reservation, the hard limit, and every power of two from 2^40 to 2^63.
#include "gc/page_heap.hpp"

#include "test_heap.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

using namespace tricolor;
using tricolor::internal::kHeaderSize;
using tricolor::internal::kPageSize;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// A variable-size object: sizeof(Blob) + n trailing bytes.
struct Blob : Object<Blob> {
  std::uint64_t n = 0;
  void trace(Tracer&) const {}
};

// Larger than any reservation: make<Huge> and try_make<Huge> go to the large path with a fixed size.
struct Huge : Object<Huge> {
  char bytes[std::size_t{1} << 45];
  void trace(Tracer&) const {}
};

// A quiet heap: no cycle starts unless asked, so "nothing allocated" is measurable exactly.
Config quiet_config(std::size_t reserve = std::size_t{4} << 30, std::size_t max_heap = 0) {
  Config c = tctest::test_config();
  c.gc_percent = -1;
  c.periodic_gc_ms = 0;
  c.reserve = reserve;
  c.max_heap = max_heap;
  return c;
}

// The sizes every entry point must refuse in a heap of `reserve` bytes (all above it).
std::vector<std::size_t> impossible_sizes(std::size_t reserve) {
  std::vector<std::size_t> v = {SIZE_MAX,
                                SIZE_MAX - 1,
                                SIZE_MAX - 4,
                                SIZE_MAX - kHeaderSize,
                                SIZE_MAX - kHeaderSize + 1,
                                SIZE_MAX - kHeaderSize - 1,
                                SIZE_MAX - sizeof(Blob) - kHeaderSize,
                                SIZE_MAX - sizeof(Blob) - kHeaderSize + 1,
                                SIZE_MAX - kPageSize,
                                SIZE_MAX - kPageSize + 1,
                                SIZE_MAX / 2,
                                SIZE_MAX / 2 + 1,
                                reserve,
                                reserve + 1,
                                reserve - kHeaderSize + 1,
                                reserve * 2};
  for (int k = 40; k <= 63; ++k) {
    const std::size_t p = std::size_t{1} << k;
    v.insert(v.end(), {p - 1, p, p + 1});
  }
  return v;
}

struct Footprint {
  std::size_t heap_bytes, allocated_bytes;
  std::uint64_t cycles;
  bool operator==(const Footprint&) const = default;
};
Footprint footprint(Heap& heap) {
  const Stats s = heap.stats();
  return {s.heap_bytes, s.allocated_bytes, s.cycles};
}

// A list of live allocations, each a 64 KiB buffer filled with a pattern of its own.
struct Cell : Object<Cell> {
  Member<Cell> next;
  Member<unsigned char> buf;
  std::size_t size = 0;
  unsigned char pattern = 0;
  void trace(Tracer& t) const {
    t.trace(next, "next");
    t.trace(buf, "buf");
  }
};

Cell* push_buffer(Root<Cell>& list, std::size_t size, unsigned char pattern) {
  Root<Cell> c(make<Cell>());
  c->size = size;
  c->pattern = pattern;
  c->buf = static_cast<unsigned char*>(make_buffer(size));
  std::memset(c->buf.get(), pattern, size);
  c->next = list.get();
  list = c.get();
  return c.get();
}

// No two live allocations (each cell and its buffer, header included) overlap, and every buffer
// still holds its own pattern.
void check_disjoint_and_intact(Cell* list) {
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> ranges;
  for (Cell* c = list; c != nullptr; c = c->next) {
    const auto cell = reinterpret_cast<std::uintptr_t>(c);
    const auto buf = reinterpret_cast<std::uintptr_t>(c->buf.get());
    ranges.emplace_back(cell - kHeaderSize, cell + sizeof(Cell));
    ranges.emplace_back(buf - kHeaderSize, buf + c->size);
    for (std::size_t i = 0; i < c->size; i += 4093) REQUIRE(c->buf.get()[i] == c->pattern);
    REQUIRE(c->buf.get()[c->size - 1] == c->pattern);
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    INFO("allocation " << i << " starts inside the previous one");
    REQUIRE(ranges[i - 1].second <= ranges[i].first);
  }
}

}  // namespace

TEST_CASE("sizes no heap can hold are refused by every C++ entry point, with nothing allocated", "[sizes]") {
  const std::size_t reserve = std::size_t{4} << 30;
  tctest::TestHeap h(quiet_config(reserve));
  Root<Cell> live(nullptr, "live");
  push_buffer(live, 64 * 1024, 1);
  const Footprint before = footprint(h.heap);
  for (const std::size_t n : impossible_sizes(reserve)) {
    INFO("size " << n);
    REQUIRE(try_make_buffer(n) == nullptr);
    REQUIRE_THROWS_AS(make_buffer(n), std::bad_alloc);
    REQUIRE(try_make_with_trailing<Blob>(n) == nullptr);
    REQUIRE_THROWS_AS(make_with_trailing<Blob>(n), std::bad_alloc);
    REQUIRE_THROWS_AS(make_buffer_of<std::uint64_t>(n), std::bad_alloc);
    REQUIRE_THROWS_AS(make_buffer_of<char>(n), std::bad_alloc);
    // Refused before any accounting: no span, no byte counted, no emergency collection.
    REQUIRE(footprint(h.heap) == before);
  }
  REQUIRE(try_make<Huge>() == nullptr);
  REQUIRE_THROWS_AS(make<Huge>(), std::bad_alloc);
  REQUIRE(footprint(h.heap) == before);
  check_disjoint_and_intact(live.get());
}

TEST_CASE("count * sizeof(T) past SIZE_MAX is refused, not wrapped", "[sizes]") {
  tctest::TestHeap h(quiet_config());
  // These products wrap to 0, 8 and small sizes in size_t arithmetic.
  for (const std::size_t count : {std::size_t{1} << 61, (std::size_t{1} << 61) + 1, SIZE_MAX / 8 + 1, SIZE_MAX,
                                  SIZE_MAX / 8}) {
    INFO("count " << count);
    REQUIRE_THROWS_AS(make_buffer_of<std::uint64_t>(count), std::bad_alloc);
  }
  struct Triple {
    std::uint64_t a, b, c;
  };
  REQUIRE_THROWS_AS(make_buffer_of<Triple>(SIZE_MAX / 24 + 1), std::bad_alloc);
  REQUIRE_THROWS_AS(make_buffer_of<Triple>(SIZE_MAX / 24), std::bad_alloc);  // fits size_t, not the heap
  // And the ordinary case still works.
  Root<std::uint64_t> ok(make_buffer_of<std::uint64_t>(1000));
  ok.get()[999] = 7;
  REQUIRE(ok.get()[999] == 7);
}

TEST_CASE("after refused huge requests, new buffers overlap no live allocation", "[sizes]") {
  tctest::TestHeap h(quiet_config());
  Root<Cell> live(nullptr, "live");
  unsigned char pattern = 1;
  for (int k = 40; k <= 63; ++k) {
    const std::size_t huge = std::size_t{1} << k;
    INFO("2^" << k);
    // The case: make_buffer(2^45) used to return an object that later buffers lay inside.
    REQUIRE_THROWS_AS(make_buffer(huge), std::bad_alloc);
    REQUIRE(try_make_buffer(SIZE_MAX - 4) == nullptr);
    REQUIRE(try_make_with_trailing<Blob>(SIZE_MAX - 4) == nullptr);
    push_buffer(live, 64 * 1024, pattern++);
    push_buffer(live, 100, pattern++);
  }
  check_disjoint_and_intact(live.get());
  h.collect_now();
  check_disjoint_and_intact(live.get());
}

TEST_CASE("the reservation is the bound: the largest request that fits it succeeds", "[sizes]") {
  // A fresh heap has nothing committed, so one buffer can take the whole reservation.
  const std::size_t reserve = 256 * kMiB;
  Heap heap(quiet_config(reserve));
  Mutator m(heap);
  const Footprint before = footprint(heap);
  REQUIRE(try_make_buffer(reserve - kHeaderSize + 1) == nullptr);
  REQUIRE_THROWS_AS(make_buffer(reserve), std::bad_alloc);
  REQUIRE(footprint(heap) == before);
  {
    Root<unsigned char> all(static_cast<unsigned char*>(try_make_buffer(reserve - kHeaderSize)), "all");
    REQUIRE(all.get() != nullptr);
    all.get()[0] = 1;
    all.get()[reserve - kHeaderSize - 1] = 2;
    REQUIRE(heap.stats().heap_bytes == reserve);
    // Full: even a small object fails now (after one emergency collection), and nothing breaks.
    REQUIRE(try_make<tctest::Node>() == nullptr);
    REQUIRE(all.get()[0] == 1);
    REQUIRE(all.get()[reserve - kHeaderSize - 1] == 2);
  }
  heap.collect();
  Root<tctest::Node> n(make<tctest::Node>(5));
  REQUIRE(n->intact());
}

TEST_CASE("a request above the hard limit fails at once, without an emergency collection", "[sizes]") {
  tctest::TestHeap h(quiet_config(std::size_t{4} << 30, 64 * kMiB));
  const Footprint before = footprint(h.heap);
  REQUIRE(try_make_buffer(64 * kMiB) == nullptr);
  REQUIRE_THROWS_AS(make_buffer(100 * kMiB), std::bad_alloc);
  REQUIRE(try_make_with_trailing<Blob>(64 * kMiB) == nullptr);
  REQUIRE(footprint(h.heap) == before);
  Root<unsigned char> fits(static_cast<unsigned char*>(make_buffer(32 * kMiB)));
  fits.get()[32 * kMiB - 1] = 3;
  REQUIRE(fits.get()[32 * kMiB - 1] == 3);
}

TEST_CASE("the page heap refuses page counts past its reservation", "[sizes][page_heap]") {
  using namespace tricolor::internal;
  PageHeap ph(std::size_t{1} << 30, 0);
  for (const std::size_t npages : {(std::size_t{1} << 30) / kPageSize + 1, std::size_t{1} << 32,
                                   (std::size_t{1} << 32) + 1, std::size_t{1} << 51, SIZE_MAX / kPageSize, SIZE_MAX}) {
    INFO("npages " << npages);
    AllocFailure why = AllocFailure::kNone;
    REQUIRE(ph.allocate(npages, kLargeSpanClass, 2, &why) == nullptr);
    REQUIRE(why == AllocFailure::kTooLarge);
  }
  REQUIRE(ph.in_use_bytes() == 0);
  AllocFailure why = AllocFailure::kNone;
  Span* s = ph.allocate(3, kLargeSpanClass, 2, &why);
  REQUIRE(s != nullptr);
  REQUIRE(s->npages == 3);
}
