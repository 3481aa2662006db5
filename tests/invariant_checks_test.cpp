// The invariants written as checks (gc/span.hpp, gc/central_list.hpp, gc/thread_cache.hpp) run in the
// builds the tests run in, and fire on the misuse they describe. Each case builds the structures by
// hand (no heap), breaks one invariant, and expects the check's message.
#include "gc/central_list.hpp"
#include "gc/thread_cache.hpp"

#include "death.hpp"

using namespace tricolor::internal;

namespace {

constexpr std::size_t kSpanClass = 2;
constexpr std::uint32_t kSweepGen = 4;

// A 64-slot span of kSpanClass, swept in kSweepGen, every slot free. Only its metadata is used.
void make_span(Span& s) {
  s.start = 0x100000;
  s.npages = 1;
  s.span_class = kSpanClass;
  s.state = SpanState::kInUse;
  s.nslots = 64;
  s.elem_size = 16;
  s.sweep_gen.store(kSweepGen, std::memory_order_relaxed);
}

}  // namespace

TEST_CASE("a build with assertions runs the debug checks", "[invariants]") {
#ifdef NDEBUG
  WARN("release build: TC_DCHECK is compiled out by design");
#else
  // meson.build: debug_checks=auto turns TRICOLOR_DEBUG_CHECKS on in every debug* build type, which
  // are the builds without NDEBUG (b_ndebug=if-release), the sanitizer builds among them.
  REQUIRE(TC_DCHECK_IS_ON == 1);
#endif
}

TEST_CASE("a span in a central list and a span in a thread cache are kept apart", "[invariants][death]") {
  if (!TC_DCHECK_IS_ON) {
    WARN("debug checks are off in this build: nothing to check");
    return;
  }
  Span s;
  make_span(s);
  CentralList central;
  central.push_swept(&s, kSweepGen, true);
  REQUIRE(central.pop_swept_partial(kSweepGen) == &s);
  REQUIRE(s.owner_list == nullptr);

  SECTION("pushed twice") {
    central.push_swept(&s, kSweepGen, true);
    REQUIRE_DEATH("pushed onto a list while already in one", { central.push_swept(&s, kSweepGen, true); });
  }
  SECTION("installed in a cache while in a central list") {
    central.push_swept(&s, kSweepGen, true);
    ThreadCache cache;
    CacheEntry e;
    REQUIRE_DEATH("installed in a thread cache while in a central list", {
      cache.install(e, kSpanClass, &s, false);
    });
  }
  SECTION("removed from a list that does not hold it") {
    SpanList other;
    Span t;
    make_span(t);
    other.push(&t);
    central.push_swept(&s, kSweepGen, true);
    // s is in the central list, not in `other`: unlinking it there would corrupt both lists.
    REQUIRE_DEATH("removed from a list that does not hold it", { other.remove(&s); });
  }
  SECTION("removed twice") {
    SpanList list;
    list.push(&s);
    list.remove(&s);
    REQUIRE_DEATH("removed from a list that does not hold it", { list.remove(&s); });
  }
  SECTION("installed, released, pushed back: no check fires") {
    ThreadCache cache;
    CacheEntry e;
    cache.install(e, kSpanClass, &s, false);
    REQUIRE(e.free_mask == ~std::uint64_t{0});
    REQUIRE(pop_slot(e.free_mask, e.window, s.elem_size) == s.slot_address(0));
    REQUIRE(cache.release(e, kSpanClass) == &s);
    REQUIRE(s.allocated_count() == 1);
    central.push_swept(&s, kSweepGen, true);
    REQUIRE(central.pop_swept_partial(kSweepGen) == &s);
  }
}

TEST_CASE("a span's bitmaps hold no bit past its last slot", "[invariants][death]") {
  if (!TC_DCHECK_IS_ON) {
    WARN("debug checks are off in this build: nothing to check");
    return;
  }
  Span s;
  make_span(s);
  s.nslots = 40;
  REQUIRE(s.bitmaps_in_range());
  s.alloc_bits[0] = std::uint64_t{1} << 45;
  REQUIRE_FALSE(s.bitmaps_in_range());
  ThreadCache cache;
  CacheEntry e;
  REQUIRE_DEATH("installed with bits outside its slots", { cache.install(e, kSpanClass, &s, false); });
}
