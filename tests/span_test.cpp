// The span (gc/span.hpp): in every size class the slots tile the span and the bitmaps' valid masks
// cover exactly nslots bits; slot_index() inverts payload() for every byte of every slot;
// allocated_count() and the bit accessors agree with a plain model under random operations;
// bitmaps_in_range() rejects any bit past the last slot in either bitmap; mark_atomic() lets exactly
// one caller, of any number racing, move a slot from white to grey; SpanList keeps its order, size,
// links and each span's owner_list in step with a model, a span in at most one list.
#include "gc/span.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include "span_fixture.hpp"

using namespace tricolor::internal;

namespace {

std::size_t scan_class(std::size_t cls) { return span_class(cls, SpanKind::kScan); }

std::size_t popcount_marks(const Span& s) {
  std::size_t n = 0;
  // relaxed: this thread owns the span.
  for (const auto& w : s.mark_bits)
    n += static_cast<std::size_t>(__builtin_popcountll(w.load(std::memory_order_relaxed)));
  return n;
}

void clear_marks(Span& s) {
  for (auto& w : s.mark_bits) w.store(0, std::memory_order_relaxed);  // relaxed: this thread owns the span
}

// A large-object span the way the page heap makes one (PageHeap::init_span): one slot of the whole span.
tctest::OwnedSpan make_large_span(std::uint32_t npages) {
  tctest::OwnedSpan o;
  o.memory = std::make_unique<char[]>(std::size_t{npages} * kPageSize);
  o.span = std::make_unique<Span>();
  Span& s = *o.span;
  s.start = reinterpret_cast<std::uintptr_t>(o.memory.get());
  s.npages = npages;
  s.span_class = kLargeSpanClass;
  s.state = SpanState::kInUse;
  s.nslots = 1;
  s.elem_size = static_cast<std::uint32_t>(s.bytes());
  s.reciprocal = 0;
  return o;
}

}  // namespace

TEST_CASE("span: in every size class the slots tile the span and the valid masks cover exactly nslots bits", "[span]") {
  for (std::size_t cls = 0; cls < kNumClasses; ++cls) {
    INFO("class " << cls << " (" << class_size(cls) << " B)");
    auto o = tctest::make_test_span(scan_class(cls));
    const Span& s = *o.span;
    REQUIRE(s.nslots >= 1);
    REQUIRE(s.nslots <= kMaxSlotsPerSpan);
    CHECK(s.elem_size == class_size(cls));
    CHECK(s.bytes() == std::size_t{s.npages} * kPageSize);
    CHECK(s.end() == s.start + s.bytes());
    CHECK(s.nwords() == (s.nslots + 63) / 64);
    REQUIRE(s.nwords() <= kBitmapWords);
    std::size_t covered = 0;
    for (std::size_t w = 0; w < s.nwords(); ++w) {
      const std::uint64_t m = s.valid_mask(w);
      CHECK(m != 0);
      CHECK((m & (m + 1)) == 0);  // the low bits only: slots w*64 .. w*64+popcount-1
      if (w + 1 < s.nwords()) CHECK(m == ~std::uint64_t{0});
      covered += static_cast<std::size_t>(__builtin_popcountll(m));
    }
    CHECK(covered == s.nslots);
    // Slots are elem_size apart from the start, and the last one ends inside the span.
    CHECK(reinterpret_cast<std::uintptr_t>(s.slot_address(0)) == s.start);
    CHECK(s.slot_address(s.nslots - 1) + s.elem_size <= reinterpret_cast<char*>(s.end()));
    CHECK(static_cast<char*>(s.payload(1 % s.nslots)) == s.slot_address(1 % s.nslots) + kHeaderSize);
  }
}

TEST_CASE("span: slot_index maps every byte of every slot's payload back to its slot, in every size class", "[span]") {
  for (std::size_t cls = 0; cls < kNumClasses; ++cls) {
    INFO("class " << cls << " (" << class_size(cls) << " B)");
    auto o = tctest::make_test_span(scan_class(cls));
    const Span& s = *o.span;
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < s.nslots; ++i) {
      CHECK(s.slot_index(s.payload(i)) == i);
      // Payloads sit kHeaderSize into their slot: the last byte of slot i's payload is the next slot's
      // header, still i (an interior pointer). Every address up to the span's end, not a sample: the
      // reciprocal is exact for every offset inside a span or it is wrong.
      const char* first = static_cast<const char*>(s.payload(i));
      const char* last = std::min(first + s.elem_size, reinterpret_cast<const char*>(s.end()));
      for (const char* p = first; p < last; ++p) wrong += s.slot_index(p) != i;
    }
    CHECK(wrong == 0);
  }
  SECTION("a large object's span has one slot, index 0 wherever the pointer falls in it") {
    auto o = make_large_span(7);
    const Span& s = *o.span;
    CHECK(s.nwords() == 1);
    CHECK(s.valid_mask(0) == 1);
    CHECK(s.slot_index(s.payload(0)) == 0);
    CHECK(s.slot_index(reinterpret_cast<const void*>(s.end() - 1)) == 0);
    CHECK(s.slot_index(reinterpret_cast<const void*>(s.start + s.bytes() / 2)) == 0);
  }
}

TEST_CASE("span: allocated_count counts the allocated slots, all of them when every slot is taken", "[span]") {
  for (std::size_t cls = 0; cls < kNumClasses; ++cls) {
    INFO("class " << cls << " (" << class_size(cls) << " B)");
    auto full = tctest::make_test_span(scan_class(cls), std::vector<std::uint64_t>(kBitmapWords, ~std::uint64_t{0}));
    const Span& s = *full.span;
    CHECK(s.allocated_count() == s.nslots);
    CHECK(s.bitmaps_in_range());  // the fixture, like a cache's write-back, keeps to the valid masks
    std::size_t allocated = 0;
    for (std::size_t i = 0; i < s.nslots; ++i) allocated += s.is_allocated(i);
    CHECK(allocated == s.nslots);
    auto empty = tctest::make_test_span(scan_class(cls));
    CHECK(empty.span->allocated_count() == 0);
    // One slot: the last (the word boundary arithmetic of the last, partial word).
    empty.span->alloc_bits[(s.nslots - 1) / 64] = std::uint64_t{1} << ((s.nslots - 1) % 64);
    CHECK(empty.span->allocated_count() == 1);
    CHECK(empty.span->is_allocated(s.nslots - 1));
  }
}

TEST_CASE("span: bitmaps_in_range rejects a bit past the last slot in either bitmap, and accepts any bit before it", "[span]") {
  for (std::size_t cls = 0; cls < kNumClasses; ++cls) {
    INFO("class " << cls << " (" << class_size(cls) << " B)");
    auto o = tctest::make_test_span(scan_class(cls));
    Span& s = *o.span;
    std::size_t wrong_alloc = 0, wrong_mark = 0;
    for (std::size_t j = 0; j < kMaxSlotsPerSpan; ++j) {
      const bool valid = j < s.nslots;
      const std::uint64_t bit = std::uint64_t{1} << (j % 64);
      s.alloc_bits[j / 64] = bit;
      wrong_alloc += s.bitmaps_in_range() != valid;
      s.alloc_bits[j / 64] = 0;
      s.mark_bits[j / 64].store(bit, std::memory_order_relaxed);  // relaxed: this thread owns the span
      wrong_mark += s.bitmaps_in_range() != valid;
      s.mark_bits[j / 64].store(0, std::memory_order_relaxed);
    }
    CHECK(wrong_alloc == 0);
    CHECK(wrong_mark == 0);
  }
}

TEST_CASE("span: mark_atomic turns each slot from white to grey exactly once and touches no other slot", "[span]") {
  const std::size_t cls = GENERATE(std::size_t{0}, size_to_class(100), size_to_class(3000), kNumClasses - 1);
  auto o = tctest::make_test_span(scan_class(cls));
  Span& s = *o.span;
  INFO("class " << cls << ", " << s.nslots << " slots");
  // Every other slot first, then the rest: a wrong word or bit index shows as a neighbour's mark.
  std::size_t marked = 0;
  for (std::size_t phase = 0; phase < 2; ++phase)
    for (std::size_t i = phase; i < s.nslots; i += 2) {
      REQUIRE_FALSE(s.is_marked(i));
      REQUIRE(s.mark_atomic(i));
      ++marked;
      REQUIRE(s.is_marked(i));
      REQUIRE(s.is_marked(i, std::memory_order_acquire));
      REQUIRE_FALSE(s.mark_atomic(i));  // already grey: the caller must not scan it again
      REQUIRE(popcount_marks(s) == marked);
    }
  CHECK(s.bitmaps_in_range());
  CHECK(s.allocated_count() == 0);  // marking never allocates
}

TEST_CASE("span: the bit accessors and counts agree with a plain model under random operations", "[span]") {
  // Seeded: a failure replays. Classes with a full 1024-slot bitmap, a partial last word, and one slot.
  const std::size_t cls = GENERATE(std::size_t{0}, size_to_class(200), size_to_class(1500), kNumClasses - 1);
  const std::uint64_t seed = 0x5eed0000 + cls;
  std::mt19937_64 rng(seed);
  auto o = tctest::make_test_span(scan_class(cls));
  Span& s = *o.span;
  INFO("class " << cls << ", " << s.nslots << " slots, seed " << seed);
  std::vector<bool> alloc(s.nslots), mark(s.nslots);
  std::size_t n_alloc = 0;
  auto compare_all = [&] {
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < s.nslots; ++i) wrong += (s.is_allocated(i) != alloc[i]) + (s.is_marked(i) != mark[i]);
    CHECK(wrong == 0);
  };
  for (int step = 0; step < 40000; ++step) {
    // A slot picked through an address inside its payload: slot_index is the collector's only way in.
    const std::size_t i = rng() % s.nslots;
    // Any byte from the payload up to the next payload is slot i's (within the span; the 8-byte class's
    // slots have no payload bytes at all).
    const std::size_t room =
        std::min<std::size_t>(s.elem_size, s.end() - reinterpret_cast<std::uintptr_t>(s.payload(i)));
    const std::size_t interior = rng() % std::max<std::size_t>(room, 1);
    REQUIRE(s.slot_index(static_cast<char*>(s.payload(i)) + interior) == i);
    const std::uint64_t bit = std::uint64_t{1} << (i % 64);
    switch (rng() % 8) {
      case 0: case 1: case 2:  // allocate (a cache's write-back sets bits)
        if (!alloc[i]) ++n_alloc;
        alloc[i] = true;
        s.alloc_bits[i / 64] |= bit;
        break;
      case 3: case 4:  // free (a sweep clears bits)
        if (alloc[i]) --n_alloc;
        alloc[i] = false;
        s.alloc_bits[i / 64] &= ~bit;
        break;
      case 5: case 6:  // mark: true only for the first
        REQUIRE(s.mark_atomic(i) == !mark[i]);
        mark[i] = true;
        break;
      default:
        if (rng() % 64 == 0) {  // the sweep's end: every mark gone
          clear_marks(s);
          std::fill(mark.begin(), mark.end(), false);
        }
        break;
    }
    REQUIRE(s.is_allocated(i) == alloc[i]);
    REQUIRE(s.is_marked(i) == mark[i]);
    REQUIRE(s.allocated_count() == n_alloc);
    REQUIRE(s.bitmaps_in_range());
    if (step % 4096 == 0) compare_all();
  }
  compare_all();
}

TEST_CASE("span: racing mark_atomic on the same slots, exactly one thread wins each slot", "[span][concurrency]") {
  constexpr int kThreads = 4;
  auto o = tctest::make_test_span(scan_class(0));  // 1024 slots: every bitmap word shared by all threads
  Span& s = *o.span;
  REQUIRE(s.nslots == kMaxSlotsPerSpan);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::vector<std::uint8_t>> wins(kThreads, std::vector<std::uint8_t>(s.nslots));
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        // Odd threads walk down, even ones up, each from its own offset: every slot is contended.
        for (std::size_t k = 0; k < s.nslots; ++k) {
          const std::size_t i = (t % 2 == 0 ? k : s.nslots - 1 - k) ^ static_cast<std::size_t>(t * 64);
          if (s.mark_atomic(i)) ++wins[t][i];
        }
      });
    for (auto& th : threads) th.join();
    std::size_t bad = 0;
    for (std::size_t i = 0; i < s.nslots; ++i) {
      int total = 0;
      for (int t = 0; t < kThreads; ++t) total += wins[t][i];
      bad += total != 1 || !s.is_marked(i);
    }
    REQUIRE(bad == 0);
    REQUIRE(popcount_marks(s) == s.nslots);
    clear_marks(s);
  }
}

namespace {

// Checks a SpanList against its model: the order from the head, both links, size, owner_list.
void check_list(const SpanList& l, const std::deque<Span*>& model) {
  REQUIRE(l.size() == model.size());
  REQUIRE(l.empty() == model.empty());
  REQUIRE(l.head() == (model.empty() ? nullptr : model.front()));
  const Span* prev = nullptr;
  const Span* s = l.head();
  for (Span* expected : model) {
    REQUIRE(s == expected);
    REQUIRE(s->prev == prev);
    REQUIRE(s->owner_list == &l);
    prev = s;
    s = s->next;
  }
  REQUIRE(s == nullptr);
}

}  // namespace

TEST_CASE("span list: push, pop and remove keep order, links, size and owner_list in step with a model", "[span]") {
  // Two lists and spans moving between them at random (seeded), as central lists move spans between
  // their partial, full and unswept lists: a span is in at most one list, and owner_list says which.
  constexpr std::size_t kSpans = 24;
  std::vector<Span> spans(kSpans);
  SpanList lists[2];
  std::deque<Span*> models[2];
  std::mt19937_64 rng(20261201);
  auto holder = [&](const Span* s) -> int {
    for (int l = 0; l < 2; ++l)
      if (std::find(models[l].begin(), models[l].end(), s) != models[l].end()) return l;
    return -1;
  };
  for (int step = 0; step < 20000; ++step) {
    const int l = static_cast<int>(rng() % 2);
    Span* s = &spans[rng() % kSpans];
    const int in = holder(s);
    switch (rng() % 3) {
      case 0:  // push, wherever the span is now (taken out of its list first)
        if (in >= 0) {
          lists[in].remove(s);
          models[in].erase(std::find(models[in].begin(), models[in].end(), s));
        }
        REQUIRE(s->owner_list == nullptr);
        lists[l].push(s);
        models[l].push_front(s);
        break;
      case 1: {  // pop
        Span* p = lists[l].pop();
        REQUIRE(p == (models[l].empty() ? nullptr : models[l].front()));
        if (p != nullptr) {
          models[l].pop_front();
          REQUIRE(p->owner_list == nullptr);
          REQUIRE(p->next == nullptr);
          REQUIRE(p->prev == nullptr);
        }
        break;
      }
      default:  // remove from wherever it is: head, middle or tail
        if (in < 0) break;
        lists[in].remove(s);
        models[in].erase(std::find(models[in].begin(), models[in].end(), s));
        REQUIRE(s->owner_list == nullptr);
        REQUIRE(s->next == nullptr);
        REQUIRE(s->prev == nullptr);
        break;
    }
    check_list(lists[0], models[0]);
    check_list(lists[1], models[1]);
    for (const Span& sp : spans)
      if (holder(&sp) < 0) REQUIRE(sp.owner_list == nullptr);
  }
}
