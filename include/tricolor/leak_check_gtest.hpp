// GoogleTest integration for tricolor::LeakCheck: a leak fails the assertion, and the message is the
// report (the types, the retention paths, the allocation sites).
//
//   #include <gtest/gtest.h>
//   #include <tricolor/leak_check_gtest.hpp>
//
//   tricolor::LeakCheck scope(heap);
//   ...
//   TRICOLOR_EXPECT_NO_LEAKS(scope);   // or TRICOLOR_ASSERT_NO_LEAKS(scope): ends the test on a leak
//   EXPECT_PRED_FORMAT1(tricolor::NoLeaksFormat, scope.check());   // the same, spelled out
//
// GoogleTest prints a LeakReport with its report (PrintTo), in any assertion. Like every assertion,
// use it on a thread of the test.
#pragma once
#include "tricolor/internal/api.hpp"
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "tricolor/leak_check.hpp"

namespace tricolor {

// Found by GoogleTest's printer through argument-dependent lookup.
inline void PrintTo(const LeakReport& r, std::ostream* os) { *os << "\n" << r.to_string(); }

// A predicate-formatter for EXPECT_PRED_FORMAT1 / ASSERT_PRED_FORMAT1.
inline ::testing::AssertionResult NoLeaksFormat(const char* expression, const LeakReport& r) {
  if (r.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << expression << " is not empty: the scope left objects reachable\n"
                                       << r.to_string();
}

}  // namespace tricolor

#define TRICOLOR_EXPECT_NO_LEAKS(scope) EXPECT_PRED_FORMAT1(::tricolor::NoLeaksFormat, (scope).check())
#define TRICOLOR_ASSERT_NO_LEAKS(scope) ASSERT_PRED_FORMAT1(::tricolor::NoLeaksFormat, (scope).check())
