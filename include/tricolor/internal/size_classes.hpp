// Size classes, computed at compile time (Go's mcache/mcentral model: every small object lives in a
// span that holds slots of one size). The sizes include the 8-byte object header.
//
// Rule: up to 32 B classes step by 8, up to 128 B by 16; above that each power-of-two octave
// [2^k, 2^(k+1)) is cut into 8 equal steps of 2^k/8. So a request that lands just above a class
// wastes at most 1/8 of its slot for every class >= 128 B (alignment forces more below that),
// and the classes from 8 B to 32 KiB number 74.
//
// Pages per span: the fewest 8 KiB pages whose tail (the bytes no slot fits in) is at most 1/8 of
// the span, then more, up to kSmallSpanPages (32 KiB), while the span still holds at most
// kMaxSlotsPerSpan slots (fixed-size bitmaps) and the tail stays within 1/8. A thread refills its
// cache once per span, and each refill takes the central list's lock and often the page heap's:
// with one-page spans the 24-byte class of binary-trees refilled every 341 objects, and those locks
// were the run's most contended (perf, futex calls by caller). 32 KiB spans, paired medians of 5 on
// the 2-core machine (tricolor-bench --no-probe --no-cpu-probe, against one-page spans): wall
// binary-trees 0.78x, gcbench-mt 0.72x, gcbench 0.73x, quad-tree 0.89x; peak RSS unchanged except
// gcbench-mt, 51 -> 64 MB. 64 KiB spans were no faster (0.96-1.0x of 32 KiB, same RSS). mimalloc's
// small pages are 64 KiB; Go's smallest spans are 8 KiB.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace tricolor::internal {

inline constexpr std::size_t kPageShift = 13;
inline constexpr std::size_t kPageSize = std::size_t{1} << kPageShift;
inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::size_t kMinAlignment = 8;
inline constexpr std::size_t kMaxSmallSize = 32 * 1024;
inline constexpr std::size_t kMaxSlotsPerSpan = 1024;
inline constexpr std::size_t kSmallSpanPages = 4;  // the most pages a small class's span grows to

static_assert(kPageSize % kMinAlignment == 0);
static_assert(kHeaderSize % kMinAlignment == 0);

constexpr std::size_t next_class_size(std::size_t s) {
  if (s < 32) return s + 8;
  if (s < 128) return s + 16;
  std::size_t octave = 128;
  while (octave * 2 <= s) octave *= 2;
  return s + octave / 8;
}

constexpr std::size_t count_classes() {
  std::size_t n = 0;
  for (std::size_t s = 8; s <= kMaxSmallSize; s = next_class_size(s)) ++n;
  return n;
}

inline constexpr std::size_t kNumClasses = count_classes();
// A span class is a size class plus what its objects need: "noscan" spans hold pointer-free objects
// that the marker never scans (it does not even read their headers, as in Go's spanClass), and
// "finalize" spans hold objects with C++ destructors, the only spans whose dead objects the sweeper
// must visit one by one. So neither check costs anything per allocation.
enum class SpanKind : std::size_t { kScan = 0, kNoScan = 1, kFinalize = 2 };
inline constexpr std::size_t kSpanKinds = 3;
inline constexpr std::size_t kNumSpanClasses = kNumClasses * kSpanKinds;

struct ClassTables {
  std::array<std::uint32_t, kNumClasses> size{};
  std::array<std::uint32_t, kNumClasses> pages{};
  std::array<std::uint32_t, kNumClasses> slots{};
  // slot index = (offset * reciprocal) >> 32, exact for every offset inside a span (see the
  // static_assert in gc/size_classes.hpp): no division on the marking path.
  std::array<std::uint64_t, kNumClasses> reciprocal{};
  std::array<std::uint8_t, kMaxSmallSize / 8 + 1> by_size8{};
};

constexpr ClassTables make_class_tables() {
  ClassTables t{};
  std::size_t c = 0;
  for (std::size_t s = 8; s <= kMaxSmallSize; s = next_class_size(s), ++c) {
    t.size[c] = static_cast<std::uint32_t>(s);
    std::size_t pages = 1;
    while (pages * kPageSize < s || (pages * kPageSize) % s > pages * kPageSize / 8) ++pages;
    while (pages < kSmallSpanPages && (pages + 1) * kPageSize / s <= kMaxSlotsPerSpan &&
           ((pages + 1) * kPageSize) % s <= (pages + 1) * kPageSize / 8)
      ++pages;
    t.pages[c] = static_cast<std::uint32_t>(pages);
    std::size_t slots = pages * kPageSize / s;
    if (slots > kMaxSlotsPerSpan) slots = kMaxSlotsPerSpan;
    t.slots[c] = static_cast<std::uint32_t>(slots);
    t.reciprocal[c] = ((std::uint64_t{1} << 32) + s - 1) / s;
  }
  std::size_t cls = 0;
  for (std::size_t i = 0; i < t.by_size8.size(); ++i) {
    while (t.size[cls] < i * 8) ++cls;
    t.by_size8[i] = static_cast<std::uint8_t>(cls);
  }
  return t;
}

inline constexpr ClassTables kClasses = make_class_tables();

// Size class for a request of `bytes` (header included); bytes must be in [1, kMaxSmallSize].
constexpr std::size_t size_to_class(std::size_t bytes) { return kClasses.by_size8[(bytes + 7) / 8]; }
constexpr std::size_t class_size(std::size_t cls) { return kClasses.size[cls]; }
constexpr std::size_t span_class(std::size_t cls, SpanKind kind) { return cls * kSpanKinds + std::size_t(kind); }
constexpr std::size_t class_of_span_class(std::size_t sc) { return sc / kSpanKinds; }
constexpr SpanKind span_class_kind(std::size_t sc) { return SpanKind(sc % kSpanKinds); }

}  // namespace tricolor::internal
