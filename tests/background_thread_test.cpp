// The collector's own threads (gc/background_thread.hpp): each is named after its role as soon as
// it exists, and the markers run as SCHED_BATCH while the controller keeps the default policy.
#include "gc/background_thread.hpp"

#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "proc_tasks.hpp"
#include "test_heap.hpp"

using tctest::count_named;
using tctest::tasks;

TEST_CASE("a heap's collector threads carry their role's name from the moment the heap exists") {
  tricolor::Config c = tctest::test_config();
  c.marker_threads = 3;
  c.background_sweeper = true;
  REQUIRE(count_named(tasks(), "tc-collector") == 0);
  {
    tricolor::Heap heap(c);
    const auto ts = tasks();
    CHECK(count_named(ts, "tc-collector") == 1);
    CHECK(count_named(ts, "tc-sweeper") == 1);
    for (const char* m : {"tc-marker-0", "tc-marker-1", "tc-marker-2"}) CHECK(count_named(ts, m) == 1);
    CHECK(count_named(ts, "tc-marker-3") == 0);
  }
  // (Not checked: that they are gone once the heap is. The kernel may list a joined thread in
  // /proc/self/task for a moment after pthread_join returns.)
}

// Marker threads must not preempt the mutator that wakes them, and the controller must (it runs the
// handshakes): gc/background_thread.hpp. After a collection every marker has run its cycle, and so
// has set its policy.
TEST_CASE("markers run as SCHED_BATCH, the controller with the default policy") {
  tricolor::Config c = tctest::test_config();
  c.marker_threads = 3;
  tricolor::Heap heap(c);
  tricolor::Mutator m(heap);
  heap.collect();
  int markers = 0;
  for (const tctest::Task& t : tasks()) {
    if (t.name.rfind("tc-marker-", 0) == 0) {
      CHECK(t.policy == SCHED_BATCH);
      ++markers;
    }
    if (t.name == "tc-collector") CHECK(t.policy == SCHED_OTHER);
  }
  // At least: an earlier test's joined markers may still be listed for a moment (see above).
  CHECK(markers >= 3);
}

TEST_CASE("name_thread numbers the thread and cuts a long name at Linux's 15 characters") {
  std::atomic<bool> release{false};
  std::atomic<long> tid{0};
  std::thread t([&] {
    tid.store(syscall(SYS_gettid));
    tid.notify_one();
    release.wait(false);
  });
  tid.wait(0);
  auto name_of_t = [&] {
    for (const tctest::Task& task : tasks())
      if (task.tid == tid.load()) return task.name;
    return std::string("(not listed)");
  };
  tricolor::internal::name_thread(t, "tc-role", 7);
  CHECK(name_of_t() == "tc-role-7");
  tricolor::internal::name_thread(t, "tc-a-very-long-role-name", 7);
  CHECK(name_of_t() == "tc-a-very-long-");
  release.store(true);
  release.notify_one();
  t.join();
}
