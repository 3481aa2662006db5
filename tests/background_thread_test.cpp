// The collector's own threads (gc/background_thread.hpp): each is named after its role as soon as
// it exists, and the markers and the background sweeper run as SCHED_BATCH.
#include "gc/background_thread.hpp"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "test_heap.hpp"

namespace {

// Every thread of this process by name, with its kernel thread id (from /proc/self/task).
std::multimap<std::string, long> threads_by_name() {
  std::multimap<std::string, long> out;
  DIR* d = opendir("/proc/self/task");
  REQUIRE(d != nullptr);
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    out.emplace(name, std::stol(e->d_name));
  }
  closedir(d);
  return out;
}

}  // namespace

TEST_CASE("a heap's collector threads carry their role's name from the moment the heap exists") {
  tricolor::Config c = tctest::test_config();
  c.marker_threads = 3;
  c.background_sweeper = true;
  const auto before = threads_by_name();
  REQUIRE(before.count("tc-collector") == 0);
  {
    tricolor::Heap heap(c);
    const auto names = threads_by_name();
    CHECK(names.count("tc-collector") == 1);
    CHECK(names.count("tc-sweeper") == 1);
    for (const char* m : {"tc-marker-0", "tc-marker-1", "tc-marker-2"}) CHECK(names.count(m) == 1);
    CHECK(names.count("tc-marker-3") == 0);
  }
  // Gone with their heap.
  const auto after = threads_by_name();
  CHECK(after.count("tc-collector") == 0);
  CHECK(after.count("tc-marker-0") == 0);
}

TEST_CASE("name_thread cuts a long name at Linux's 15 characters and numbers the thread") {
  std::atomic<bool> named{false};
  std::atomic<long> tid{0};
  std::thread t([&] {
    tid.store(syscall(SYS_gettid));
    named.wait(false);
  });
  tricolor::internal::name_thread(t, "tc-a-very-long-role-name", 7);
  while (tid.load() == 0) std::this_thread::yield();
  const auto names = threads_by_name();
  bool found = false;
  for (const auto& [name, id] : names)
    if (id == tid.load()) {
      CHECK(name == "tc-a-very-long-");
      found = true;
    }
  CHECK(found);
  named.store(true);
  named.notify_one();
  t.join();
}

TEST_CASE("a background thread runs as SCHED_BATCH") {
  std::atomic<int> policy{-1};
  std::thread t([&] {
    tricolor::internal::become_background_thread();
    policy.store(sched_getscheduler(0));
  });
  t.join();
  CHECK(policy.load() == SCHED_BATCH);
}
