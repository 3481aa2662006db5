// include/tricolor/leak_check_gtest.hpp against the installed GoogleTest: a clean scope passes, a
// leak fails EXPECT and ASSERT with the report as the message, and a LeakReport prints as its report.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <string>

#include <tricolor/leak_check_gtest.hpp>
#include <tricolor/tricolor.hpp>

namespace gtl {
struct Pair : tricolor::Object<Pair> {
  tricolor::Member<Pair> next;
  void trace(tricolor::Tracer& t) const { t.trace(next, "next"); }
};
}  // namespace gtl

namespace {

// EXPECT_(NON)FATAL_FAILURE's statement cannot name the test's local variables.
tricolor::LeakCheck* g_scope = nullptr;

TEST(LeakCheckGtest, AScopeThatLeavesNothingPasses) {
  tricolor::Heap heap;
  tricolor::Mutator self(heap, "main");
  tricolor::LeakCheck scope(heap);
  {
    tricolor::Root<gtl::Pair> tmp(tricolor::make<gtl::Pair>(), "tmp");
    tmp->next = tricolor::make<gtl::Pair>();
  }
  TRICOLOR_EXPECT_NO_LEAKS(scope);
  TRICOLOR_ASSERT_NO_LEAKS(scope);
}

TEST(LeakCheckGtest, ALeakFailsWithTheReport) {
  tricolor::Heap heap;
  tricolor::Mutator self(heap, "main");
  tricolor::Global<gtl::Pair> kept(heap, nullptr, "kept");
  tricolor::LeakCheck scope(heap);
  kept = tricolor::make<gtl::Pair>();
  g_scope = &scope;
  EXPECT_NONFATAL_FAILURE(TRICOLOR_EXPECT_NO_LEAKS(*g_scope), "Global \"kept\" -> gtl::Pair");
  EXPECT_FATAL_FAILURE(TRICOLOR_ASSERT_NO_LEAKS(*g_scope), "the scope left objects reachable");
  const std::string printed = ::testing::PrintToString(scope.check());
  EXPECT_NE(printed.find("1 object"), std::string::npos) << printed;
  g_scope = nullptr;
  kept = nullptr;
}

}  // namespace
