// The weak registry (gc/weak_registry.*), alone: weak callbacks run once per call, oldest first, as
// collector work, and a removed one never again; ids are distinct; removing an unknown id stops with
// tricolor::remove_weak_callback's message; registered weak slot sets are swept with the liveness
// function given, an unregistered one is left alone. The sets belong to a heap that never collects (its
// own registry holds them too, untouched), and their entries are addresses of a local array.
#include "gc/weak_registry.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

#include "death.hpp"
#include "gc/collector_work.hpp"
#include "tricolor/tricolor.hpp"

using namespace tricolor;
using namespace tricolor::internal;

namespace {

// A callback's context: its tag, the log it appends to, and what collector work it ran as.
struct Tagged {
  int tag;
  std::vector<int>* log;
  const char* ran_as = nullptr;
};
void log_tag(void* ctx) {
  auto* t = static_cast<Tagged*>(ctx);
  t->log->push_back(t->tag);
  t->ran_as = tls_collector_work;
}

Config quiet_config() {
  Config c;
  c.gc_percent = -1;    // only explicit collections, and the test makes none
  c.periodic_gc_ms = 0;
  return c;
}

std::vector<const void*> drain(WeakSlotSet& s) {
  std::vector<const void*> v;
  while (const void* p = s.pop()) v.insert(v.begin(), p);  // pop takes the newest
  return v;
}

}  // namespace

TEST_CASE("weak registry: callbacks run oldest first, as collector work; a removed one does not run",
          "[weak_registry]") {
  WeakRegistry r;
  std::vector<int> log;
  Tagged a{1, &log}, b{2, &log}, c{3, &log};
  CHECK_FALSE(r.has_weak_callbacks());
  r.run_weak_callbacks();  // none: nothing to do
  const std::uint64_t ia = r.add_weak_callback(&log_tag, &a);
  const std::uint64_t ib = r.add_weak_callback(&log_tag, &b);
  const std::uint64_t ic = r.add_weak_callback(&log_tag, &c);
  CHECK(ia == 1);
  CHECK(ib == 2);
  CHECK(ic == 3);
  CHECK(r.has_weak_callbacks());

  r.run_weak_callbacks();
  CHECK(log == std::vector<int>{1, 2, 3});
  REQUIRE(a.ran_as != nullptr);
  CHECK(std::string_view(a.ran_as) == kInWeakCallback);  // the text: each file may have its own copy
  CHECK(tls_collector_work == nullptr);  // the scope ends with the run

  r.remove_weak_callback(ib);
  r.run_weak_callbacks();
  CHECK(log == std::vector<int>{1, 2, 3, 1, 3});

  // Ids are not reused: a callback added after a removal gets a new one, and runs last.
  Tagged d{4, &log};
  CHECK(r.add_weak_callback(&log_tag, &d) == 4);
  r.remove_weak_callback(ia);
  r.remove_weak_callback(ic);
  log.clear();
  r.run_weak_callbacks();
  CHECK(log == std::vector<int>{4});
  r.remove_weak_callback(4);
  CHECK_FALSE(r.has_weak_callbacks());
}

TEST_CASE("weak registry: removing an id it did not return, or twice, stops with the message", "[weak_registry]") {
  WeakRegistry r;
  std::vector<int> log;
  Tagged a{1, &log};
  REQUIRE_DEATH("tricolor::remove_weak_callback: 7 is not an id that add_weak_callback returned for this heap (or "
                "it was removed already)",
                { r.remove_weak_callback(7); });
  const std::uint64_t id = r.add_weak_callback(&log_tag, &a);
  r.remove_weak_callback(id);
  REQUIRE_DEATH("tricolor::remove_weak_callback: 1 is not an id", { r.remove_weak_callback(id); });
}

TEST_CASE("weak registry: registered sets are swept with the liveness given; an unregistered one is not",
          "[weak_registry]") {
  Heap heap(quiet_config());
  WeakSlotSet s1(heap), s2(heap);
  char obj[4];
  for (char& o : obj) {
    s1.push(&o);
    s2.push(&o);
  }
  WeakRegistry r;
  CHECK_FALSE(r.has_weak_sets());
  r.register_weak_set(&s1);
  r.register_weak_set(&s2);
  CHECK(r.has_weak_sets());

  r.sweep_weak_sets([&](const void* p) { return p != &obj[1] && p != &obj[2]; });
  CHECK(s1.size() == 2);
  CHECK(s2.size() == 2);

  r.unregister_weak_set(&s2);
  r.sweep_weak_sets([&](const void* p) { return p != &obj[0]; });
  CHECK(drain(s1) == std::vector<const void*>{&obj[3]});
  CHECK(drain(s2) == std::vector<const void*>{&obj[0], &obj[3]});  // order kept, nothing more dropped

  r.unregister_weak_set(&s1);
  CHECK_FALSE(r.has_weak_sets());
  r.sweep_weak_sets([](const void*) { return false; });  // no set: nothing to do
}
