// The heap observer (gc/heap_observer.hpp), seen from a tool plugged into a heap the way
// introspect/heap_tools.cpp plugs in the real ones (HeapImpl's ObserverFactory): its interests are
// asked at construction and never again; with allocations asked, on_allocation sees every allocation
// once, in order, with the slot, size class bytes (whole pages for a large object) and span the
// object got; with deaths asked, on_dead shows every object a collection finds unreachable exactly
// once, before its destructor runs, and never a rooted one; every attaching thread is announced with
// its ordinal and its objects carry the epoch the observer returned; on_phase sees each cycle's
// phases in order, the same ones Config::on_event sees; and nothing gated by an interest arrives
// unasked.
#include "gc/heap_observer.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "gc/collector_work.hpp"
#include "gc/heap_impl.hpp"
#include "gc/thread_state.hpp"
#include "test_heap.hpp"

using namespace tricolor;
using internal::HeapImpl;
using internal::HeapObserver;
using internal::Span;
using internal::ThreadState;

namespace {

// Trivially destructible: its spans are swept by bitmap only, and it must be shown dead all the same.
struct Plain : Object<Plain> {
  std::uint64_t words[5] = {};
  void trace(Tracer&) const {}
};
static_assert(std::is_trivially_destructible_v<Plain>);

// With a destructor, which records that it ran: on_dead must see the object before it.
struct Tracked : Object<Tracked> {
  static constexpr std::uint64_t kAlive = 0xA11'7E00'0000'0001ull;
  static constexpr std::uint64_t kDestroyed = 0xDEAD'0000'0000'0002ull;
  static inline std::atomic<long> destroyed{0};
  ~Tracked() {
    state = kDestroyed;
    destroyed.fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t state = kAlive;
  void trace(Tracer&) const {}
};

// A large object (> 32 KiB: a span of its own) with a destructor.
struct Big : Object<Big> {
  static inline std::atomic<long> destroyed{0};
  ~Big() { destroyed.fetch_add(1, std::memory_order_relaxed); }
  char pad[40000] = {};
  void trace(Tracer&) const {}
};

using tctest::Keep;
using tctest::make_keep;

// The epoch the observer hands a thread: distinct per thread and never 0 (the default).
constexpr std::uint32_t kEpochBase = 0x5000;
std::uint32_t epoch_of(std::uint64_t ordinal) { return kEpochBase + static_cast<std::uint32_t>(ordinal); }

// What the observer saw. Owned by the test: it outlives the heap, which destroys its observer.
struct Log {
  std::mutex mu;
  std::condition_variable cv;
  int interests_asked = 0;
  struct Allocation {
    const Span* span;
    std::uint16_t span_class;
    const void* slot;
    std::size_t bytes;
    bool slot_in_span;
  };
  std::vector<Allocation> allocations;
  std::size_t death_calls = 0;
  std::vector<const void*> deaths;  // slot (header) addresses, one per dead object
  // Dead bits on slots the span does not hold as allocated, or holds as marked: both must stay 0.
  std::size_t dead_not_allocated = 0;
  std::size_t dead_marked = 0;
  std::size_t dead_already_destroyed = 0;  // Tracked objects shown after their destructor ran
  std::vector<std::uint64_t> attached;     // ordinals, in order
  std::vector<Phase> phases;               // from on_phase
  std::vector<Phase> events;               // from Config::on_event, for comparison
  std::uint32_t tracked_type = 0;          // type_id<Tracked>(), set before the heap exists
};

class RecordingObserver final : public HeapObserver {
 public:
  RecordingObserver(Log& log, Interests wants) : log_(log), wants_(wants) {}
  Interests interests() const override {
    std::lock_guard lock(log_.mu);
    ++log_.interests_asked;
    return wants_;
  }
  void on_allocation(internal::ThreadCache&, const Span* s, const void* slot, std::size_t bytes) override {
    const auto a = reinterpret_cast<std::uintptr_t>(slot);
    std::lock_guard lock(log_.mu);
    log_.allocations.push_back({s, s->span_class, slot, bytes, a >= s->start && a < s->end()});
  }
  // On the sweeping thread, before the sweep rewrites the word: the bitmaps are as marking left them.
  void on_dead(Span* s, std::size_t word, std::uint64_t dead) override {
    std::lock_guard lock(log_.mu);
    ++log_.death_calls;
    log_.dead_not_allocated += static_cast<std::size_t>(__builtin_popcountll(dead & ~s->alloc_bits[word]));
    // relaxed: marking is over; the sweeper reads these bits the same way.
    const std::uint64_t marked = s->mark_bits[word].load(std::memory_order_relaxed);
    log_.dead_marked += static_cast<std::size_t>(__builtin_popcountll(dead & marked));
    for (std::uint64_t m = dead; m != 0; m &= m - 1) {
      const std::size_t i = word * 64 + static_cast<std::size_t>(__builtin_ctzll(m));
      log_.deaths.push_back(s->slot_address(i));
      const void* payload = s->payload(i);
      if (internal::header_of(payload)->type_id == log_.tracked_type &&
          static_cast<const Tracked*>(payload)->state != Tracked::kAlive)
        ++log_.dead_already_destroyed;
    }
  }
  std::uint32_t on_thread_attached(std::uint64_t ordinal) override {
    std::lock_guard lock(log_.mu);
    log_.attached.push_back(ordinal);
    return epoch_of(ordinal);
  }
  void on_phase(Phase p) override {
    {
      std::lock_guard lock(log_.mu);
      log_.phases.push_back(p);
    }
    log_.cv.notify_all();
  }

 private:
  Log& log_;
  const Interests wants_;
};

Config observer_config() {
  Config c = tctest::test_config();
  c.gc_percent = -1;  // only the test's collections: the counts are exact between them
  c.periodic_gc_ms = 0;
  return c;
}

// A heap built with a RecordingObserver, and this thread attached to it (a tricolor::Mutator needs a
// tricolor::Heap, which always plugs in the real tools).
struct ObservedHeap {
  ObservedHeap(Log& log, HeapObserver::Interests wants, Config c = observer_config())
      : impl(internal::checked_config(with_events(log, c)),
             [&log, wants](HeapImpl&) { return std::make_unique<RecordingObserver>(log, wants); }),
        self(impl.attach("test-main")) {}
  ~ObservedHeap() { impl.detach(self); }
  ObservedHeap(const ObservedHeap&) = delete;
  ObservedHeap& operator=(const ObservedHeap&) = delete;

  // As Heap::collect() does for an attached caller: windows parked while it waits and sweeps.
  void collect() {
    internal::park_allocation(self);
    impl.collector.collect();
    internal::unpark_allocation(self);
  }

  static Config with_events(Log& log, Config c) {
    c.on_event = [&log](const Event& e) {
      {
        std::lock_guard lock(log.mu);
        log.events.push_back(e.phase);
      }
      log.cv.notify_all();
    };
    return c;
  }

  HeapImpl impl;
  ThreadState* self;
};

template <class T>
std::size_t small_slot_bytes() {
  return internal::class_size(internal::size_to_class(sizeof(T) + internal::kHeaderSize));
}
template <class T>
std::size_t small_span_class() {
  return internal::span_class(internal::size_to_class(sizeof(T) + internal::kHeaderSize), internal::span_kind_of<T>());
}
std::size_t large_slot_bytes(std::size_t payload) {
  return (payload + internal::kHeaderSize + internal::kPageSize - 1) / internal::kPageSize * internal::kPageSize;
}

const void* slot_of(const void* payload) { return static_cast<const char*>(payload) - internal::kHeaderSize; }

}  // namespace

TEST_CASE("heap observer: with allocations asked, each allocation is shown once, in order, with its slot, bytes and span", "[heap_observer]") {
  Log log;
  log.tracked_type = internal::type_id<Tracked>();
  ObservedHeap h(log, {.allocations = true, .deaths = false});
  int asked_at_construction = 0;
  {
    std::lock_guard lock(log.mu);
    asked_at_construction = log.interests_asked;
    REQUIRE(asked_at_construction == 1);  // once, at construction, and (below) never again
    REQUIRE(log.allocations.empty());
  }
  const std::uint32_t epoch = epoch_of(h.self->ordinal);
  struct Made {
    const void* payload;
    std::uint32_t type;
    std::size_t bytes;
    std::size_t span_class;
  };
  std::vector<Made> made;
  const long tracked_before = Tracked::destroyed.load();
  const long big_before = Big::destroyed.load();
  const std::uint64_t objects_before = allocated_objects();
  std::size_t n_tracked = 0, n_big = 0;
  for (int i = 0; i < 3000; ++i) {
    made.push_back({make<Plain>(), internal::type_id<Plain>(), small_slot_bytes<Plain>(), small_span_class<Plain>()});
    if (i % 3 == 0) {
      made.push_back(
          {make<Tracked>(), internal::type_id<Tracked>(), small_slot_bytes<Tracked>(), small_span_class<Tracked>()});
      ++n_tracked;
    }
    if (i % 500 == 0) {
      made.push_back({make<Big>(), internal::type_id<Big>(), large_slot_bytes(sizeof(Big)), internal::kLargeSpanClass});
      ++n_big;
    }
  }
  // The heap's own exact count for this thread agrees: every allocation, and no other.
  CHECK(allocated_objects() - objects_before == made.size());
  {
    std::lock_guard lock(log.mu);
    REQUIRE(log.phases.empty());  // no cycle ran: no slot was freed and handed out twice
    REQUIRE(log.allocations.size() == made.size());
    std::size_t wrong_slot = 0, wrong_bytes = 0, wrong_class = 0, outside = 0, wrong_header = 0;
    for (std::size_t k = 0; k < made.size(); ++k) {
      const Log::Allocation& a = log.allocations[k];
      const Made& m = made[k];
      wrong_slot += a.slot != slot_of(m.payload);
      wrong_bytes += a.bytes != m.bytes;
      wrong_class += a.span_class != m.span_class;
      outside += !a.slot_in_span || a.span->slot_address(a.span->slot_index(m.payload)) != a.slot;
      // The header was written after the call (small objects): the object is the one announced.
      const internal::ObjectHeader* header = internal::header_of(m.payload);
      wrong_header += header->type_id != m.type || header->epoch != epoch;
    }
    CHECK(wrong_slot == 0);
    CHECK(wrong_bytes == 0);
    CHECK(wrong_class == 0);
    CHECK(outside == 0);
    CHECK(wrong_header == 0);
    std::set<const void*> slots;
    for (const auto& a : log.allocations) slots.insert(a.slot);
    CHECK(slots.size() == made.size());
  }
  // Deaths were not asked: the collection frees everything and shows none of it.
  h.collect();
  CHECK(Tracked::destroyed.load() - tracked_before == static_cast<long>(n_tracked));
  CHECK(Big::destroyed.load() - big_before == static_cast<long>(n_big));
  std::lock_guard lock(log.mu);
  CHECK(log.death_calls == 0);
  CHECK(log.allocations.size() == made.size());  // the collector allocates nothing in the heap
  CHECK(log.interests_asked == asked_at_construction);
}

TEST_CASE("heap observer: with deaths asked, a collection shows each unreachable object once, before its destructor, and no rooted one", "[heap_observer]") {
  Log log;
  log.tracked_type = internal::type_id<Tracked>();
  ObservedHeap h(log, {.allocations = false, .deaths = true});
  constexpr std::size_t kN = 1500, kBig = 6;
  const long tracked_before = Tracked::destroyed.load();
  const long big_before = Big::destroyed.load();
  Root<Keep<Plain>> keep_plain(make_keep<Plain>(kN));
  Root<Keep<Tracked>> keep_tracked(make_keep<Tracked>(kN));
  Root<Keep<Big>> keep_big(make_keep<Big>(kBig));
  std::set<const void*> kept, dropped;
  const std::set<const void*> keeps{slot_of(keep_plain.get()), slot_of(keep_tracked.get()), slot_of(keep_big.get())};
  std::size_t plain_kept = 0, tracked_kept = 0, big_kept = 0;
  long tracked_dropped = 0, big_dropped = 0;
  // Every third object of each kind is kept (stored into a rooted array), the rest are garbage.
  for (std::size_t i = 0; i < kN; ++i) {
    Plain* p = make<Plain>();
    if (i % 3 == 0) {
      keep_plain->items[plain_kept++] = p;
      kept.insert(slot_of(p));
    } else {
      dropped.insert(slot_of(p));
    }
    Tracked* t = make<Tracked>();
    if (i % 3 == 1) {
      keep_tracked->items[tracked_kept++] = t;
      kept.insert(slot_of(t));
    } else {
      dropped.insert(slot_of(t));
      ++tracked_dropped;
    }
  }
  for (std::size_t i = 0; i < kBig; ++i) {
    Big* b = make<Big>();
    if (i % 3 == 0) {
      keep_big->items[big_kept++] = b;
      kept.insert(slot_of(b));
    } else {
      dropped.insert(slot_of(b));
      ++big_dropped;
    }
  }
  h.collect();  // returns with every span swept
  {
    std::lock_guard lock(log.mu);
    CHECK(log.allocations.empty());  // not asked
    CHECK(log.dead_not_allocated == 0);
    CHECK(log.dead_marked == 0);
    CHECK(log.dead_already_destroyed == 0);
    const std::set<const void*> shown(log.deaths.begin(), log.deaths.end());
    CHECK(shown.size() == log.deaths.size());  // each once
    CHECK(log.deaths.size() == dropped.size());
    CHECK(shown == dropped);
    std::size_t rooted_shown = 0;
    for (const void* s : kept) rooted_shown += shown.count(s);
    for (const void* s : keeps) rooted_shown += shown.count(s);
    CHECK(rooted_shown == 0);
  }
  CHECK(Tracked::destroyed.load() - tracked_before == tracked_dropped);
  CHECK(Big::destroyed.load() - big_before == big_dropped);

  // Roots gone: the rest die in the next collection, each shown once more, and only they.
  keep_plain = nullptr;
  keep_tracked = nullptr;
  keep_big = nullptr;
  h.collect();
  std::lock_guard lock(log.mu);
  CHECK(log.dead_not_allocated == 0);
  CHECK(log.dead_marked == 0);
  CHECK(log.dead_already_destroyed == 0);
  REQUIRE(log.deaths.size() >= dropped.size());
  const std::vector<const void*> second(log.deaths.begin() + static_cast<std::ptrdiff_t>(dropped.size()),
                                       log.deaths.end());
  std::set<const void*> expected = kept;
  expected.insert(keeps.begin(), keeps.end());
  CHECK(second.size() == expected.size());
  CHECK(std::set<const void*>(second.begin(), second.end()) == expected);
  CHECK(log.allocations.empty());
}

TEST_CASE("heap observer: every attaching thread is announced once, and its objects carry the epoch the observer returned", "[heap_observer][concurrency]") {
  Log log;
  ObservedHeap h(log, {});  // attaches are announced whatever the interests
  constexpr int kThreads = 4;
  struct Seen {
    std::uint64_t ordinal = 0;
    std::uint32_t epoch = 0;
  };
  std::vector<Seen> seen(kThreads);
  std::latch start(kThreads);
  {
    BlockingScope blocked;  // this thread waits for the others: collections must not wait for it
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i)
      threads.emplace_back([&, i] {
        start.arrive_and_wait();  // attach together: on_thread_attached runs under the registry's lock
        ThreadState* t = h.impl.attach("worker");
        seen[i] = {t->ordinal, internal::header_of(make<Plain>())->epoch};
        h.impl.detach(t);
      });
    for (auto& th : threads) th.join();
  }
  std::lock_guard lock(log.mu);
  REQUIRE(log.attached.size() == kThreads + 1);
  CHECK(log.attached.front() == h.self->ordinal);
  CHECK(std::set<std::uint64_t>(log.attached.begin(), log.attached.end()).size() == log.attached.size());
  for (const Seen& s : seen) {
    CHECK(std::count(log.attached.begin(), log.attached.end(), s.ordinal) == 1);
    CHECK(s.epoch == epoch_of(s.ordinal));
  }
  CHECK(log.allocations.empty());
  CHECK(log.death_calls == 0);
}

TEST_CASE("heap observer: each cycle's phases arrive in order, the same ones Config::on_event sees", "[heap_observer]") {
  const bool concurrent = GENERATE(true, false);
  INFO((concurrent ? "concurrent" : "stop-the-world") << " cycles");
  Log log;
  Config c = observer_config();
  c.concurrent = concurrent;
  ObservedHeap h(log, {}, c);
  constexpr int kCycles = 3;
  Root<Plain> live(make<Plain>(), "live");
  for (int i = 0; i < kCycles; ++i) {
    make<Tracked>();  // some garbage each time
    h.collect();
  }
  std::vector<Phase> phases, events;
  {
    // kSweep is announced after the cycle counts as complete, which is what collect() waits for.
    BlockingScope blocked;
    std::unique_lock lock(log.mu);
    // Both logs: on_event hears each phase just after the observer.
    log.cv.wait(lock, [&] {
      return std::count(log.phases.begin(), log.phases.end(), Phase::kSweep) == kCycles &&
             std::count(log.events.begin(), log.events.end(), Phase::kSweep) == kCycles;
    });
    phases = log.phases;
    events = log.events;
  }
  CHECK(phases == events);
  const std::vector<Phase> concurrent_cycle{Phase::kSweepTermination, Phase::kMarkStart, Phase::kRootScan,
                                            Phase::kMark, Phase::kMarkTermination, Phase::kSweep};
  // Stop-the-world: the roots are scanned inside the stop (no kRootScan phase), and termination is
  // announced there too.
  const std::vector<Phase> stopped_cycle{Phase::kSweepTermination, Phase::kMarkStart, Phase::kMark,
                                         Phase::kMarkTermination, Phase::kSweep};
  // Cycle by cycle: from kSweepTermination to kSweep, each phase later than the one before.
  std::vector<std::vector<Phase>> cycles;
  for (Phase p : phases) {
    if (p == Phase::kSweepTermination) cycles.emplace_back();
    REQUIRE(!cycles.empty());
    cycles.back().push_back(p);
  }
  REQUIRE(cycles.size() == kCycles);
  for (const auto& cycle : cycles) {
    CHECK(cycle.back() == Phase::kSweep);
    CHECK(std::adjacent_find(cycle.begin(), cycle.end(), std::greater_equal<Phase>()) == cycle.end());
    CHECK(std::count(cycle.begin(), cycle.end(), Phase::kMarkStart) == 1);
    CHECK(std::count(cycle.begin(), cycle.end(), Phase::kMark) == 1);
    // Every phase (no weak work here, so one ragged termination and no restart when concurrent).
    CHECK(cycle == (concurrent ? concurrent_cycle : stopped_cycle));
  }
  std::lock_guard lock(log.mu);
  CHECK(log.allocations.empty());
  CHECK(log.death_calls == 0);
}

TEST_CASE("heap observer: the interests decide exactly which of allocations and deaths arrive", "[heap_observer]") {
  const bool allocations = GENERATE(false, true);
  const bool deaths = GENERATE(false, true);
  INFO("allocations " << allocations << ", deaths " << deaths);
  Log log;
  log.tracked_type = internal::type_id<Tracked>();
  ObservedHeap h(log, {.allocations = allocations, .deaths = deaths});
  int asked_at_construction = 0;
  {
    std::lock_guard lock(log.mu);
    asked_at_construction = log.interests_asked;
  }
  REQUIRE(asked_at_construction == 1);
  constexpr std::size_t kN = 700;
  const long before = Tracked::destroyed.load();
  const std::uint64_t objects_before = allocated_objects();
  for (std::size_t i = 0; i < kN; ++i) {
    make<Plain>();
    make<Tracked>();
  }
  CHECK(allocated_objects() - objects_before == 2 * kN);  // the work happened either way
  h.collect();
  CHECK(Tracked::destroyed.load() - before == static_cast<long>(kN));
  std::lock_guard lock(log.mu);
  CHECK(log.interests_asked == asked_at_construction);  // never asked again: the answer is kept
  CHECK(log.allocations.size() == (allocations ? 2 * kN : 0));
  CHECK(log.deaths.size() == (deaths ? 2 * kN : 0));
  if (!deaths) CHECK(log.death_calls == 0);
  if (allocations && deaths) {
    // Everything shown dead was shown allocated.
    std::set<const void*> allocated;
    for (const auto& a : log.allocations) allocated.insert(a.slot);
    std::size_t unknown = 0;
    for (const void* s : log.deaths) unknown += allocated.count(s) == 0;
    CHECK(unknown == 0);
  }
}
