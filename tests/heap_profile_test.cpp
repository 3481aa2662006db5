// pprof heap profiles: the file decodes (a small protobuf reader here), its totals match the
// allocations exactly when every allocation is recorded, scaled sampling estimates them, and
// `go tool pprof` loads it (when go is installed; otherwise that part is skipped with a warning).
#include "introspect/heap_profile.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "introspect/alloc_sites.hpp"
#include "test_heap.hpp"

using namespace tricolor;
using tctest::TestHeap;

namespace proftest {

struct Kept : Object<Kept> {
  Member<Kept> next;
  std::uint64_t pad[5] = {};
  void trace(Tracer& t) const { t.trace(next, "next"); }
};
struct Temp : Object<Temp> {
  std::uint64_t pad[13] = {};
  void trace(Tracer&) const {}
};

[[gnu::noinline]] void keep_some(Root<Kept>& list, int n) {
  for (int i = 0; i < n; ++i) {
    Kept* k = make<Kept>();
    k->next = list.get();
    list = k;
  }
}

[[gnu::noinline]] void make_garbage(int n) {
  for (int i = 0; i < n; ++i) make<Temp>();
}

template <class T>
constexpr std::int64_t slot_bytes() {
  return static_cast<std::int64_t>(internal::class_size(internal::size_to_class(sizeof(T) + internal::kHeaderSize)));
}

// --- a minimal reader for the profile.proto fields the test checks

struct Reader {
  const std::string& b;
  std::size_t pos = 0, end;
  Reader(const std::string& buf, std::size_t from, std::size_t to) : b(buf), pos(from), end(to) {}
  bool done() const { return pos >= end; }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const auto c = static_cast<unsigned char>(b.at(pos++));
      v |= std::uint64_t{c & 0x7Fu} << shift;
      if ((c & 0x80) == 0) return v;
    }
  }
  // Next field: its number and wire type; for wire type 2, [from, to) of its bytes.
  bool next(int& field, int& wire, std::uint64_t& value, std::size_t& from, std::size_t& to) {
    if (done()) return false;
    const std::uint64_t key = varint();
    field = static_cast<int>(key >> 3);
    wire = static_cast<int>(key & 7);
    if (wire == 0) {
      value = varint();
    } else if (wire == 2) {
      const std::uint64_t n = varint();
      from = pos;
      to = pos + n;
      pos = to;
    } else {
      FAIL("unexpected wire type " << wire);
    }
    return true;
  }
};

struct Sample {
  std::vector<std::uint64_t> locations;
  std::vector<std::int64_t> values;
  std::map<std::string, std::string> str_labels;
};

struct Profile {
  std::vector<std::string> strings;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> sample_types;  // string indices
  std::vector<Sample> samples;
  std::map<std::uint64_t, std::vector<std::uint64_t>> location_functions;  // location -> function ids
  std::map<std::uint64_t, std::uint64_t> function_names;                   // function -> string index
  std::uint64_t period = 0;

  std::vector<std::string> sample_type_names() const {
    std::vector<std::string> v;
    for (auto& st : sample_types) v.push_back(strings[st.first] + "/" + strings[st.second]);
    return v;
  }
  // Sum of sample value `index` over samples whose "type" label is `type`.
  std::int64_t total(std::size_t index, const std::string& type) const {
    std::int64_t sum = 0;
    for (const Sample& s : samples)
      if (s.str_labels.count("type") && s.str_labels.at("type") == type) sum += s.values.at(index);
    return sum;
  }
  std::vector<std::string> functions_of(const Sample& s) const {
    std::vector<std::string> out;
    for (std::uint64_t loc : s.locations)
      for (std::uint64_t f : location_functions.at(loc)) out.push_back(strings.at(function_names.at(f)));
    return out;
  }
};

std::vector<std::uint64_t> packed(const std::string& b, std::size_t from, std::size_t to) {
  Reader r(b, from, to);
  std::vector<std::uint64_t> out;
  while (!r.done()) out.push_back(r.varint());
  return out;
}

Profile decode(const std::string& b) {
  Profile p;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> raw_labels;
  std::vector<std::vector<std::pair<std::uint64_t, std::uint64_t>>> sample_labels;
  Reader r(b, 0, b.size());
  int field, wire;
  std::uint64_t v = 0;
  std::size_t from = 0, to = 0;
  while (r.next(field, wire, v, from, to)) {
    if (field == 6) {
      p.strings.push_back(b.substr(from, to - from));
    } else if (field == 1) {
      Reader m(b, from, to);
      std::pair<std::uint64_t, std::uint64_t> st{0, 0};
      int f, w;
      std::uint64_t x;
      std::size_t a, c;
      while (m.next(f, w, x, a, c)) (f == 1 ? st.first : st.second) = x;
      p.sample_types.push_back(st);
    } else if (field == 2) {
      Reader m(b, from, to);
      Sample s;
      std::vector<std::pair<std::uint64_t, std::uint64_t>> labels;
      int f, w;
      std::uint64_t x;
      std::size_t a, c;
      while (m.next(f, w, x, a, c)) {
        if (f == 1) s.locations = packed(b, a, c);
        if (f == 2)
          for (std::uint64_t u : packed(b, a, c)) s.values.push_back(static_cast<std::int64_t>(u));
        if (f == 3) {
          Reader l(b, a, c);
          std::uint64_t key = 0, str = 0;
          int lf, lw;
          std::uint64_t lx;
          std::size_t la, lc;
          while (l.next(lf, lw, lx, la, lc)) {
            if (lf == 1) key = lx;
            if (lf == 2) str = lx;
          }
          labels.emplace_back(key, str);
        }
      }
      p.samples.push_back(s);
      sample_labels.push_back(labels);
    } else if (field == 4) {
      Reader m(b, from, to);
      std::uint64_t id = 0;
      std::vector<std::uint64_t> fns;
      int f, w;
      std::uint64_t x;
      std::size_t a, c;
      while (m.next(f, w, x, a, c)) {
        if (f == 1) id = x;
        if (f == 4) {
          Reader l(b, a, c);
          int lf, lw;
          std::uint64_t lx;
          std::size_t la, lc;
          while (l.next(lf, lw, lx, la, lc))
            if (lf == 1) fns.push_back(lx);
        }
      }
      p.location_functions[id] = fns;
    } else if (field == 5) {
      Reader m(b, from, to);
      std::uint64_t id = 0, name = 0;
      int f, w;
      std::uint64_t x;
      std::size_t a, c;
      while (m.next(f, w, x, a, c)) {
        if (f == 1) id = x;
        if (f == 2) name = x;
      }
      p.function_names[id] = name;
    } else if (field == 12) {
      p.period = v;
    }
  }
  for (std::size_t i = 0; i < p.samples.size(); ++i)
    for (auto [k, s] : sample_labels[i])
      if (s != 0) p.samples[i].str_labels[p.strings.at(k)] = p.strings.at(s);
  return p;
}

std::string run(const std::string& cmd) {
  std::string out;
  if (std::FILE* f = popen(cmd.c_str(), "r")) {
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
    pclose(f);
  }
  return out;
}

bool have_go() { return std::system("go version >/dev/null 2>&1") == 0; }

}  // namespace proftest

using namespace proftest;

enum { kAllocObjects, kAllocSpace, kInuseObjects, kInuseSpace };

TEST_CASE("with every allocation recorded, the profile's totals match the allocations exactly", "[profile]") {
  tricolor::Config c = tctest::test_config();
  c.alloc_sites = 1;
  TestHeap h(c);
  Root<Kept> kept(nullptr, "kept");
  keep_some(kept, 1000);
  make_garbage(500);
  const Profile p = decode(h.heap.heap_profile());
  REQUIRE(p.strings.at(0).empty());
  REQUIRE(p.sample_type_names() ==
          std::vector<std::string>{"alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes"});
  REQUIRE(p.period == 1);
  REQUIRE(p.total(kAllocObjects, "proftest::Kept") == 1000);
  REQUIRE(p.total(kInuseObjects, "proftest::Kept") == 1000);
  REQUIRE(p.total(kInuseSpace, "proftest::Kept") == 1000 * slot_bytes<Kept>());
  REQUIRE(p.total(kAllocObjects, "proftest::Temp") == 500);
  REQUIRE(p.total(kAllocSpace, "proftest::Temp") == 500 * slot_bytes<Temp>());
  REQUIRE(p.total(kInuseObjects, "proftest::Temp") == 0);
  if (internal::AllocSites::has_line_info()) {
    bool named = false;
    for (const Sample& s : p.samples)
      if (s.str_labels.at("type") == "proftest::Kept") {
        const std::vector<std::string> fns = p.functions_of(s);
        REQUIRE(!fns.empty());
        named |= fns[0].find("keep_some") != std::string::npos;
      }
    REQUIRE(named);
  }
  // Freeing moves objects from in use to allocated only.
  kept = nullptr;
  const Profile after = decode(h.heap.heap_profile());
  REQUIRE(after.total(kInuseObjects, "proftest::Kept") == 0);
  REQUIRE(after.total(kAllocObjects, "proftest::Kept") == 1000);
}

TEST_CASE("with sites off the profile is valid and empty", "[profile]") {
  TestHeap h;
  make_garbage(10);
  const Profile p = decode(h.heap.heap_profile());
  REQUIRE(p.samples.empty());
  REQUIRE(p.sample_types.size() == 4);
}

TEST_CASE("sampled by bytes, the scaled totals estimate the allocations", "[profile]") {
  tricolor::Config c = tctest::test_config();
  c.alloc_sites = 16 * 1024;  // one sample per 16 KiB on average
  TestHeap h(c);
  Root<Kept> kept(nullptr, "kept");
  keep_some(kept, 20000);  // 20000 * 56 B = 1.1 MB: about 70 samples
  const Profile p = decode(h.heap.heap_profile());
  REQUIRE(p.period == 16 * 1024);
  const std::int64_t est = p.total(kInuseObjects, "proftest::Kept");
  INFO("estimated " << est << " of 20000");
  // The estimate's relative error is about 1/sqrt(samples) = 12%: allow five of those.
  REQUIRE(est > 20000 * 0.4);
  REQUIRE(est < 20000 * 1.6);
}

TEST_CASE("go tool pprof reads the profile and agrees on the totals", "[profile][pprof]") {
  if (!have_go()) {
    WARN("go is not installed (TRICOLOR_SETUP_GO=1 tools/setup): skipping the pprof check");
    return;
  }
  tricolor::Config c = tctest::test_config();
  c.alloc_sites = 1;
  TestHeap h(c);
  Root<Kept> kept(nullptr, "kept");
  keep_some(kept, 1000);
  make_garbage(300);
  char path[] = "/tmp/tricolor-heap-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  REQUIRE(h.heap.write_heap_profile(path));
  const std::string base = std::string("go tool pprof -top -nodecount=1000 ");
  const std::string inuse = run(base + "-sample_index=inuse_objects " + path + " 2>&1");
  const std::string alloc = run(base + "-sample_index=alloc_objects " + path + " 2>&1");
  const std::string space = run(base + "-sample_index=inuse_space -unit=B " + path + " 2>&1");
  std::remove(path);
  INFO(inuse << "\n" << alloc << "\n" << space);
  REQUIRE(inuse.find("of 1000 total") != std::string::npos);
  REQUIRE(alloc.find("of 1300 total") != std::string::npos);
  REQUIRE(space.find("of " + std::to_string(1000 * slot_bytes<Kept>()) + "B total") != std::string::npos);
  if (internal::AllocSites::has_line_info()) REQUIRE(inuse.find("keep_some") != std::string::npos);
}

// Not run by default: ./build/tests/heap_profile_test "[.bench]" prints the cost of allocation
// sampling per allocation (docs/leak_checking.md quotes it).
TEST_CASE("allocation sampling cost", "[.bench]") {
  for (std::size_t rate : {std::size_t{0}, std::size_t{512 * 1024}, std::size_t{64 * 1024}, std::size_t{1}}) {
    tricolor::Config c = tctest::test_config();
    c.verify = false;
    c.alloc_sites = rate;
    TestHeap h(c);
    const int n = rate == 1 ? 1000000 : 10000000;
    make_garbage(1000);
    const auto t0 = std::chrono::steady_clock::now();
    make_garbage(n);
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / n;
    std::printf("alloc_sites=%-8zu %7.1f ns per 112-byte allocation (%d allocations, collections included)\n", rate,
                ns, n);
  }
}
