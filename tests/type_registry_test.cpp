// The process-wide type table (gc/type_registry.*): ids are handed out consecutively and each entry
// keeps the trace, destroy and size it was registered with and a copy of its name; a C++ type
// registers once, under its demangled name, with thunks that call its trace() and destructor (or none
// where it has none); an object's header names its type; the buffer type is registered once; the
// table's limit and an unknown id stop with their messages. The table outlives every heap and is
// shared by every test in this process, so the tests count from registered_type_count() and do not
// fill it (the limit's test does so in its own death-test process).
#include "gc/type_registry.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <new>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "death.hpp"
#include "test_heap.hpp"

using namespace tricolor;
using namespace tricolor::internal;

namespace type_registry_test {

// Records every pointer visited, with its field name.
class RecordingTracer final : public Tracer {
 public:
  struct Edge {
    const void* obj;
    std::string field;
  };
  std::vector<Edge> edges;
  void visit(const void* obj, const char* field, std::size_t) override {
    edges.push_back({obj, field != nullptr ? field : ""});
  }
};

// A traced type with a destructor: its trace() emits a raw pointer, its destructor counts.
struct Traced : Object<Traced> {
  static inline int destroyed = 0;
  const void* raw = nullptr;
  ~Traced() { ++destroyed; }
  void trace(Tracer& t) const { t.trace(raw, "raw"); }
};

// Neither a trace() nor a destructor to call.
struct Plain {
  int a, b, c;
};

void trace_a(const void*, Tracer&) {}
void destroy_a(void*) {}

}  // namespace type_registry_test

using namespace type_registry_test;

TEST_CASE("type registry: dynamic types get consecutive ids and keep what they were registered with",
          "[type_registry]") {
  const std::uint32_t before = registered_type_count();
  char name[] = "dynamic-first";
  const std::uint32_t first = register_dynamic_type(name, &trace_a, &destroy_a, 24);
  const std::uint32_t second = register_dynamic_type("dynamic-second", nullptr, nullptr, 0);
  const std::uint32_t unnamed = register_dynamic_type(nullptr, nullptr, &destroy_a, 8);
  CHECK(first == before);
  CHECK(second == first + 1);
  CHECK(unnamed == second + 1);
  CHECK(registered_type_count() == before + 3);

  std::strcpy(name, "overwritten!!");  // the registry copied the name
  const TypeInfo& a = type_info(first);
  CHECK(std::string(a.name) == "dynamic-first");
  CHECK(a.name != name);
  CHECK(a.trace == &trace_a);
  CHECK(a.destroy == &destroy_a);
  CHECK(a.static_size == 24);
  const TypeInfo& b = type_info(second);
  CHECK(std::string(b.name) == "dynamic-second");
  CHECK(b.trace == nullptr);
  CHECK(b.destroy == nullptr);
  CHECK(b.static_size == 0);
  const TypeInfo& c = type_info(unnamed);
  CHECK(std::string(c.name) == "<unnamed>");
  CHECK(c.destroy == &destroy_a);
  CHECK(c.static_size == 8);
  CHECK(&type_info(first) == &a);  // entries never move
}

TEST_CASE("type registry: a C++ type registers once, demangled, with thunks for its trace and destructor",
          "[type_registry]") {
  const std::uint32_t id = type_id<Traced>();
  CHECK(type_id<Traced>() == id);
  const std::uint32_t count = registered_type_count();
  CHECK(id < count);
  CHECK(type_id<Traced>() == id);
  CHECK(registered_type_count() == count);  // not registered again

  const TypeInfo& ti = type_info(id);
  CHECK(std::string(ti.name) == "type_registry_test::Traced");
  CHECK(ti.static_size == sizeof(Traced));
  REQUIRE(ti.trace != nullptr);
  REQUIRE(ti.destroy != nullptr);

  alignas(Traced) unsigned char storage[sizeof(Traced)];
  auto* obj = new (storage) Traced;
  int pointee = 0;
  obj->raw = &pointee;
  RecordingTracer tracer;
  ti.trace(obj, tracer);
  REQUIRE(tracer.edges.size() == 1);
  CHECK(tracer.edges[0].obj == &pointee);
  CHECK(tracer.edges[0].field == "raw");
  const int destroyed = Traced::destroyed;
  ti.destroy(obj);
  CHECK(Traced::destroyed == destroyed + 1);

  const TypeInfo& plain = type_info(type_id<Plain>());
  CHECK(std::string(plain.name) == "type_registry_test::Plain");
  CHECK(plain.trace == nullptr);  // no trace(): pointer-free
  CHECK(plain.destroy == nullptr);  // trivially destructible
  CHECK(plain.static_size == sizeof(Plain));
  CHECK(type_id<Plain>() != id);
}

TEST_CASE("type registry: an object's header carries its type's id; buffers share one registered type",
          "[type_registry]") {
  tctest::TestHeap h;
  Root<tctest::Node> node(make<tctest::Node>(1));
  CHECK(header_of(node.get())->type_id == type_id<tctest::Node>());
  CHECK(std::string(type_name_of(node.get())) == "tctest::Node");
  CHECK(type_info(type_id<tctest::Node>()).trace != nullptr);

  const std::uint32_t buffer = buffer_type_id();
  const std::uint32_t count = registered_type_count();
  CHECK(buffer_type_id() == buffer);
  void* bytes = make_buffer(40);
  CHECK(header_of(bytes)->type_id == buffer);
  CHECK(std::string(type_name_of(bytes)) == "tricolor::Buffer");
  CHECK(type_info(buffer).trace == nullptr);
  CHECK(type_info(buffer).destroy == nullptr);
  CHECK(registered_type_count() == count);  // once per process
}

TEST_CASE("type registry: threads registering at once get distinct ids, each naming what it registered",
          "[type_registry]") {
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  const std::uint32_t before = registered_type_count();
  std::vector<std::vector<std::uint32_t>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([t, &ids] {
      const std::string name = "concurrent-" + std::to_string(t);
      for (int i = 0; i < kEach; ++i)
        ids[t].push_back(register_dynamic_type(name.c_str(), nullptr, nullptr, static_cast<std::size_t>(t)));
    });
  for (std::thread& t : threads) t.join();

  CHECK(registered_type_count() == before + kThreads * kEach);
  std::set<std::uint32_t> all;
  for (int t = 0; t < kThreads; ++t)
    for (std::uint32_t id : ids[t]) {
      all.insert(id);
      CHECK(type_info(id).name == "concurrent-" + std::to_string(t));
      CHECK(type_info(id).static_size == static_cast<std::size_t>(t));
    }
  REQUIRE(all.size() == kThreads * kEach);
  CHECK(*all.begin() == before);  // contiguous: the ids are exactly [before, before + n)
  CHECK(*all.rbegin() == before + kThreads * kEach - 1);
}

TEST_CASE("type registry: the table holds kMaxTypes types, and one more stops with the limit",
          "[type_registry][death]") {
  REQUIRE_DEATH("tricolor: more than " + std::to_string(kMaxTypes) + " object types registered", {
    std::uint32_t last = 0;
    while (registered_type_count() < kMaxTypes) last = register_dynamic_type("filler", nullptr, nullptr, 0);
    if (last != kMaxTypes - 1 || std::string(type_info(last).name) != "filler") std::_Exit(1);
    register_dynamic_type("one too many", nullptr, nullptr, 0);
  });
}

TEST_CASE("type registry: an id it never handed out is refused where debug checks are on",
          "[type_registry][death]") {
  if (!TC_DCHECK_IS_ON) {
    WARN("debug checks are off in this build: nothing to check");
    return;
  }
  REQUIRE_DEATH("tricolor: object header with unknown type id", { (void)type_info(registered_type_count()); });
}
