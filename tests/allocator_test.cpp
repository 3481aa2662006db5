// The allocator (gc/allocator.*): its exact allocation counters (tricolor::allocated_objects/
// allocated_bytes, Stats::allocated_objects/bytes), counted per span refill and corrected by the slots still free in the thread's cache
// (gc/thread_cache.hpp), they must equal the allocations made, across refills, collections (which
// take the caches back), parked windows, allocation sampling and large objects.
#include "gc/heap_impl.hpp"
#include "test_heap.hpp"

#include <thread>

using namespace tricolor;
using tctest::Node;

namespace {

std::size_t slot_of(std::size_t object_bytes) {
  return internal::class_size(internal::size_to_class(object_bytes + internal::kHeaderSize));
}

struct Counts {
  std::uint64_t objects, bytes;
};
Counts now() { return {allocated_objects(), allocated_bytes()}; }

}  // namespace

TEST_CASE("allocation counters count every object and its slot, across refills and collections", "[alloc_counters]") {
  tctest::TestHeap h;
  const Counts before = now();
  Root<Node> keep(nullptr, "keep");
  constexpr std::uint64_t kN = 100000;  // many spans, and paced cycles in between (1 MiB initial heap)
  for (std::uint64_t i = 0; i < kN; ++i) {
    if (i == kN / 2) h.collect_now();  // takes the caches back mid-way, whatever the pacer does
    Node* n = make<Node>(i);
    if (i % 16 == 0) {
      n->left = keep.get();
      keep = n;
    }
  }
  const Counts after = now();
  REQUIRE(h.stats().cycles >= 1);  // caches were taken back at least once meanwhile
  REQUIRE(after.objects - before.objects == kN);
  REQUIRE(after.bytes - before.bytes == kN * slot_of(sizeof(Node)));
  // Reading them allocates nothing.
  REQUIRE(now().objects == after.objects);
  h.collect_now();
  REQUIRE(now().objects == after.objects);
}

TEST_CASE("allocation counters count large objects in whole pages and buffers by their class", "[alloc_counters]") {
  tctest::TestHeap h;
  const Counts before = now();
  Root<Node> keep(make<Node>(1), "keep");
  make_buffer(100);
  make_buffer(100 * 1024);
  const Counts after = now();
  const std::size_t large = (100 * 1024 + internal::kHeaderSize + internal::kPageSize - 1) / internal::kPageSize *
                            internal::kPageSize;
  REQUIRE(after.objects - before.objects == 3);
  REQUIRE(after.bytes - before.bytes == slot_of(sizeof(Node)) + slot_of(100) + large);
}

TEST_CASE("allocation counters stay exact with parked windows and allocation sampling", "[alloc_counters]") {
  tricolor::Config c = tctest::test_config();
  c.alloc_sites = 1;  // every allocation takes the slow path and the window waits in pending
  tctest::TestHeap h(c);
  const Counts before = now();
  for (int i = 0; i < 1000; ++i) {
    make<Node>(std::uint64_t(i));
    if (i % 100 == 0) {
      BlockingScope parked;  // moves the window's free slots to pending and back
    }
  }
  const Counts after = now();
  REQUIRE(after.objects - before.objects == 1000);
  REQUIRE(after.bytes - before.bytes == 1000 * slot_of(sizeof(Node)));
}

TEST_CASE("Stats totals equal the threads' exact counts once their caches are given back", "[alloc_counters]") {
  tricolor::Config c = tctest::test_config();
  Heap heap(c);  // this thread does not attach: every allocating thread detaches before we read
  std::uint64_t objects[2] = {}, bytes[2] = {}, at_attach[2] = {1, 1};
  auto work = [&](int k) {  // no REQUIRE here: Catch's assertions are for the main thread
    Mutator m(heap, "allocator");
    at_attach[k] = allocated_objects();
    for (int i = 0; i < 20000 * (k + 1); ++i) {
      make<Node>(std::uint64_t(i));
      if (i % 97 == 0) make_buffer(std::size_t(i % 5000));
    }
    objects[k] = allocated_objects();
    bytes[k] = allocated_bytes();
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  REQUIRE(at_attach[0] == 0);
  REQUIRE(at_attach[1] == 0);
  const Stats s = heap.stats();
  REQUIRE(s.allocated_objects == objects[0] + objects[1]);
  REQUIRE(s.allocated_bytes == bytes[0] + bytes[1]);
}
