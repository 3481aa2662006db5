// The central list (gc/central_list.hpp): every span pushed comes out exactly once, from the list its
// state and the sweep generation say; the swept/unswept flip is a generation step, not a walk; two
// threads refilling from one list never get the same span.
#include "gc/central_list.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <set>
#include <thread>
#include <vector>

#include "span_fixture.hpp"

using namespace tricolor::internal;

namespace {

constexpr std::uint32_t kGen = 4;  // a sweep generation (rises by 2 per cycle)
const std::size_t kSc = span_class(size_to_class(64), SpanKind::kScan);

std::vector<tctest::OwnedSpan> make_spans(std::size_t n) {
  std::vector<tctest::OwnedSpan> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(tctest::make_test_span(kSc));
  return v;
}

std::set<Span*> listed(CentralList& c) {
  std::set<Span*> out;
  c.for_each_span([&](Span* s) { CHECK(out.insert(s).second); });  // in at most one list
  return out;
}

}  // namespace

TEST_CASE("central list: a swept partial span is handed out once; full ones are not handed out for allocation", "[central_list]") {
  CentralList c;
  auto spans = make_spans(6);
  for (std::size_t i = 0; i < spans.size(); ++i) c.push_swept(spans[i].span.get(), kGen, /*has_free=*/i % 2 == 0);
  CHECK(listed(c).size() == spans.size());
  std::set<Span*> got;
  while (Span* s = c.pop_swept_partial(kGen)) CHECK(got.insert(s).second);
  CHECK(got.size() == 3);
  for (std::size_t i = 0; i < spans.size(); i += 2) CHECK(got.count(spans[i].span.get()) == 1);
  // Popped spans are in no list; the full ones still are.
  const auto left = listed(c);
  CHECK(left.size() == 3);
  for (Span* s : got) CHECK(left.count(s) == 0);
  // In this generation nothing is unswept.
  CHECK(c.pop_unswept(kGen) == nullptr);
}

TEST_CASE("central list: the next generation sees every span as unswept, partial ones first", "[central_list]") {
  CentralList c;
  auto spans = make_spans(8);
  std::set<Span*> partial, full;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    Span* s = spans[i].span.get();
    c.push_swept(s, kGen, i % 3 == 0);
    (i % 3 == 0 ? partial : full).insert(s);
  }
  const std::uint32_t next = kGen + 2;
  CHECK(c.pop_swept_partial(next) == nullptr);  // nothing is swept in the new generation yet
  std::vector<Span*> order;
  while (Span* s = c.pop_unswept(next)) order.push_back(s);
  REQUIRE(order.size() == spans.size());
  CHECK(std::set<Span*>(order.begin(), order.end()).size() == order.size());
  for (std::size_t i = 0; i < order.size(); ++i) CHECK((i < partial.size()) == (partial.count(order[i]) == 1));
  CHECK(listed(c).empty());
  // Swept in the new generation, they are partial/full again there, and unswept in the one after.
  for (Span* s : order) c.push_swept(s, next, partial.count(s) == 1);
  CHECK(c.pop_unswept(next) == nullptr);
  std::set<Span*> again;
  while (Span* s = c.pop_swept_partial(next)) again.insert(s);
  CHECK(again == partial);
}

TEST_CASE("central list: two threads refilling concurrently never share a span", "[central_list][concurrency]") {
  CentralList c;
  constexpr std::size_t kSpans = 2000;
  auto spans = make_spans(kSpans);
  for (auto& o : spans) c.push_swept(o.span.get(), kGen, true);
  // Each thread takes a span, "fills" it (no free slot left) and gives it back full, as a thread
  // cache's refill and release do, until no partial span is left.
  std::vector<Span*> taken[2];
  auto refill = [&](std::vector<Span*>& mine) {
    while (Span* s = c.pop_swept_partial(kGen)) {
      mine.push_back(s);
      c.push_swept(s, kGen, false);
    }
  };
  std::thread a(refill, std::ref(taken[0]));
  std::thread b(refill, std::ref(taken[1]));
  a.join();
  b.join();
  std::set<Span*> all;
  for (auto& v : taken)
    for (Span* s : v) CHECK(all.insert(s).second);  // no span went to both threads, nor twice to one
  CHECK(all.size() == kSpans);
  CHECK(listed(c).size() == kSpans);  // every span back, each in exactly one list
  CHECK(c.pop_swept_partial(kGen) == nullptr);
}
