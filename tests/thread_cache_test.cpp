// The thread cache (gc/thread_cache.hpp): popping a window the way the inline fast path does hands
// out every free slot of an installed span exactly once and never an allocated one; release() leaves
// alloc_bits exact (allocated before | handed out), also with slots parked in pending_; allocate-black
// pre-marks exactly the free slots; two threads refilling their caches from one central list never
// hand out the same slot.
#include "gc/thread_cache.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "gc/central_list.hpp"
#include "span_fixture.hpp"

using namespace tricolor::internal;

namespace {

const std::size_t kSc = span_class(size_to_class(48), SpanKind::kScan);

// The inline fast path's pop (include/tricolor/internal/fast_path.hpp) with the cache's advance()
// standing in for the slow path's next window. Null when the span is exhausted (the caller must
// release it then: advance() is not called again on an exhausted span).
void* pop(ThreadCache& tc, CacheEntry& e, std::size_t sc) {
  if (e.free_mask == 0 && !tc.advance(e, sc)) return nullptr;
  const std::uint64_t m = e.free_mask;
  e.free_mask = m & (m - 1);
  return e.window + static_cast<std::size_t>(__builtin_ctzll(m)) * kClasses.size[class_of_span_class(sc)];
}

std::vector<std::uint64_t> random_bits(std::size_t words, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> v(words);
  for (auto& w : v) w = rng() & rng();  // about a quarter allocated
  v[1] = ~std::uint64_t{0};             // one word entirely allocated: advance() must skip it
  return v;
}

std::set<std::size_t> free_slots(const Span& s) {
  std::set<std::size_t> out;
  for (std::size_t i = 0; i < s.nslots; ++i)
    if (!s.is_allocated(i)) out.insert(i);
  return out;
}

}  // namespace

TEST_CASE("thread cache: an installed span hands out each free slot once, then reports exhaustion", "[thread_cache]") {
  auto o = tctest::make_test_span(kSc, random_bits(kBitmapWords, 1));
  Span& s = *o.span;
  const auto expected = free_slots(s);
  REQUIRE(!expected.empty());
  ThreadCache tc;
  CacheEntry e;
  tc.install(e, kSc, &s, /*allocate_black=*/false);
  CHECK(tc.span(kSc) == &s);
  std::set<std::size_t> got;
  while (void* p = pop(tc, e, kSc)) {
    const std::size_t i = s.slot_index(static_cast<char*>(p) + kHeaderSize);
    CHECK(static_cast<char*>(p) == s.slot_address(i));  // a slot start
    CHECK(got.insert(i).second);                        // never twice
  }
  CHECK(got == expected);  // every free slot, and no allocated one
  CHECK(tc.release(e, kSc) == &s);
  CHECK(tc.span(kSc) == nullptr);
  CHECK(e.free_mask == 0);
  CHECK(s.allocated_count() == s.nslots);  // exact: everything is handed out
}

TEST_CASE("thread cache: release() in mid-window writes back exactly what was handed out", "[thread_cache]") {
  const auto bits = random_bits(kBitmapWords, 2);
  auto o = tctest::make_test_span(kSc, bits);
  Span& s = *o.span;
  const auto before = free_slots(s);
  ThreadCache tc;
  CacheEntry cache[kNumSpanClasses];
  CacheEntry& e = cache[kSc];
  std::set<std::size_t> handed;
  const std::size_t take = GENERATE(1, 5, 70, 200);
  tc.install(e, kSc, &s, false);
  for (std::size_t k = 0; k < take; ++k) {
    void* p = pop(tc, e, kSc);
    if (p == nullptr) break;  // exhausted: the slow path releases the span now, and so do we
    handed.insert(s.slot_index(static_cast<char*>(p) + kHeaderSize));
  }
  SECTION("plain") {}
  SECTION("with the window parked (collector work): pending slots count as free") {
    tc.park_windows(cache);
    CHECK(e.free_mask == 0);
  }
  tc.release(e, kSc);
  for (std::size_t i = 0; i < s.nslots; ++i) {
    INFO("slot " << i);
    CHECK(s.is_allocated(i) == (before.count(i) == 0 || handed.count(i) == 1));
  }
  CHECK(tc.pending(kSc) == 0);
}

TEST_CASE("thread cache: park and unpark keep the window's slots", "[thread_cache]") {
  auto o = tctest::make_test_span(kSc, random_bits(kBitmapWords, 3));
  Span& s = *o.span;
  ThreadCache tc;
  CacheEntry cache[kNumSpanClasses];
  tc.install(cache[kSc], kSc, &s, false);
  const std::uint64_t window = cache[kSc].free_mask;
  tc.park_windows(cache);
  CHECK(cache[kSc].free_mask == 0);
  CHECK(tc.pending(kSc) == window);
  tc.unpark_windows(cache);
  CHECK(cache[kSc].free_mask == window);
  CHECK(tc.pending(kSc) == 0);
}

TEST_CASE("thread cache: allocate-black pre-marks exactly the free slots", "[thread_cache]") {
  auto o = tctest::make_test_span(kSc, random_bits(kBitmapWords, 4));
  Span& s = *o.span;
  const auto free = free_slots(s);
  ThreadCache tc;
  CacheEntry e;
  tc.install(e, kSc, &s, /*allocate_black=*/true);
  for (std::size_t i = 0; i < s.nslots; ++i) CHECK(s.is_marked(i) == (free.count(i) == 1));
  tc.release(e, kSc);
}

TEST_CASE("thread cache: two threads refilling from one central list never hand out the same slot", "[thread_cache][concurrency]") {
  CentralList central;
  constexpr std::uint32_t kGen = 2;
  constexpr std::size_t kSpans = 64;
  std::vector<tctest::OwnedSpan> spans;
  std::size_t free_total = 0;
  for (std::size_t i = 0; i < kSpans; ++i) {
    spans.push_back(tctest::make_test_span(kSc, random_bits(kBitmapWords, 10 + i)));
    free_total += spans.back().span->nslots - spans.back().span->allocated_count();
    central.push_swept(spans.back().span.get(), kGen, true);
  }
  // The slow path's refill loop (HeapImpl::allocate_small_slow): pop the window; when the span is
  // exhausted, give it back full and install the next partial one.
  auto mutator = [&](std::vector<void*>& got) {
    ThreadCache tc;
    CacheEntry e;
    for (;;) {
      if (void* p = pop(tc, e, kSc)) {
        got.push_back(p);
        continue;
      }
      if (Span* old = tc.release(e, kSc)) central.push_swept(old, kGen, old->allocated_count() < old->nslots);
      Span* next = central.pop_swept_partial(kGen);
      if (next == nullptr) return;
      tc.install(e, kSc, next, false);
    }
  };
  std::vector<void*> got[2];
  std::thread a(mutator, std::ref(got[0]));
  std::thread b(mutator, std::ref(got[1]));
  a.join();
  b.join();
  std::set<void*> all;
  for (auto& v : got)
    for (void* p : v) CHECK(all.insert(p).second);
  CHECK(all.size() == free_total);
  for (auto& o : spans) CHECK(o.span->allocated_count() == o.span->nslots);
}
