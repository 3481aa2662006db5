// The marker worklists (gc/mark_worklist.*) on their own, with integers standing in for objects:
// LIFO order and overflow, stealing from another marker's shelf (oldest first), sharing half a local
// segment, waking a sleeping marker, exact quiescence, and many threads pushing, popping and stealing
// at once with no item lost or duplicated.
#include "gc/mark_worklist.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

using namespace tricolor::internal;

namespace {

// Item k (k >= 0) as a fake object pointer: non-null and 8-byte aligned, never dereferenced.
const void* item(std::uint64_t k) { return reinterpret_cast<const void*>((k + 1) * 8); }
std::uint64_t id(const void* p) { return reinterpret_cast<std::uintptr_t>(p) / 8 - 1; }

}  // namespace

TEST_CASE("a local worklist is LIFO across segment overflow and refills from its own shelf", "[mark_worklist]") {
  MarkWorklist pool(1);
  LocalWorklist w(pool, 0);
  const std::uint64_t n = 3 * Segment::kCapacity + 7;  // three full segments go to the shelf
  for (std::uint64_t k = 0; k < n; ++k) w.push(item(k), static_cast<std::uint32_t>(k % 1000));
  REQUIRE(!pool.empty());
  for (std::uint64_t k = n; k-- > 0;) {
    const MarkItem it = w.pop();
    REQUIRE(it.obj == item(k));
    REQUIRE(it.bytes == k % 1000);  // the size rides with the object
  }
  REQUIRE(w.pop().obj == nullptr);
  REQUIRE(pool.empty());
}

TEST_CASE("a thief takes another marker's oldest segment, the owner its newest", "[mark_worklist]") {
  MarkWorklist pool(2);
  LocalWorklist owner(pool, 0);
  LocalWorklist thief(pool, 1);
  const std::uint64_t cap = Segment::kCapacity;
  for (std::uint64_t k = 0; k < 3 * cap; ++k) owner.push(item(k), 1);  // segments [0,cap) and [cap,2cap) on shelf 0
  // The thief's pop refills from shelf 0's oldest segment: the first items pushed (nearest the roots).
  const MarkItem stolen = thief.pop();
  REQUIRE(stolen.obj == item(cap - 1));
  REQUIRE(thief.local_size() == cap - 1);
  // The owner drains its local segment, then refills from its own newest: [cap, 2cap).
  for (std::uint64_t k = 3 * cap; k-- > 2 * cap;) REQUIRE(owner.pop().obj == item(k));
  REQUIRE(owner.pop().obj == item(2 * cap - 1));
  REQUIRE(pool.empty());
}

TEST_CASE("share_half publishes every other entry from the bottom, each side in its order", "[mark_worklist]") {
  // Odd and even counts: the thief gets entries 0, 2, 4, ... (the bottom one, the largest subgraph
  // of a depth-first scan, among them), the owner keeps 1, 3, 5, ...; nothing lost, nothing twice.
  for (std::uint64_t n : {2u, 3u, 10u, 11u}) {
    INFO("entries " << n);
    MarkWorklist pool(2);
    LocalWorklist a(pool, 0);
    LocalWorklist b(pool, 1);
    for (std::uint64_t k = 0; k < n; ++k) a.push(item(k), k + 1);
    a.share_half();
    REQUIRE(a.local_size() == n / 2);
    REQUIRE(!pool.empty());
    // The thief pops newest first: the largest even index down to 0, each with its own byte count.
    for (std::uint64_t k = (n - 1) / 2 * 2 + 2; k >= 2; k -= 2) {
      const MarkItem it = b.pop();
      REQUIRE(it.obj == item(k - 2));
      REQUIRE(it.bytes == k - 1);
    }
    REQUIRE(b.local_size() == 0);
    for (std::uint64_t k = n / 2 * 2; k >= 2; k -= 2) REQUIRE(a.pop_local() == item(k - 1));
    REQUIRE(a.pop().obj == nullptr);
    REQUIRE(pool.empty());
  }
}

TEST_CASE("quiescence is exact: idle team and nothing published, false as soon as work is published", "[mark_worklist]") {
  constexpr unsigned kTeam = 3;
  MarkWorklist pool(kTeam);
  std::atomic<std::uint64_t> scanned{0};
  std::vector<std::thread> team;
  for (unsigned i = 0; i < kTeam; ++i)
    team.emplace_back([&, i] {
      LocalWorklist w(pool, i);
      for (;;) {
        for (MarkItem it = w.pop(); it.obj != nullptr; it = w.pop()) scanned.fetch_add(1, std::memory_order_relaxed);
        Segment* s = pool.take_or_wait(i);
        if (s == nullptr) return;
        w.adopt(s);
      }
    });
  pool.wait_quiescent();
  REQUIRE(pool.quiescent());
  REQUIRE(pool.idle() == kTeam);
  for (int round = 1; round <= 50; ++round) {
    {
      LocalWorklist outside(pool);  // a mutator's barrier flush
      for (int k = 0; k < 3; ++k) outside.push(item(k), 1);
      outside.publish();
      // Published and not yet scanned: not quiescent. (A marker may already have taken and scanned
      // it; quiescent then, and everything counted.)
      if (pool.quiescent()) REQUIRE(scanned.load(std::memory_order_relaxed) == 3u * round);
    }
    pool.wait_quiescent();
    // Quiescent implies every published item was scanned (the marker counted before going idle).
    REQUIRE(scanned.load(std::memory_order_relaxed) == 3u * round);
  }
  pool.stop_waiting();
  for (auto& t : team) t.join();
}

TEST_CASE("a publication wakes a sleeping marker; stop_waiting releases it", "[mark_worklist]") {
  MarkWorklist pool(1);
  // Catch2 assertions stay on the main thread: the marker only records what it saw.
  std::atomic<const void*> got{nullptr};
  std::atomic<bool> released_empty{false};
  std::thread marker([&] {
    LocalWorklist w(pool, 0);
    if (Segment* s = pool.take_or_wait(0)) {
      w.adopt(s);
      got.store(w.pop().obj, std::memory_order_release);
    }
    released_empty.store(pool.take_or_wait(0) == nullptr);  // after stop_waiting()
  });
  pool.wait_quiescent();  // the marker is idle (and about to sleep, or asleep)
  LocalWorklist outside(pool);
  outside.push(item(42), 8);
  outside.publish();
  pool.wait_quiescent();  // it took the segment and is idle again
  REQUIRE(got.load(std::memory_order_acquire) == item(42));
  pool.stop_waiting();
  marker.join();
  REQUIRE(released_empty.load());
}

TEST_CASE("an idle marker looks for work only for a bounded time before it goes to sleep", "[mark_worklist]") {
  // The spin before the first sleep is bounded (MarkWorklist::kIdleSpinNs): with nothing published
  // the marker reaches its sleep (an unbounded spin hangs this test), and it still takes what is
  // published afterwards (the wake-up itself is the test above).
  MarkWorklist pool(1);
  std::atomic<const void*> got{nullptr};
  std::thread marker([&] {
    LocalWorklist w(pool, 0);
    if (Segment* s = pool.take_or_wait(0)) {
      w.adopt(s);
      got.store(w.pop().obj, std::memory_order_release);
    }
    (void)pool.take_or_wait(0);  // until stop_waiting()
  });
  while (pool.sleeps_for_testing() == 0) std::this_thread::yield();
  LocalWorklist outside(pool);
  outside.push(item(7), 8);
  outside.publish();
  while (got.load(std::memory_order_acquire) == nullptr) std::this_thread::yield();
  REQUIRE(got.load(std::memory_order_acquire) == item(7));
  pool.stop_waiting();
  marker.join();
}

TEST_CASE("a resting marker counts as idle, leaves publications to others, and stop_waiting ends its rest",
          "[mark_worklist]") {
  MarkWorklist pool(1);
  std::atomic<bool> released_empty{false};
  // An hour's rest: only stop_waiting() can end it within the test.
  std::thread marker([&] { released_empty.store(pool.take_or_wait(0, std::uint64_t{3600} * 1'000'000'000) == nullptr); });
  pool.wait_quiescent();  // resting is idle: quiescence does not wait for the rest to end
  LocalWorklist outside(pool);
  outside.push(item(7), 8);
  outside.publish();
  REQUIRE_FALSE(pool.quiescent());  // published work, and the resting marker does not take it ...
  LocalWorklist assist(pool);
  REQUIRE(assist.pop().obj == item(7));  // ... an assist does
  REQUIRE(pool.quiescent());
  pool.stop_waiting();
  marker.join();
  REQUIRE(released_empty.load());
}

// A binary tree of item ids (k's children are 2k+1 and 2k+2 below n) marked by a team of markers that
// share and steal, while outside threads publish more roots and an "assist" takes bounded slices from
// the pool and publishes its leftovers, as mutators do. Every id must be scanned exactly once, and
// quiescence, once the outside threads are done, must mean that all of them were.
TEST_CASE("markers push, pop, share and steal under contention without losing or duplicating work", "[mark_worklist]") {
  constexpr unsigned kTeam = 4;
  constexpr std::uint64_t kTreeNodes = 200'000;  // per tree
  constexpr unsigned kTrees = 8;                 // roots published from outside the team
  constexpr std::uint64_t kTotal = kTreeNodes * kTrees;
  MarkWorklist pool(kTeam);
  std::unique_ptr<std::atomic<std::uint8_t>[]> seen(new std::atomic<std::uint8_t>[kTotal]);
  for (std::uint64_t k = 0; k < kTotal; ++k) seen[k].store(0, std::memory_order_relaxed);
  std::atomic<std::uint64_t> scanned{0}, duplicates{0};
  std::atomic<std::uint64_t> per_thread[kTeam + 1];
  for (auto& c : per_thread) c.store(0);

  auto scan = [&](const void* p, LocalWorklist& w, unsigned who) {
    const std::uint64_t g = id(p);
    if (seen[g].fetch_add(1, std::memory_order_relaxed) != 0) duplicates.fetch_add(1, std::memory_order_relaxed);
    scanned.fetch_add(1, std::memory_order_relaxed);
    per_thread[who].fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t tree = g / kTreeNodes, k = g % kTreeNodes;
    for (std::uint64_t c = 2 * k + 1; c <= 2 * k + 2 && c < kTreeNodes; ++c) w.push(item(tree * kTreeNodes + c), 1);
  };

  std::vector<std::thread> team;
  for (unsigned i = 0; i < kTeam; ++i)
    team.emplace_back([&, i] {
      LocalWorklist w(pool, i);
      for (;;) {
        unsigned since_share = 0;
        for (MarkItem it = w.pop(); it.obj != nullptr; it = w.pop()) {
          scan(it.obj, w, i);
          if (++since_share == 16) {
            since_share = 0;
            if (w.local_size() >= 2 && pool.starving()) w.share_half();
          }
        }
        Segment* s = pool.take_or_wait(i);
        if (s == nullptr) return;
        w.adopt(s);
      }
    });

  std::thread publisher([&] {
    for (unsigned t = 0; t < kTrees; ++t) {
      LocalWorklist w(pool);
      w.push(item(std::uint64_t{t} * kTreeNodes), 1);
      w.publish();
    }
  });
  std::thread assist([&] {
    // Bounded slices, leftovers published (as Assists::pay does when the thread owes no more).
    for (int slice = 0; slice < 200; ++slice) {
      LocalWorklist w(pool);
      for (int k = 0; k < 64; ++k) {
        const MarkItem it = w.pop();
        if (it.obj == nullptr) break;
        scan(it.obj, w, kTeam);
      }
      w.publish();
    }
  });
  publisher.join();
  assist.join();

  // From here only the team holds work: quiescence must mean everything was scanned.
  pool.wait_quiescent();
  REQUIRE(scanned.load() == kTotal);
  REQUIRE(duplicates.load() == 0);
  for (std::uint64_t k = 0; k < kTotal; ++k) REQUIRE(seen[k].load(std::memory_order_relaxed) == 1);
  pool.stop_waiting();
  for (auto& t : team) t.join();
  std::uint64_t sum = 0;
  for (auto& c : per_thread) sum += c.load();
  REQUIRE(sum == kTotal);
}

TEST_CASE("quiescent() is never true while a marker still holds work", "[mark_worklist]") {
  // A monitor polls quiescent() while the team works through a chain (each item pushes the next, so
  // there is always exactly one grey item until the end): any true reading before the end is a bug.
  constexpr unsigned kTeam = 2;
  constexpr std::uint64_t kChain = 100'000;
  MarkWorklist pool(kTeam);
  std::atomic<std::uint64_t> scanned{0};
  std::vector<std::thread> team;
  for (unsigned i = 0; i < kTeam; ++i)
    team.emplace_back([&, i] {
      LocalWorklist w(pool, i);
      for (;;) {
        for (MarkItem it = w.pop(); it.obj != nullptr; it = w.pop()) {
          const std::uint64_t k = id(it.obj);
          scanned.fetch_add(1, std::memory_order_relaxed);
          if (k + 1 < kChain) w.push(item(k + 1), 1);
          // Hand the chain over now and then, so it moves between markers through the shelves.
          if (k % 97 == 0) w.publish();
        }
        Segment* s = pool.take_or_wait(i);
        if (s == nullptr) return;
        w.adopt(s);
      }
    });
  pool.wait_quiescent();  // both idle before the chain starts
  {
    LocalWorklist outside(pool);
    outside.push(item(0), 1);
    outside.publish();
  }
  std::uint64_t early = 0;
  for (;;) {
    if (pool.quiescent()) {
      if (scanned.load(std::memory_order_relaxed) != kChain) ++early;
      break;
    }
  }
  REQUIRE(early == 0);
  REQUIRE(scanned.load() == kChain);
  pool.stop_waiting();
  for (auto& t : team) t.join();
}
