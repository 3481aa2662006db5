// libFuzzer harness over allocation sizes: the input is a heap configuration byte followed by
// operations that allocate through every C++ entry point (make<T>, try_make<T>, make_with_trailing,
// try_make_with_trailing, make_buffer, try_make_buffer, make_buffer_of<T>) with sizes biased to the
// boundaries where size arithmetic used to wrap (SIZE_MAX - small, powers of two, the small/large
// boundary, the reservation, the hard limit), drop objects, and collect.
//
// Invariants checked after every operation:
//  1. A request that no heap state could satisfy (payload + header above the reservation or the hard
//     limit, or count * sizeof(T) past SIZE_MAX) is refused: null from try_, std::bad_alloc from the
//     others. Any other request may succeed or fail (the heap may be full), never crash.
//  2. An object handed out overlaps no live object (header included) and lies inside the heap.
//  3. Every live object is usable: a fresh make_with_trailing payload reads zero, and the pattern
//     written into each object at allocation reads back intact until the object is dropped, across
//     collections.
// Each input gets a fresh heap (reservation 256 MiB); the live objects are the roots, through a root
// callback of this thread.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <new>
#include <vector>

#include "tricolor/tricolor.hpp"

using namespace tricolor;

namespace {

__extension__ typedef unsigned __int128 u128;  // exact size arithmetic for the model

constexpr std::size_t kHeader = 8;  // the object header in front of every payload
constexpr std::size_t kReserve = std::size_t{256} << 20;
constexpr std::size_t kHardLimit = std::size_t{64} << 20;
constexpr std::size_t kMaxSmall = 32 * 1024;
constexpr std::size_t kMaxLive = 48;
constexpr std::size_t kProbes = 64;  // pattern bytes written and checked per object

[[noreturn]] void fail(const char* what, unsigned long long size) {
  std::fprintf(stderr, "sizes_fuzz: %s (size %llu)\n", what, size);
  std::abort();
}

struct Blob : Object<Blob> {
  static constexpr std::uint64_t kTag = 0x5A5A5A5A5A5A5A5Aull;
  std::uint64_t tag = kTag;
  void trace(Tracer&) const {}
};
template <std::size_t kBytes>
struct Fixed : Object<Fixed<kBytes>> {
  unsigned char bytes[kBytes];
  void trace(Tracer&) const {}
};
using Huge = Fixed<std::size_t{1} << 45>;  // larger than any reservation
struct Triple {
  std::uint64_t a, b, c;
};

struct Input {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  bool done() const { return n == 0; }
};

// A size near one of the boundaries, from 8 argument bytes.
std::size_t decode_size(const std::uint8_t a[8], std::size_t limit) {
  std::uint64_t raw = 0;
  for (int i = 0; i < 8; ++i) raw = raw << 8 | a[i];
  const auto delta = static_cast<std::int64_t>(static_cast<std::int16_t>(a[2] << 8 | a[3]));
  const unsigned k = a[1] % 64;
  switch (a[0] % 8) {
    case 0: return (std::size_t{a[1]} << 8 | a[2]) % (kMaxSmall + 1024);
    case 1: return kMaxSmall - kHeader - 8 * (a[1] % 4) + static_cast<std::size_t>(delta % 64);
    case 2: return SIZE_MAX - (std::size_t{a[2]} << 8 | a[3]);
    case 3: return (std::size_t{1} << k) + static_cast<std::size_t>(delta);
    case 4: return kReserve + static_cast<std::size_t>(delta);
    case 5: return (limit != 0 ? limit : kHardLimit) + static_cast<std::size_t>(delta);
    case 6: return (a[1] % 128 + 1) * 8192 + static_cast<std::size_t>(delta % 512);
    default: return static_cast<std::size_t>(raw);
  }
}

struct Live {
  unsigned char* base;  // payload
  std::size_t size;     // payload bytes
  std::size_t data;     // the pattern's bytes are [data, size)
  unsigned char seed;
};

class Harness {
 public:
  Harness(Heap& heap, std::size_t limit) : heap_(heap), limit_(limit) {}

  static void trace_roots(Tracer& t, void* self) {
    for (const Live& o : static_cast<Harness*>(self)->live_) t.trace(o.base);
  }

  void run(Input& in) {
    while (!in.done()) {
      const std::uint8_t op = in.byte() % 10;
      std::uint8_t a[8];
      for (auto& b : a) b = in.byte();
      const std::size_t n = decode_size(a, limit_);
      switch (op) {
        case 0: take(try_make_buffer(n), buffer_bytes(n), fits(buffer_bytes(n), 0), 0); break;
        case 1: take(catching([&] { return make_buffer(n); }), buffer_bytes(n), fits(buffer_bytes(n), 0), 0); break;
        case 2: blob(try_make_with_trailing<Blob>(n), n); break;
        case 3: blob(catching([&] { return static_cast<void*>(make_with_trailing<Blob>(n)); }), n); break;
        case 4: buffer_of<std::uint64_t>(n); break;
        case 5: buffer_of<Triple>(n); break;
        case 6: fixed(a[4] % 4, a[5] & 1); break;
        case 7:
          if (!live_.empty()) drop((std::size_t{a[4]} << 8 | a[5]) % live_.size());
          break;
        case 8:
          heap_.collect();
          check_all();
          break;
        default: check_all(); break;
      }
    }
    check_all();
  }

 private:
  template <class F>
  static void* catching(F f) {
    try {
      return f();
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
  }

  // Could any state of this heap hold a payload of fixed + n bytes? (Exact: 128-bit.)
  bool fits(std::size_t n, std::size_t fixed) const {
    const u128 need = static_cast<u128>(n) + fixed + kHeader;
    return need <= kReserve && (limit_ == 0 || need <= limit_);
  }
  static std::size_t buffer_bytes(std::size_t n) { return n == 0 ? 1 : n; }  // a zero-byte buffer gets one

  // A Blob's trailing bytes read zero; the pattern goes there, after the Blob itself.
  void blob(void* p, std::size_t n) {
    const bool possible = fits(n, sizeof(Blob));
    if (p != nullptr && static_cast<Blob*>(p)->tag != Blob::kTag) fail("a Blob was not constructed", n);
    take(p, possible ? sizeof(Blob) + n : n, possible, sizeof(Blob), true);
  }

  template <class T>
  void buffer_of(std::size_t count) {
    const u128 bytes = static_cast<u128>(count) * sizeof(T);
    const bool possible = bytes <= SIZE_MAX && fits(static_cast<std::size_t>(bytes), 0);
    void* p = catching([&] { return static_cast<void*>(make_buffer_of<T>(count)); });
    take(p, possible ? buffer_bytes(static_cast<std::size_t>(bytes)) : count, possible, 0);
  }

  void fixed(unsigned which, bool try_variant) {
    switch (which) {
      case 0: fixed_one<Fixed<24>>(try_variant); break;
      case 1: fixed_one<Fixed<40 * 1024>>(try_variant); break;
      case 2: fixed_one<Fixed<std::size_t{1} << 20>>(try_variant); break;
      default: fixed_one<Huge>(try_variant); break;
    }
  }
  template <class T>
  void fixed_one(bool try_variant) {
    void* p = try_variant ? try_make<T>() : catching([] { return static_cast<void*>(make<T>()); });
    take(p, sizeof(T), fits(sizeof(T), 0), 0);
  }

  // p: what an entry point returned for a payload of `size` bytes (for an impossible request, the
  // size or count asked for); the pattern goes into [data, size), which must read zero first if
  // `zeroed`.
  void take(void* p, std::size_t size, bool possible, std::size_t data, bool zeroed = false) {
    if (p == nullptr) return;  // refused, or the heap is full: both fine
    if (!possible) fail("a size no heap can hold was allocated", size);
    if (!heap_.contains(p)) fail("an allocation is not an object of the heap", size);
    auto* base = static_cast<unsigned char*>(p);
    const auto start = reinterpret_cast<std::uintptr_t>(base) - kHeader;
    const auto end = reinterpret_cast<std::uintptr_t>(base) + size;
    auto next = ranges_.lower_bound(start);
    if (next != ranges_.end() && next->first < end) fail("an allocation overlaps a live object after it", size);
    if (next != ranges_.begin() && std::prev(next)->second > start)
      fail("an allocation overlaps a live object before it", size);
    const Live o{base, size, data, static_cast<unsigned char>(next_seed_++ | 1)};
    if (zeroed && o.data < o.size)
      for (std::size_t i = 0; i < kProbes; ++i)
        if (base[probe(o, i)] != 0) fail("a make_with_trailing payload is not zeroed", size);
    if (o.data < o.size)
      for (std::size_t i = 0; i < kProbes; ++i) base[probe(o, i)] = static_cast<unsigned char>(o.seed + i);
    ranges_.emplace(start, end);
    live_.push_back(o);
    if (live_.size() > kMaxLive) drop(0);
  }

  // Probe i of an object's data bytes: spread evenly, the last one on its last byte.
  static std::size_t probe(const Live& o, std::size_t i) {
    const std::size_t n = o.size - o.data;
    return o.data + (i == kProbes - 1 ? n - 1 : n / kProbes * i);
  }

  void check(const Live& o) const {
    if (o.data >= o.size) return;
    // Probes coincide for small sizes: the last write wins, so compare with what it wrote.
    for (std::size_t i = 0; i < kProbes; ++i) {
      std::size_t last = i;
      for (std::size_t j = i + 1; j < kProbes; ++j)
        if (probe(o, j) == probe(o, i)) last = j;
      if (o.base[probe(o, i)] != static_cast<unsigned char>(o.seed + last)) fail("a live object was overwritten", o.size);
    }
  }
  void check_all() const {
    for (const Live& o : live_) check(o);
  }
  void drop(std::size_t i) {
    check(live_[i]);
    ranges_.erase(reinterpret_cast<std::uintptr_t>(live_[i].base) - kHeader);
    live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  Heap& heap_;
  std::size_t limit_;
  std::vector<Live> live_;
  std::map<std::uintptr_t, std::uintptr_t> ranges_;  // [header, end) of every live object
  unsigned next_seed_ = 1;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in{data, size};
  const std::uint8_t cfg = in.byte();
  Config config;
  config.reserve = kReserve;
  config.max_heap = (cfg & 1) ? kHardLimit : 0;
  config.concurrent = (cfg & 2) == 0;
  config.marker_threads = 1;
  config.initial_heap = std::size_t{1} << 20;
  config.verify = (cfg & 4) != 0;
  Heap heap(config);
  {
    Harness h(heap, config.max_heap);  // outlives the Mutator, whose detach still scans its roots
    Mutator self(heap, "sizes-fuzz");
    self.add_roots(&Harness::trace_roots, &h, "live objects");
    h.run(in);
  }
  return 0;
}
