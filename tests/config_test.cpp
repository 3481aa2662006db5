// Configuration: what the TRICOLOR_* variables accept (the refusals are death tests in
// misuse_test.cpp), the reservation failing as a catchable ReservationError, and which types
// Member<T> accepts at compile time (tests/compile_fail.py checks that the others do not compile).
#include "gc/heap_impl.hpp"
#include "test_heap.hpp"

#include <dirent.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <optional>
#include <string>

using namespace tricolor;

namespace {

constexpr std::size_t kKiB = 1024, kMiB = kKiB << 10, kGiB = kMiB << 10, kTiB = kGiB << 10;

std::size_t thread_count() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

std::size_t address_space_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;  // kB
  return 0;
}

}  // namespace

TEST_CASE("a reservation beyond the largest one throws ReservationError", "[config][reservation]") {
  const std::size_t threads = thread_count();
  for (const std::size_t reserve : {std::size_t{1} << 62, (std::size_t{1} << 44) + 1, SIZE_MAX}) {
    Config c = tctest::test_config();
    c.reserve = reserve;
    try {
      Heap heap(c);
      FAIL("a heap with Config::reserve = " << reserve << " was created");
    } catch (const std::bad_alloc& e) {  // a std::bad_alloc: code that handles memory exhaustion handles it
      REQUIRE(dynamic_cast<const ReservationError*>(&e) != nullptr);
      const std::string what = e.what();
      INFO(what);
      REQUIRE(what.find("Config::reserve = " + std::to_string(reserve) + " bytes") != std::string::npos);
      REQUIRE(what.find("lower Config::reserve (or TRICOLOR_RESERVE)") != std::string::npos);
    }
  }
  REQUIRE(thread_count() == threads);  // nothing started
}

TEST_CASE("a reservation the OS refuses throws ReservationError, and the process goes on", "[config][reservation]") {
  // An address-space limit a little above what the process maps now: small mappings still work,
  // a 64 GiB reservation does not.
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_AS, &saved) == 0);
  const std::size_t now = address_space_bytes();
  REQUIRE(now != 0);
  const rlim_t soft = now + 512 * kMiB;
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < soft) {
    WARN("not run: the hard RLIMIT_AS is too low to lower the soft one around this process");
    return;
  }
  const std::size_t threads = thread_count();
  std::string what;
  {
    rlimit lowered = saved;
    lowered.rlim_cur = soft;
    REQUIRE(setrlimit(RLIMIT_AS, &lowered) == 0);
    Config c = tctest::test_config();
    c.reserve = 64 * kGiB;
    try {
      Heap heap(c);
    } catch (const ReservationError& e) {
      what = e.what();
    }
    REQUIRE(setrlimit(RLIMIT_AS, &saved) == 0);
  }
  INFO(what);
  REQUIRE(what.find("cannot reserve") != std::string::npos);
  REQUIRE(what.find("lower Config::reserve (or TRICOLOR_RESERVE)") != std::string::npos);
  REQUIRE(thread_count() == threads);
  // The limit lifted, the same configuration works.
  tctest::TestHeap h;
  Root<tctest::Node> n(make<tctest::Node>(3));
  REQUIRE(n->intact());
}
