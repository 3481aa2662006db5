// tests/death.hpp itself: each REQUIRE_DEATH runs in a re-executed child, so a death test works while
// the parent has a live heap (background threads, a collection in flight), and every way a death case
// can go wrong (survived, hung, wrong message, another path when re-run) fails with a message that
// says which.
#include "death.hpp"

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>

#include "gc/testing.hpp"
#include "test_heap.hpp"

using namespace tricolor;
using Catch::Matchers::Contains;

namespace {

using tctest::Gate;

// An object whose trace() holds the collection that marks it until `release` opens, after telling
// `tracing` that it is being marked.
struct Blocker : Object<Blocker> {
  static inline Gate* tracing = nullptr;
  static inline Gate* release = nullptr;
  void trace(Tracer&) const {
    tracing->open();
    release->wait();
  }
};

}  // namespace

TEST_CASE("a death test runs while the parent's heap has a collection in flight", "[death]") {
  // With the old fork-based REQUIRE_DEATH this hung: the forked child had no controller or marker
  // threads, so its heap.collect() waited for ever for a cycle nobody ran.
  Gate tracing, release;
  Blocker::tracing = &tracing;
  Blocker::release = &release;
  Config config = tctest::test_config();
  config.periodic_gc_ms = 0;
  Heap heap(config);
  Global<Blocker> blocker(heap, nullptr, "blocker");
  {
    Mutator m(heap, "setup");
    blocker = make<Blocker>();
  }
  // A collection from another thread; a background thread marks the Global's Blocker and stops there.
  std::thread collector([&] { heap.collect(); });
  struct Finish {  // runs even if a REQUIRE below throws
    Gate& release;
    std::thread& collector;
    ~Finish() {
      release.open();
      collector.join();
    }
  } finish{release, collector};
  tracing.wait();

  REQUIRE_DEATH("a full collection finished in the child", {
    release.open();
    heap.collect();
    std::fprintf(stderr, "a full collection finished in the child (%llu cycles)\n",
                 static_cast<unsigned long long>(heap.stats().cycles));
    std::abort();
  });
  // And the parent's own collection is still fine once its gate opens.
  release.open();
  heap.collect();
  REQUIRE(heap.stats().cycles >= 2);
}

TEST_CASE("each REQUIRE_DEATH of a test case with sections runs its own body", "[death]") {
  tctest::TestHeap h;
  SECTION("first") { REQUIRE_DEATH("body one", { std::fputs("body one\n", stderr); std::abort(); }); }
  SECTION("second, with two") {
    REQUIRE_DEATH("body two", { std::fputs("body two\n", stderr); std::abort(); });
    REQUIRE_DEATH("body three", { std::fputs("body three\n", stderr); std::abort(); });
  }
  SECTION("third, in a loop") {
    for (int i = 0; i < 3; ++i) {
      const std::string text = "loop body " + std::to_string(i);
      REQUIRE_DEATH(text, { std::fprintf(stderr, "%s\n", text.c_str()); std::abort(); });
    }
  }
}

TEST_CASE("a test case named with [brackets], \"quotes\", commas, back\\slashes and * runs in the child",
          "[death]") {
  REQUIRE_DEATH("the escaped name selected this test case", {
    std::fputs("the escaped name selected this test case\n", stderr);
    std::abort();
  });
}

TEST_CASE("a death body that returns fails: the child survived", "[death]") {
  const tctest::DeathResult r = tctest::run_expecting_death("never printed", __FILE__, __LINE__, [] {});
  INFO(r.report);
  REQUIRE_FALSE(r.ok);
  REQUIRE(r.reached);
  REQUIRE_FALSE(r.hung);
  REQUIRE_THAT(r.report, Contains("the child survived"));
}

TEST_CASE("a death body that hangs is killed after the timeout, and the case says it hung", "[death]") {
  const tctest::DeathTimeout short_timeout(std::chrono::milliseconds(1000));
  const tctest::DeathResult r = tctest::run_expecting_death("never printed", __FILE__, __LINE__, [] {
    std::promise<void> never;
    never.get_future().wait();
  });
  INFO(r.report);
  REQUIRE_FALSE(r.ok);
  REQUIRE(r.hung);
  REQUIRE(WIFSIGNALED(r.wait_status));
  REQUIRE(WTERMSIG(r.wait_status) == SIGKILL);
  REQUIRE_THAT(r.report, Contains("hung: it did not end within 1000 ms, and was killed"));
}

TEST_CASE("a death body that aborts with another message fails and shows what it printed", "[death]") {
  const tctest::DeathResult r = tctest::run_expecting_death("the expected words", __FILE__, __LINE__, [] {
    std::fputs("something else entirely\n", stderr);
    std::abort();
  });
  INFO(r.report);
  REQUIRE_FALSE(r.ok);
  REQUIRE(r.died_by_abort);
  REQUIRE_THAT(r.report, Contains("does not contain \"the expected words\""));
  REQUIRE_THAT(r.report, Contains("something else entirely"));
}

TEST_CASE("a death body that exits instead of aborting fails", "[death]") {
  const tctest::DeathResult r = tctest::run_expecting_death("x", __FILE__, __LINE__, [] {
    std::fputs("x\n", stderr);
    std::_Exit(3);
  });
  INFO(r.report);
  REQUIRE_FALSE(r.ok);
  REQUIRE_THAT(r.report, Contains("exited with status 3, not by SIGABRT"));
}

TEST_CASE("a test case that does not reach its REQUIRE_DEATH when re-run is reported, not hung", "[death]") {
  if (tctest::in_death_child()) return;  // the re-run takes another path
  const tctest::DeathResult r = tctest::run_expecting_death("x", __FILE__, __LINE__, [] { std::abort(); });
  INFO(r.report);
  REQUIRE_FALSE(r.ok);
  REQUIRE_FALSE(r.reached);
  REQUIRE_THAT(r.report, Contains("never reached this REQUIRE_DEATH"));
}

// Issue 14: the verifier names the embedder's likely mistake. A VM stores a pointer into a black
// object with a plain store (no barrier) after removing it from the only other holder: the object is
// reachable at termination but was never shaded.
TEST_CASE("verifier: an unbarriered store is reported as a missing barrier, not as a collector bug", "[death]") {
  REQUIRE_DEATH("a store that skipped the write barrier", {
    std::atomic<int> stage{0};  // 1: the controller is stopped at kMark; 2: released
    Config c = tctest::test_config();
    c.concurrent = true;
    c.gc_percent = -1;
    c.on_event = [&](const Event& e) {
      if (e.phase != Phase::kMark || stage.load() != 0) return;
      stage.store(1);
      stage.notify_all();
      while (stage.load() != 2) stage.wait(1);
    };
    Heap heap(c);
    Mutator m(heap, "vm");
    Root<tctest::Node> x(make<tctest::Node>(1));
    x->left = make<tctest::Node>(2);
    internal::hold_markers_for_testing(heap, true);
    std::thread collector([&] { heap.collect(); });
    {
      BlockingScope blocked;
      for (int s; (s = stage.load()) == 0;) stage.wait(s);
    }
    Root<tctest::Node> y(make<tctest::Node>(3));  // black: allocated during marking
    tctest::Node* b = x->left;
    // The mistake: both stores bypass Member's barrier (as a VM's own word stores would).
    reinterpret_cast<std::atomic<tctest::Node*>*>(x->left.slot_for_tracing())->store(nullptr);
    reinterpret_cast<std::atomic<tctest::Node*>*>(y->left.slot_for_tracing())->store(b);
    stage.store(2);
    stage.notify_all();
    internal::hold_markers_for_testing(heap, false);
    BlockingScope blocked;
    collector.join();
  });
}
