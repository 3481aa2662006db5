// Catch2 (v2) integration for tricolor::LeakCheck: a leak fails the assertion, and the message is
// the report (the types, the retention paths, the allocation sites).
//
//   #include <catch2/catch.hpp>
//   #include <tricolor/leak_check_catch2.hpp>
//
//   tricolor::LeakCheck scope(heap);
//   ...
//   REQUIRE_THAT(scope.check(), tricolor::NoLeaks());     // or: TRICOLOR_REQUIRE_NO_LEAKS(scope);
//
// Like every Catch2 assertion, use it on the test's main thread.
#pragma once
#include "tricolor/internal/api.hpp"
#include <catch2/catch.hpp>

#include <string>

#include "tricolor/leak_check.hpp"

namespace Catch {
template <>
struct StringMaker<tricolor::LeakReport> {
  static std::string convert(const tricolor::LeakReport& r) { return "\n" + r.to_string(); }
};
}  // namespace Catch

namespace tricolor {

class NoLeaksMatcher final : public Catch::MatcherBase<LeakReport> {
 public:
  bool match(const LeakReport& r) const override { return r.empty(); }
  std::string describe() const override { return "is empty: the scope left nothing reachable"; }
};

inline NoLeaksMatcher NoLeaks() { return {}; }

}  // namespace tricolor

#define TRICOLOR_REQUIRE_NO_LEAKS(scope) REQUIRE_THAT((scope).check(), ::tricolor::NoLeaks())
#define TRICOLOR_CHECK_NO_LEAKS(scope) CHECK_THAT((scope).check(), ::tricolor::NoLeaks())
