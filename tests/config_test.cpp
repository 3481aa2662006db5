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

// Sets a variable for one scope, restoring what was there before.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~EnvVar() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

Config with_env(const char* name, const char* value) {
  EnvVar v(name, value);
  Config c;
  c.apply_env();
  return c;
}

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

TEST_CASE("byte counts take k/m/g/t suffixes and Go's KiB/MiB/GiB/TiB", "[config]") {
  struct Case {
    const char* text;
    std::size_t bytes;
  };
  const Case cases[] = {
      {"0", 0},
      {"1048576", kMiB},
      {"1048576B", kMiB},
      {"64k", 64 * kKiB},
      {"64KB", 64 * kKiB},
      {"64KiB", 64 * kKiB},
      {"512m", 512 * kMiB},
      {"512M", 512 * kMiB},
      {"512mb", 512 * kMiB},
      {"512MiB", 512 * kMiB},
      {"512mib", 512 * kMiB},
      {"2g", 2 * kGiB},
      {"2GiB", 2 * kGiB},
      {"1.5g", kGiB + kGiB / 2},
      {"0.25GiB", kGiB / 4},
      {"1t", kTiB},
      {"16TiB", 16 * kTiB},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    REQUIRE(with_env("TRICOLOR_MAX_HEAP", c.text).max_heap == c.bytes);
    REQUIRE(with_env("TRICOLOR_SOFT_LIMIT", c.text).soft_limit == c.bytes);
    REQUIRE(with_env("TRICOLOR_INITIAL_HEAP", c.text).initial_heap == c.bytes);
    REQUIRE(with_env("TRICOLOR_ALLOC_SITES", c.text).alloc_sites == c.bytes);
  }
  REQUIRE(with_env("TRICOLOR_RESERVE", "64MiB").reserve == 64 * kMiB);
  REQUIRE(with_env("TRICOLOR_RESERVE", "16t").reserve == 16 * kTiB);
}

TEST_CASE("integer and flag variables accept their whole range", "[config]") {
  REQUIRE(with_env("TRICOLOR_GC_PERCENT", "off").gc_percent == -1);
  REQUIRE(with_env("TRICOLOR_GC_PERCENT", "-1").gc_percent == -1);
  REQUIRE(with_env("TRICOLOR_GC_PERCENT", "0").gc_percent == 0);
  REQUIRE(with_env("TRICOLOR_GC_PERCENT", "1000000").gc_percent == 1000000);
  REQUIRE(with_env("TRICOLOR_MARKERS", "0").marker_threads == 0);
  REQUIRE(with_env("TRICOLOR_MARKERS", "1024").marker_threads == 1024);
  REQUIRE(with_env("TRICOLOR_MARK_CPU", "0").mark_cpu_percent == 0);
  REQUIRE(with_env("TRICOLOR_MARK_CPU", "25").mark_cpu_percent == 25);
  REQUIRE(with_env("TRICOLOR_MARK_CPU", "100").mark_cpu_percent == 100);
  REQUIRE(with_env("TRICOLOR_PERIODIC_GC_MS", "0").periodic_gc_ms == 0);
  REQUIRE(with_env("TRICOLOR_PERIODIC_GC_MS", "86400000").periodic_gc_ms == 86400000u);
  REQUIRE(with_env("TRICOLOR_SCAVENGE_MS", "86400000").scavenge_delay_ms == 86400000u);
  REQUIRE_FALSE(with_env("TRICOLOR_CONCURRENT", "0").concurrent);
  REQUIRE(with_env("TRICOLOR_VERIFY", "1").verify);
  REQUIRE(with_env("TRICOLOR_GCTRACE", "1").gctrace);
  REQUIRE(with_env("TRICOLOR_FIND_LEAK", "myapp::*").find_leak == "myapp::*");
}

TEST_CASE("TRICOLOR_RESERVE sets the heap's reservation", "[config]") {
  EnvVar v("TRICOLOR_RESERVE", "256MiB");
  Heap heap(tctest::test_config());
  REQUIRE(heap.impl().pages.reserved_bytes() == 256 * kMiB);
}

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

// ---- Member<T>: the compile-time rule (include/tricolor/member.hpp).
namespace {
struct Plain {
  int a;
  double b;
};
struct Iface {
  virtual ~Iface() = default;
  virtual int f() const = 0;
};
struct Shape : Object<Shape> {
  virtual ~Shape() = default;
  virtual double area() const = 0;
  void trace(Tracer&) const {}
};
struct NotAnObject {
  std::string name;
};
}  // namespace

static_assert(internal::member_target_ok<tctest::Node>());
static_assert(internal::member_target_ok<const tctest::Node>());
static_assert(internal::member_target_ok<Shape>(), "a polymorphic tricolor object type is fine");
static_assert(internal::member_target_ok<char>(), "pointer-free buffers: Member<char>");
static_assert(internal::member_target_ok<const double>());
static_assert(internal::member_target_ok<Plain>(), "make_buffer_of<Plain>");
static_assert(internal::member_target_ok<void>());
static_assert(!internal::member_target_ok<Iface>(), "a mixin interface that is not an Object");
static_assert(!internal::member_target_ok<NotAnObject>(), "no buffer can hold it and it is not an Object");

TEST_CASE("Member<T> still holds objects, buffers and polymorphic objects", "[config][member]") {
  tctest::TestHeap h;
  struct Holder : Object<Holder> {
    Member<char> text;
    Member<Plain> plain;
    Member<tctest::Node> node;
    void trace(Tracer& t) const {
      t.trace(text);
      t.trace(plain);
      t.trace(node);
    }
  };
  Root<Holder> holder(make<Holder>());
  holder->text = static_cast<char*>(make_buffer(6));
  std::memcpy(holder->text.get(), "hello", 6);
  holder->plain = make_buffer_of<Plain>(1);
  holder->plain->a = 4;
  holder->node = make<tctest::Node>(9);
  h.collect_now();
  REQUIRE(std::strcmp(holder->text.get(), "hello") == 0);
  REQUIRE(holder->plain->a == 4);
  REQUIRE(holder->node->intact());
}
