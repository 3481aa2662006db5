// The verifier (gc/verifier.*) fires on a missed object: a test hook clears the mark bit of a reachable
// object after concurrent marking went quiet and before the termination stop (the state a collector bug
// that missed it would leave), and the verifier must abort naming the object and its path from a root.
// The same heap and the same hook without the unmarking pass verification: what fires is the missed
// object, not the hook.
#include "gc/verifier.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "death.hpp"
#include "gc/testing.hpp"
#include "test_heap.hpp"

using namespace tricolor;
using tctest::Node;

namespace {

struct HookContext {
  Heap* heap;
  const void* victim;  // null: the hook only counts
  int calls = 0;        // written on the controller thread, read after collect() returned
};

void unmark_victim(void* p) {
  auto* cx = static_cast<HookContext*>(p);
  ++cx->calls;
  if (cx->victim == nullptr) return;
  // Marking did reach it (else the death below would prove nothing about a *lost* mark). Not a Catch
  // assertion: this runs on the controller thread.
  if (!internal::is_marked_for_testing(*cx->heap, cx->victim)) {
    std::fputs("verifier_test: the victim was not marked before the hook unmarked it\n", stderr);
    std::_Exit(3);
  }
  internal::unmark_for_testing(*cx->heap, cx->victim);
}

tricolor::Config verifier_config() {
  Config c = tctest::test_config();
  c.verify = true;
  c.concurrent = true;  // the before-termination hook belongs to the concurrent cycle
  c.gc_percent = -1;    // only the test's collections
  c.periodic_gc_ms = 0;
  return c;
}

}  // namespace

TEST_CASE("verifier: passes when marking reached everything", "[verifier]") {
  tctest::TestHeap h(verifier_config());
  Root<Node> root(make<Node>(1));
  root->left = make<Node>(2);
  root->left->right = make<Node>(3);
  HookContext cx{&h.heap, nullptr};
  internal::set_before_termination_hook_for_testing(h.heap, unmark_victim, &cx);
  h.collect_now();
  internal::set_before_termination_hook_for_testing(h.heap, nullptr, nullptr);
  CHECK(cx.calls >= 1);  // the hook ran, in the window the death case uses
  CHECK(root->left->right->intact());
}

TEST_CASE("verifier: fires on a reachable object whose mark was lost", "[verifier]") {
  tctest::TestHeap h(verifier_config());
  Root<Node> root(make<Node>(1));
  root->left = make<Node>(2);
  root->left->right = make<Node>(3);
  Node* victim = nullptr;
  SECTION("an inner object") { victim = root->left; }
  SECTION("a leaf") { victim = root->left->right; }
  HookContext cx{&h.heap, victim};
  REQUIRE_DEATH("verifier: reachable object not marked after marking terminated", {
    internal::set_before_termination_hook_for_testing(h.heap, unmark_victim, &cx);
    h.collect_now();
  });
}

TEST_CASE("verifier: names the object and the path to it", "[verifier]") {
  tctest::TestHeap h(verifier_config());
  Root<Node> root(make<Node>(1));
  root->left = make<Node>(2);
  Node* victim = make<Node>(3);
  root->left->right = victim;
  HookContext cx{&h.heap, victim};
  // (Addresses differ in the re-executed child: its heap is reserved elsewhere.)
  REQUIRE_DEATH("object: tctest::Node at ", {
    internal::set_before_termination_hook_for_testing(h.heap, unmark_victim, &cx);
    h.collect_now();
  });
  REQUIRE_DEATH("\"test-main\" Root -> tctest::Node @", {
    internal::set_before_termination_hook_for_testing(h.heap, unmark_victim, &cx);
    h.collect_now();
  });
  REQUIRE_DEATH(".left -> tctest::Node @", {
    internal::set_before_termination_hook_for_testing(h.heap, unmark_victim, &cx);
    h.collect_now();
  });
  REQUIRE_DEATH(".right -> tctest::Node @", {
    internal::set_before_termination_hook_for_testing(h.heap, unmark_victim, &cx);
    h.collect_now();
  });
}
