// The page heap's free-span index (gc/free_index.hpp) on its own, with span records that cover no
// memory (only npages and a distinct start matter to it): best fit across the per-length lists and
// the large set, the most recently freed span first within a length, the largest-first walk with
// spans moved out of the index while it walks, and a randomised check against a plain model.
#include "gc/free_index.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

using tricolor::internal::FreeIndex;
using tricolor::internal::Span;

namespace {

struct Records {
  std::vector<std::unique_ptr<Span>> all;
  Span* make(std::uint32_t npages) {
    all.push_back(std::make_unique<Span>());
    all.back()->npages = npages;
    all.back()->start = 0x100000 * all.size();
    return all.back().get();
  }
};

}  // namespace

TEST_CASE("best fit: the fewest pages at or above the request, lists and large set alike", "[free_index]") {
  Records r;
  FreeIndex idx;
  CHECK(idx.best_fit(1) == nullptr);
  Span* one = r.make(1);
  Span* three = r.make(3);
  Span* edge = r.make(FreeIndex::kListPages);
  Span* big = r.make(FreeIndex::kListPages + 1);
  Span* huge = r.make(4096);
  for (Span* s : {huge, three, big, one, edge}) idx.insert(s);
  CHECK(idx.size() == 5);
  CHECK(idx.best_fit(1) == one);
  CHECK(idx.best_fit(2) == three);
  CHECK(idx.best_fit(3) == three);
  CHECK(idx.best_fit(4) == edge);
  CHECK(idx.best_fit(64) == edge);   // across the bitmap's word boundary
  CHECK(idx.best_fit(65) == edge);
  CHECK(idx.best_fit(FreeIndex::kListPages) == edge);
  CHECK(idx.best_fit(FreeIndex::kListPages + 1) == big);
  CHECK(idx.best_fit(FreeIndex::kListPages + 2) == huge);
  CHECK(idx.best_fit(4097) == nullptr);
  idx.erase(three);
  CHECK(idx.best_fit(2) == edge);
  idx.erase(edge);
  CHECK(idx.best_fit(2) == big);  // from the lists to the large set
  idx.erase(big);
  idx.erase(huge);
  CHECK(idx.best_fit(2) == nullptr);
  CHECK(idx.best_fit(1) == one);
  idx.erase(one);
  CHECK(idx.empty());
}

TEST_CASE("within one length the span inserted last is taken first", "[free_index]") {
  Records r;
  FreeIndex idx;
  Span* a = r.make(2);
  Span* b = r.make(2);
  Span* c = r.make(2);
  idx.insert(a);
  idx.insert(b);
  idx.insert(c);
  CHECK(idx.best_fit(2) == c);
  idx.erase(c);
  CHECK(idx.best_fit(1) == b);
  idx.erase(a);  // from the middle or the end of a list
  CHECK(idx.best_fit(2) == b);
  idx.erase(b);
  CHECK(idx.best_fit(1) == nullptr);
}

TEST_CASE("the largest-first walk visits every span once, in order, and lets the visitor move it out",
          "[free_index]") {
  Records r;
  FreeIndex idx, other;
  std::vector<Span*> spans;
  for (std::uint32_t n : {1u, 5u, 5u, 200u, 64u, 65u, 1000u, 128u, 129u, 1u})
    spans.push_back(r.make(n)), idx.insert(spans.back());
  std::vector<std::uint32_t> seen;
  std::size_t moved = 0;
  idx.for_each_largest_first([&](Span* s) {
    seen.push_back(s->npages);
    if (seen.size() % 2 == 0) {  // every other span goes to the other index, as a release does
      idx.erase(s);
      other.insert(s);
      ++moved;
    }
    return true;
  });
  CHECK(seen == std::vector<std::uint32_t>{1000, 200, 129, 128, 65, 64, 5, 5, 1, 1});
  CHECK(idx.size() == spans.size() - moved);
  CHECK(other.size() == moved);
  // Stopping early: the visitor's false ends the walk at once.
  std::size_t visits = 0;
  idx.for_each_largest_first([&](Span*) { return ++visits < 2; });
  CHECK(visits == 2);
}

TEST_CASE("random inserts and erases agree with a plain model of best fit", "[free_index]") {
  std::mt19937 rng(12345);
  Records r;
  FreeIndex idx;
  std::vector<Span*> in;  // the model: every span in the index
  for (int step = 0; step < 20000; ++step) {
    const bool add = in.empty() || rng() % 3 != 0;
    if (add) {
      const std::uint32_t n = rng() % 8 == 0 ? 100 + rng() % 400 : 1 + rng() % 16;
      Span* s = r.make(n);
      idx.insert(s);
      in.push_back(s);
    } else {
      const std::size_t k = rng() % in.size();
      idx.erase(in[k]);
      in.erase(in.begin() + static_cast<std::ptrdiff_t>(k));
    }
    REQUIRE(idx.size() == in.size());
    const std::size_t want = 1 + rng() % 300;
    std::uint32_t best = UINT32_MAX;
    for (Span* s : in)
      if (s->npages >= want) best = std::min(best, s->npages);
    Span* got = idx.best_fit(want);
    if (best == UINT32_MAX) {
      REQUIRE(got == nullptr);
    } else {
      REQUIRE(got != nullptr);
      REQUIRE(got->npages == best);
      REQUIRE(std::find(in.begin(), in.end(), got) != in.end());
    }
  }
}
