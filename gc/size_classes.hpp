// Size classes: the compile-time tables live in include/tricolor/internal/size_classes.hpp (the
// allocation fast path needs them inline); this file states the relations the collector relies on.
#pragma once
#include "tricolor/internal/size_classes.hpp"

namespace tricolor::internal {

constexpr bool reciprocals_exact() {
  // slot_index() multiplies by a 32-bit reciprocal instead of dividing. It is exact when
  // offset * (reciprocal * size - 2^32) < 2^32 for every offset in a span; check the worst offset.
  for (std::size_t c = 0; c < kNumClasses; ++c) {
    const std::uint64_t span_bytes = std::uint64_t{kClasses.pages[c]} * kPageSize;
    const std::uint64_t err = kClasses.reciprocal[c] * kClasses.size[c] - (std::uint64_t{1} << 32);
    if (span_bytes * err >= (std::uint64_t{1} << 32)) return false;
  }
  return true;
}

constexpr bool waste_bounded() {
  // A request one byte past class c-1 lands in class c: at most 1/8 of the slot is waste for every
  // class of 128 B and up (below that, 8- and 16-byte alignment dominates).
  for (std::size_t c = 1; c < kNumClasses; ++c)
    if (kClasses.size[c] >= 128 && (kClasses.size[c] - kClasses.size[c - 1] - 1) * 8 > kClasses.size[c])
      return false;
  return true;
}

constexpr bool tails_bounded() {
  for (std::size_t c = 0; c < kNumClasses; ++c) {
    const std::size_t span = kClasses.pages[c] * kPageSize;
    if (span - kClasses.slots[c] * kClasses.size[c] > span / 8 && kClasses.slots[c] != kMaxSlotsPerSpan) return false;
  }
  return true;
}

static_assert(kNumClasses >= 60 && kNumClasses <= 80, "about 68 size classes, as in Go");
static_assert(kClasses.size[0] == 8 && kClasses.size[kNumClasses - 1] == kMaxSmallSize);
static_assert(reciprocals_exact(), "slot index by reciprocal multiplication must be exact");
static_assert(waste_bounded(), "internal waste above 12.5%");
static_assert(tails_bounded(), "span tail waste above 12.5%");
static_assert(kMaxSlotsPerSpan % 64 == 0);

inline constexpr std::size_t kBitmapWords = kMaxSlotsPerSpan / 64;

}  // namespace tricolor::internal
