// include/tricolor/leak_check_catch2.hpp against Catch2 v3 (built only where v3 is installed; the
// v2 form is tests/leak_check_test.cpp's): a clean scope passes, and a leak's matcher fails with the
// report as its message.
#include <catch2/catch_test_macros.hpp>

#include <string>

#include <tricolor/leak_check_catch2.hpp>
#include <tricolor/tricolor.hpp>

static_assert(CATCH_VERSION_MAJOR >= 3, "this test is for Catch2 v3");

namespace c3 {
struct Pair : tricolor::Object<Pair> {
  tricolor::Member<Pair> next;
  void trace(tricolor::Tracer& t) const { t.trace(next, "next"); }
};
}  // namespace c3

TEST_CASE("Catch2 v3: a scope that leaves nothing passes") {
  tricolor::Heap heap;
  tricolor::Mutator self(heap, "main");
  tricolor::LeakCheck scope(heap);
  { tricolor::Root<c3::Pair> tmp(tricolor::make<c3::Pair>(), "tmp"); }
  TRICOLOR_REQUIRE_NO_LEAKS(scope);
}

TEST_CASE("Catch2 v3: a leak fails the matcher with the report") {
  tricolor::Heap heap;
  tricolor::Mutator self(heap, "main");
  tricolor::Global<c3::Pair> kept(heap, nullptr, "kept");
  tricolor::LeakCheck scope(heap);
  kept = tricolor::make<c3::Pair>();
  const tricolor::LeakReport r = scope.check();
  REQUIRE_FALSE(tricolor::NoLeaks().match(r));
  const std::string message = Catch::Detail::stringify(r);
  REQUIRE(message.find("Global \"kept\" -> c3::Pair") != std::string::npos);
  kept = nullptr;
}
