// libFuzzer harness over the C API's type registration and allocation sizes (tricolor.h), checked
// against a model. The input is a heap configuration byte, then operations on one thread of a fresh
// heap (a 256 MiB reservation with a 64 MiB limit):
//  - describe a type from the input: size, pointer and weak offsets, a trailing count, callbacks,
//    with values drawn at the edges (unaligned, at and past the size, near SIZE_MAX, 2^40..2^63);
//    ask tc_type_desc_check; register what it accepts;
//  - allocate with tc_new, tc_alloc, tc_alloc_trailing and tc_alloc_buffer at sizes and counts drawn
//    the same way; link objects through pointer fields, trailing slots and weak fields; pop roots;
//    collect; poll a safepoint.
// Invariants:
//  1. tc_type_desc_check accepts a descriptor iff the model of the rules (written separately, in
//     128-bit arithmetic) does; a refusal names tc_type_register and the type.
//  2. A size past the heap's reservation, or a count whose size + count * sizeof(void*) does not fit
//     in a size_t, gives NULL with tc_last_error naming the function and "reservation" / "not
//     representable"; any other NULL says "heap limit".
//  3. An object is zeroed (a trailing object's count set by tc_alloc_trailing), is an object of the
//     heap of its type, and overlaps no other live object; a buffer keeps the bytes written to it.
//  4. No object the model reaches (from its roots, through pointer fields and trailing slots) is
//     destroyed; after tc_collect a weak field reads its target while the model reaches it, NULL
//     once it does not.
//  5. The verifier re-traces the heap after every cycle.
// Types are process-wide and never freed: distinct registered descriptors are capped per process
// (kMaxTypes), after which descriptors are checked but not registered.
//
// Input layout (tests/fuzz/make_c_api_corpus.py writes seeds): byte 0 configures the heap; then each
// operation is an opcode byte followed by the bytes its arguments read. Missing bytes read as zero.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "tricolor/tricolor.h"

namespace {

[[noreturn]] void fail(const char* what, const char* detail = "") {
  std::fprintf(stderr, "c_api_fuzz: model violation: %s %s\n", what, detail);
  std::abort();
}

class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
  bool done() const { return p_ >= end_; }
  std::uint8_t u8() { return p_ < end_ ? *p_++ : 0; }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{u8()} << (8 * i);
    return v;
  }
  // A value near the edges that matter for sizes and offsets relative to `base` (a type's size).
  std::size_t edge(std::size_t base) {
    const std::size_t k = u8();
    switch (u8() % 14) {
      case 0: return k;                                        // small, any alignment
      case 1: return k * 8;                                    // small, aligned
      case 2: return base;                                     // at the edge
      case 3: return base + 8 * (k % 4);                       // at and past it
      case 4: return base >= 8 * (k % 4) ? base - 8 * (k % 4) : 0;
      case 5: return SIZE_MAX - k;                             // where + header wraps
      case 6: return SIZE_MAX - 7 - 8 * (k % 4);               // aligned, and wraps with + 8
      case 7: return std::size_t{1} << (40 + k % 24);          // 2^40 .. 2^63
      case 8: return (std::size_t{1} << (40 + k % 24)) + k % 16;
      case 9: return (std::size_t{1} << (28 + k % 8)) - 8;     // around the reservation (2^28)
      case 10: return std::size_t{k} << 12;                    // up to 1 MiB: small and large objects
      case 11: return u64();
      case 12: return 32 * 1024 - 8 + k % 24;                  // around the largest small object
      default: return k * 8 + 2048 * (k % 8);
    }
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

// ---- Types

struct FType {
  tc_type id;
  std::string name;
  std::size_t size;
  std::vector<std::size_t> pointers, weaks;
  bool trailing;
  std::size_t count_offset;
};

// Process-wide: types outlive inputs (the core never frees them).
std::vector<FType> g_types;
using DescKey = std::tuple<std::size_t, std::vector<std::size_t>, std::vector<std::size_t>, bool, std::size_t, bool,
                           bool>;
std::map<DescKey, std::size_t> g_type_index;
constexpr std::size_t kMaxRegistered = 8192;

// Destroy callbacks run on whichever thread sweeps.
std::mutex g_log_mu;
std::vector<const void*> g_destroyed;
void log_destroy(void* obj) {
  std::lock_guard lock(g_log_mu);
  g_destroyed.push_back(obj);
}
void trace_nothing(const void*, tc_tracer* t) { tc_trace(t, nullptr); }

// The descriptor rules, written apart from capi/c_api.cpp (and in 128-bit arithmetic, so an overflow
// there cannot hide here).
bool model_accepts(const tc_type_desc& d) {
  using u128 = unsigned __int128;
  auto fits = [&](std::size_t off) { return off % 8 == 0 && u128{off} + 8 <= u128{d.size}; };
  if ((d.pointer_count != 0 && d.pointer_offsets == nullptr) || (d.weak_count != 0 && d.weak_offsets == nullptr))
    return false;
  for (std::size_t i = 0; i < d.pointer_count; ++i)
    if (!fits(d.pointer_offsets[i])) return false;
  for (std::size_t i = 0; i < d.weak_count; ++i) {
    if (!fits(d.weak_offsets[i])) return false;
    for (std::size_t j = 0; j < d.pointer_count; ++j)
      if (d.pointer_offsets[j] == d.weak_offsets[i]) return false;
  }
  if (d.trailing_pointers) {
    if (d.size % 8 != 0 || !fits(d.trailing_count_offset)) return false;
    for (std::size_t j = 0; j < d.pointer_count; ++j)
      if (d.pointer_offsets[j] == d.trailing_count_offset) return false;
    for (std::size_t j = 0; j < d.weak_count; ++j)
      if (d.weak_offsets[j] == d.trailing_count_offset) return false;
  }
  return true;
}

// Reads a descriptor, checks the verdict, registers it when acceptable (and under the cap).
void describe(Reader& r) {
  const std::uint8_t flags = r.u8();
  // Sizes are mostly small (objects of the type get allocated); the edges test the checks.
  const std::size_t words = r.u8() % 64;
  const std::size_t size = (flags & 0x80) ? r.edge(64) : words * ((flags & 0x40) ? 1 : 8);
  // A field: mostly an aligned offset inside the size, sometimes an edge value.
  auto field = [&] { return (r.u8() & 1) ? r.edge(size) : std::size_t{r.u8()} * 8 % std::max<std::size_t>(size, 8); };
  std::vector<std::size_t> ptrs(r.u8() % 5), weaks(r.u8() % 3);
  for (auto& o : ptrs) o = field();
  for (auto& o : weaks) o = field();
  tc_type_desc d{};
  const std::string name = "F" + std::to_string(g_types.size());
  d.name = name.c_str();
  d.size = size;
  d.pointer_offsets = (flags & 0x01) && !ptrs.empty() ? nullptr : ptrs.data();
  d.pointer_count = ptrs.size();
  d.weak_offsets = (flags & 0x02) && !weaks.empty() ? nullptr : weaks.data();
  d.weak_count = weaks.size();
  d.trailing_pointers = (flags & 0x04) ? 1 : 0;
  d.trailing_count_offset = (r.u8() & 1) ? r.edge(size) : 0;
  d.destroy = (flags & 0x08) ? log_destroy : nullptr;
  d.trace = (flags & 0x10) ? trace_nothing : nullptr;

  const char* why = tc_type_desc_check(&d);
  const bool accepted = why == nullptr;
  if (accepted != model_accepts(d)) fail("tc_type_desc_check and the model disagree:", why ? why : "(accepted)");
  if (!accepted) {
    if (std::string(why).rfind("tc_type_register(\"" + name + "\"): ", 0) != 0)
      fail("a refusal does not name tc_type_register and the type:", why);
    return;
  }
  DescKey key{size, ptrs, weaks, d.trailing_pointers != 0, d.trailing_pointers ? d.trailing_count_offset : 0,
              d.destroy != nullptr, d.trace != nullptr};
  if (g_type_index.count(key) != 0 || g_types.size() >= kMaxRegistered) return;
  g_type_index.emplace(key, g_types.size());
  g_types.push_back({tc_type_register(&d), name, size, ptrs, weaks, d.trailing_pointers != 0,
                     d.trailing_count_offset});
}

// ---- Objects

constexpr std::size_t kReserve = std::size_t{256} << 20;  // each input's heap

struct FObj {
  char* p = nullptr;
  std::size_t bytes = 0;     // requested
  int type = -1;             // index into g_types; -1: a buffer
  std::size_t slots = 0;     // trailing slots (the count field)
  std::uint8_t pattern = 0;  // buffers: every byte written with it
  bool live = true;
  std::map<std::size_t, std::size_t> strong;  // slot offset -> target object index
  std::map<std::size_t, std::size_t> weak;    // weak field offset -> target object index
};

class Run {
 public:
  explicit Run(std::uint8_t config) {
    tc_config c;
    tc_config_init(&c);
    c.reserve = kReserve;
    c.max_heap = std::size_t{64} << 20;
    c.initial_heap = std::size_t{1} << 20;
    c.verify = 1;
    c.concurrent = (config & 1) ? 0 : 1;
    c.marker_threads = 1 + ((config >> 1) & 1);
    c.background_sweeper = (config >> 2) & 1;
    heap_ = tc_heap_create(&c);
    if (heap_ == nullptr) fail("tc_heap_create failed:", tc_last_error());
    tc_thread_attach(heap_, "c_api_fuzz");
    std::lock_guard lock(g_log_mu);
    g_destroyed.clear();
  }
  ~Run() {
    while (!roots_.empty()) pop();
    tc_collect(heap_);
    check_log();
    tc_thread_detach();
    tc_heap_destroy(heap_);
  }

  void step(Reader& r) {
    switch (r.u8() % 10) {
      case 0: describe(r); break;
      case 1: alloc_new(r); break;
      case 2: alloc_sized(r); break;
      case 3: alloc_trailing(r); break;
      case 4: alloc_buffer(r); break;
      case 5: link(r); break;
      case 6: link_weak(r); break;
      case 7:
        if (!roots_.empty()) pop();
        break;
      case 8: collect(); break;
      default: tc_safepoint(); break;
    }
  }

 private:
  static constexpr std::size_t kMaxObjects = 256;

  const FType* pick_type(Reader& r, bool trailing) {
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < g_types.size(); ++i)
      if (!trailing || g_types[i].trailing) candidates.push_back(i);
    if (candidates.empty()) return nullptr;
    return &g_types[candidates[(std::size_t{r.u8()} << 8 | r.u8()) % candidates.size()]];
  }

  void alloc_new(Reader& r) {
    const FType* t = pick_type(r, false);
    if (t == nullptr || objs_live_ >= kMaxObjects) return;
    admit(static_cast<char*>(tc_new(t->id)), "tc_new", t, t->size, 0);
  }

  void alloc_sized(Reader& r) {
    const FType* t = pick_type(r, false);
    if (t == nullptr || objs_live_ >= kMaxObjects) return;
    const std::size_t extra = r.edge(t->size);
    const std::size_t bytes = extra > SIZE_MAX - t->size ? SIZE_MAX : t->size + extra;  // >= the type's size
    char* p = static_cast<char*>(tc_alloc(t->id, bytes));
    // A trailing type allocated by size: the count is the program's to set, within what it asked for.
    std::size_t slots = 0;
    if (p != nullptr && t->trailing) {
      slots = std::min<std::size_t>((bytes - t->size) / sizeof(void*), r.u8());
      std::memcpy(p + t->count_offset, &slots, sizeof slots);
    }
    admit(p, "tc_alloc", t, bytes, slots);
  }

  void alloc_trailing(Reader& r) {
    const FType* t = pick_type(r, true);
    if (t == nullptr || objs_live_ >= kMaxObjects) return;
    const std::size_t count = (r.u8() & 3) ? r.u8() % 64 : r.edge(0);
    char* p = static_cast<char*>(tc_alloc_trailing(t->id, count));
    if (p == nullptr && count > (SIZE_MAX - t->size) / sizeof(void*)) {
      expect_error("tc_alloc_trailing(", "not representable");
      return;
    }
    const std::size_t bytes = t->size + count * sizeof(void*);
    if (p != nullptr) {
      std::size_t stored = 0;
      std::memcpy(&stored, p + t->count_offset, sizeof stored);
      if (stored != count) fail("tc_alloc_trailing did not set the count field");
    }
    admit(p, "tc_alloc_trailing", t, bytes, count);
  }

  void alloc_buffer(Reader& r) {
    if (objs_live_ >= kMaxObjects) return;
    const std::size_t bytes = r.edge(64);
    char* p = static_cast<char*>(tc_alloc_buffer(bytes));
    const std::uint8_t pattern = r.u8() | 1;
    if (p != nullptr) {
      // Not zeroed, but every byte asked for is ours: write them (the ends, for large ones).
      const std::size_t n = std::min<std::size_t>(bytes, 4096);
      std::memset(p, pattern, n);
      if (bytes > n) std::memset(p + bytes - n, pattern, n);
    }
    admit(p, "tc_alloc_buffer", nullptr, bytes, 0, pattern);
  }

  // Checks a fresh allocation (or its NULL) and roots it.
  void admit(char* p, const char* fn, const FType* t, std::size_t bytes, std::size_t slots, std::uint8_t pattern = 0) {
    check_log();  // the allocation may have swept: nothing the model reaches may have died
    if (p == nullptr) {
      expect_error(fn, std::max<std::size_t>(bytes, 1) > kReserve ? "reservation" : "heap limit");
      return;
    }
    if (std::max<std::size_t>(bytes, 1) > kReserve) fail("an allocation past the reservation succeeded:", fn);
    if (!tc_heap_contains(heap_, p)) fail("an allocation is not an object of the heap:", fn);
    if (t != nullptr && std::strcmp(tc_type_name_of(p), t->name.c_str()) != 0) fail("wrong type name", fn);
    if (t != nullptr) {
      // Zeroed: the ends of what was asked for, and the trailing slots (the count field aside).
      const std::size_t n = std::min<std::size_t>(bytes, 4096);
      for (std::size_t i = 0; i < n; ++i)
        if (p[i] != 0 && !(t->trailing && i >= t->count_offset && i < t->count_offset + sizeof(std::size_t)))
          fail("an object is not zeroed:", fn);
      for (std::size_t i = bytes - n; i < bytes; ++i)
        if (p[i] != 0 && !(t->trailing && i >= t->count_offset && i < t->count_offset + sizeof(std::size_t)))
          fail("an object's end is not zeroed:", fn);
    }
    // Overlaps no live object.
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    const std::size_t len = std::max<std::size_t>(bytes, 1);
    auto next = extents_.lower_bound(a);
    if (next != extents_.end() && next->first < a + len) fail("two objects overlap:", fn);
    if (next != extents_.begin() && std::prev(next)->second > a) fail("two objects overlap:", fn);
    FObj o;
    o.p = p;
    o.bytes = bytes;
    o.type = t != nullptr ? static_cast<int>(t - g_types.data()) : -1;
    o.slots = slots;
    o.pattern = pattern;
    objs_.push_back(std::move(o));
    ++objs_live_;
    extents_[a] = a + len;
    roots_.emplace_back();
    root_index_.push_back(objs_.size() - 1);
    tc_root_push(&roots_.back(), p, "fuzz");
  }

  void expect_error(const char* fn, const char* reason) {
    const char* e = tc_last_error();
    if (e == nullptr || std::strstr(e, fn) == nullptr || std::strstr(e, reason) == nullptr)
      fail("NULL without the expected reason:", e != nullptr ? e : "(no tc_last_error)");
  }

  // A live object with a strong slot (a pointer field or a trailing slot), or -1.
  long pick_obj(Reader& r) {
    if (objs_live_ == 0) return -1;
    std::size_t k = r.u8() % objs_live_;
    for (std::size_t i = 0; i < objs_.size(); ++i)
      if (objs_[i].live && k-- == 0) return static_cast<long>(i);
    return -1;
  }

  void link(Reader& r) {
    const long a = pick_obj(r);
    const long b = pick_obj(r);
    if (a < 0 || objs_[a].type < 0) return;
    const FType& t = g_types[objs_[a].type];
    const std::size_t n = t.pointers.size() + objs_[a].slots;
    if (n == 0) return;
    const std::size_t k = r.u8() % n;
    const std::size_t off = k < t.pointers.size() ? t.pointers[k] : t.size + (k - t.pointers.size()) * sizeof(void*);
    const bool clear = (r.u8() & 7) == 0 || b < 0;
    tc_store(reinterpret_cast<void**>(objs_[a].p + off), clear ? nullptr : objs_[b].p);
    if (clear) objs_[a].strong.erase(off);
    else objs_[a].strong[off] = static_cast<std::size_t>(b);
    forget_unreachable();
  }

  void link_weak(Reader& r) {
    const long a = pick_obj(r);
    const long b = pick_obj(r);
    if (a < 0 || b < 0 || objs_[a].type < 0) return;
    const FType& t = g_types[objs_[a].type];
    if (t.weaks.empty()) return;
    const std::size_t off = t.weaks[r.u8() % t.weaks.size()];
    tc_weak_store(reinterpret_cast<void**>(objs_[a].p + off), objs_[b].p);
    objs_[a].weak[off] = static_cast<std::size_t>(b);
  }

  void pop() {
    tc_root_pop(&roots_.back());
    roots_.pop_back();
    root_index_.pop_back();
    forget_unreachable();
  }

  // The model's reachability: roots, then pointer fields and trailing slots. What it no longer
  // reaches may be freed by the next cycle and is never touched again.
  void forget_unreachable() {
    std::vector<bool> seen(objs_.size());
    std::vector<std::size_t> stack(root_index_.begin(), root_index_.end());
    while (!stack.empty()) {
      const std::size_t i = stack.back();
      stack.pop_back();
      if (seen[i]) continue;
      seen[i] = true;
      for (const auto& [off, target] : objs_[i].strong) stack.push_back(target);
    }
    for (std::size_t i = 0; i < objs_.size(); ++i)
      if (objs_[i].live && !seen[i]) {
        objs_[i].live = false;
        --objs_live_;
        extents_.erase(reinterpret_cast<std::uintptr_t>(objs_[i].p));
      }
  }

  void check_log() {
    std::vector<const void*> died;
    {
      std::lock_guard lock(g_log_mu);
      died.swap(g_destroyed);
    }
    for (const void* p : died) {
      auto it = extents_.find(reinterpret_cast<std::uintptr_t>(p));
      if (it != extents_.end()) fail("an object the model reaches was destroyed");
    }
  }

  void collect() {
    tc_collect(heap_);
    check_log();
    for (const FObj& o : objs_) {
      if (!o.live) continue;
      if (!tc_heap_contains(heap_, o.p)) fail("a reachable object left the heap");
      if (o.type < 0) {
        const std::size_t n = std::min<std::size_t>(o.bytes, 4096);
        for (std::size_t i = 0; i < n; ++i)
          if (static_cast<std::uint8_t>(o.p[i]) != o.pattern) fail("a reachable buffer changed");
        continue;
      }
      if (std::strcmp(tc_type_name_of(o.p), g_types[o.type].name.c_str()) != 0) fail("a reachable object changed type");
      for (const auto& [off, target] : o.strong)
        if (tc_load(reinterpret_cast<void* const*>(o.p + off)) != objs_[target].p) fail("a field changed");
      for (const auto& [off, target] : o.weak) {
        void* now = tc_load(reinterpret_cast<void* const*>(o.p + off));
        if (objs_[target].live ? now != objs_[target].p : now != nullptr)
          fail(objs_[target].live ? "a weak field lost a reachable target" : "a weak field kept a dead target");
      }
    }
    // Weak fields to dead targets are now NULL: forget them (the target's slot may be reused).
    for (FObj& o : objs_)
      for (auto it = o.weak.begin(); it != o.weak.end();)
        it = objs_[it->second].live ? std::next(it) : o.weak.erase(it);
  }

  tc_heap* heap_ = nullptr;
  std::deque<tc_root> roots_;  // a deque: push_back and pop_back never move the others
  std::vector<std::size_t> root_index_;
  std::vector<FObj> objs_;
  std::size_t objs_live_ = 0;
  std::map<std::uintptr_t, std::uintptr_t> extents_;  // live objects: start -> end
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader r(data, size);
  Run run(r.u8());
  for (int ops = 0; ops < 400 && !r.done(); ++ops) run.step(r);
  return 0;
}
