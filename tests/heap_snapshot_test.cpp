// Heap snapshots: exact per-type counts and bytes after a collection, diffs, JSON; and counts that
// stay exact for one thread's types while another thread allocates.
#include "introspect/heap_snapshot.hpp"

#include <atomic>
#include <thread>

#include "test_heap.hpp"

using namespace tricolor;
using tctest::TestHeap;

namespace snaptest {

struct A : Object<A> {
  Member<A> next;
  std::uint64_t pad[3] = {};
  void trace(Tracer& t) const { t.trace(next, "next"); }
};
struct B : Object<B> {
  Member<B> next;
  void trace(Tracer& t) const { t.trace(next, "next"); }
};
struct Big : Object<Big> {
  char bytes[100000];
  void trace(Tracer&) const {}
};
struct Noise : Object<Noise> {
  Member<Noise> next;
  void trace(Tracer& t) const { t.trace(next, "next"); }
};

template <class T>
void push(Root<T>& list, int n) {
  for (int i = 0; i < n; ++i) {
    T* x = make<T>();
    x->next = list.get();
    list = x;
  }
}

template <class T>
constexpr std::size_t slot_bytes() {
  return internal::class_size(internal::size_to_class(sizeof(T) + internal::kHeaderSize));
}

}  // namespace snaptest

using namespace snaptest;

TEST_CASE("a snapshot counts every live object per type, exactly", "[snapshot]") {
  TestHeap h;
  Root<A> as(nullptr, "as");
  Root<B> bs(nullptr, "bs");
  push(as, 100);
  push(bs, 7);
  Root<Big> big(make<Big>());
  Root<char> buf(static_cast<char*>(make_buffer(40)));
  for (int i = 0; i < 5000; ++i) make<A>();  // garbage

  const HeapSnapshot s = h.heap.snapshot();
  INFO(s.to_string());
  REQUIRE(s.count("snaptest::A") == 100);
  REQUIRE(s.bytes_of("snaptest::A") == 100 * slot_bytes<A>());
  REQUIRE(s.count("snaptest::B") == 7);
  REQUIRE(s.bytes_of("snaptest::B") == 7 * slot_bytes<B>());
  REQUIRE(s.count("snaptest::Big") == 1);
  // A large object occupies whole pages.
  REQUIRE(s.bytes_of("snaptest::Big") % internal::kPageSize == 0);
  REQUIRE(s.bytes_of("snaptest::Big") >= sizeof(Big) + internal::kHeaderSize);
  REQUIRE(s.count("tricolor::Buffer") == 1);
  REQUIRE(s.objects == 109);
  REQUIRE(s.types.size() == 4);
  REQUIRE(s.types[0].type == "snaptest::Big");  // largest first
  std::size_t total = 0;
  for (const TypeCount& t : s.types) total += t.bytes;
  REQUIRE(s.bytes == total);
  REQUIRE(s.cycle == h.stats().cycles);
}

TEST_CASE("the difference of two snapshots", "[snapshot]") {
  TestHeap h;
  Root<A> as(nullptr, "as");
  Root<B> bs(nullptr, "bs");
  push(as, 10);
  push(bs, 7);
  const HeapSnapshot before = h.heap.snapshot();
  push(as, 5);
  bs = bs->next->next->next.get();  // drops 3
  const HeapSnapshot after = h.heap.snapshot();
  const SnapshotDiff d = diff(before, after);
  INFO(d.to_string());
  REQUIRE(d.count("snaptest::A") == 5);
  REQUIRE(d.count("snaptest::B") == -3);
  REQUIRE(d.objects == 2);
  REQUIRE(d.bytes == static_cast<std::int64_t>(5 * slot_bytes<A>()) - static_cast<std::int64_t>(3 * slot_bytes<B>()));
  REQUIRE(d.types.size() == 2);
  REQUIRE(diff(after, after).types.empty());
  REQUIRE(d.to_string().find("-3") != std::string::npos);
}

TEST_CASE("snapshots and diffs as JSON", "[snapshot]") {
  TestHeap h;
  Root<A> as(nullptr, "as");
  push(as, 3);
  const HeapSnapshot s = h.heap.snapshot();
  const std::string json = s.to_json();
  INFO(json);
  REQUIRE(json.find("\"objects\":3,") != std::string::npos);
  REQUIRE(json.find("{\"type\":\"snaptest::A\",\"count\":3,\"bytes\":" + std::to_string(3 * slot_bytes<A>()) + "}") !=
          std::string::npos);
  REQUIRE(json.front() == '{');
  REQUIRE(json.back() == '}');
  push(as, 1);
  const std::string dj = diff(s, h.heap.snapshot()).to_json();
  REQUIRE(dj.find("{\"type\":\"snaptest::A\",\"count\":1,") != std::string::npos);
  REQUIRE(internal::json_string("a\"b\\c\n") == "\"a\\\"b\\\\c\\n\"");
}

TEST_CASE("a diff's JSON has the cycle keys docs/leak_checking.md documents", "[snapshot]") {
  TestHeap h;
  Root<A> as(nullptr, "as");
  const HeapSnapshot before = h.heap.snapshot();
  push(as, 2);
  const HeapSnapshot after = h.heap.snapshot();
  REQUIRE(after.cycle > before.cycle);
  const SnapshotDiff d = diff(before, after);
  REQUIRE(d.cycle == after.cycle);
  REQUIRE(d.since_cycle == before.cycle);
  const std::string json = d.to_json();
  INFO(json);
  REQUIRE(json.rfind("{\"cycle\":" + std::to_string(after.cycle) + ",\"since_cycle\":" + std::to_string(before.cycle) +
                     ",\"objects\":2,",
                     0) == 0);
  REQUIRE(after.to_json().rfind("{\"cycle\":" + std::to_string(after.cycle) + ",", 0) == 0);
}

TEST_CASE("a snapshot taken while another thread allocates counts this thread's objects exactly", "[snapshot][threads]") {
  TestHeap h;
  std::atomic<bool> stop{false};
  std::atomic<long> made{0};
  std::thread noise([&] {
    Mutator m(h.heap, "noise");
    Root<Noise> keep(nullptr, "keep");
    for (long i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      Noise* n = make<Noise>();
      if (i % 16 == 0) {
        n->next = keep.get();
        keep = n;
      }
      if (i % 2048 == 0) keep = nullptr;
      made.fetch_add(1, std::memory_order_relaxed);
    }
  });
  {
    BlockingScope blocked;
    while (made.load(std::memory_order_relaxed) < 1000) std::this_thread::yield();
  }
  Root<A> as(nullptr, "as");
  for (int round = 1; round <= 3; ++round) {
    push(as, 50);
    const HeapSnapshot s = h.heap.snapshot();
    REQUIRE(s.count("snaptest::A") == static_cast<std::size_t>(50 * round));
  }
  stop = true;
  BlockingScope blocked;
  noise.join();
}
