// Catch2 integration for tricolor::LeakCheck, for Catch2 v2 and v3: a leak fails the assertion, and
// the message is the report (the types, the retention paths, the allocation sites).
//
//   #include <catch2/catch.hpp>                  // v2; for v3: <catch2/catch_test_macros.hpp>
//   #include <tricolor/leak_check_catch2.hpp>
//
//   tricolor::LeakCheck scope(heap);
//   ...
//   REQUIRE_THAT(scope.check(), tricolor::NoLeaks());     // or: TRICOLOR_REQUIRE_NO_LEAKS(scope);
//
// The version is the one the test already included (CATCH_VERSION_MAJOR); if none yet, v3's headers
// when they are on the include path, else v2's single header. Like every Catch2 assertion, use it on
// the test's main thread.
#pragma once
#include "tricolor/internal/api.hpp"

#if !defined(CATCH_VERSION_MAJOR)
#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_version_macros.hpp>
#elif __has_include(<catch2/catch.hpp>)
#include <catch2/catch.hpp>
#else
#error "tricolor/leak_check_catch2.hpp: Catch2 not found: install Catch2 v3 (catch2/catch_test_macros.hpp) or v2 (catch2/catch.hpp)"
#endif
#endif

#if CATCH_VERSION_MAJOR >= 3
#include <catch2/catch_test_macros.hpp>
#include <catch2/catch_tostring.hpp>
#include <catch2/matchers/catch_matchers.hpp>
#else
#include <catch2/catch.hpp>
#endif

#include <string>

#include "tricolor/leak_check.hpp"

namespace Catch {
template <>
struct StringMaker<tricolor::LeakReport> {
  static std::string convert(const tricolor::LeakReport& r) { return "\n" + r.to_string(); }
};
}  // namespace Catch

namespace tricolor {

namespace internal {
#if CATCH_VERSION_MAJOR >= 3
template <class T>
using CatchMatcherBase = Catch::Matchers::MatcherBase<T>;
#else
template <class T>
using CatchMatcherBase = Catch::MatcherBase<T>;
#endif
}  // namespace internal

class NoLeaksMatcher final : public internal::CatchMatcherBase<LeakReport> {
 public:
  bool match(const LeakReport& r) const override { return r.empty(); }
  std::string describe() const override { return "is empty: the scope left nothing reachable"; }
};

inline NoLeaksMatcher NoLeaks() { return {}; }

}  // namespace tricolor

#define TRICOLOR_REQUIRE_NO_LEAKS(scope) REQUIRE_THAT((scope).check(), ::tricolor::NoLeaks())
#define TRICOLOR_CHECK_NO_LEAKS(scope) CHECK_THAT((scope).check(), ::tricolor::NoLeaks())
