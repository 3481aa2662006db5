#include "introspect/alloc_sites.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <execinfo.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "tricolor/object.hpp"

#if TRICOLOR_HAVE_LIBBACKTRACE
// libbacktrace ships with GCC (libgcc-dev: libbacktrace.a) but its header sits in GCC's private
// include directory, which clang does not search; these are its stable entry points.
extern "C" {
struct backtrace_state;
typedef void (*backtrace_error_callback)(void* data, const char* msg, int errnum);
typedef int (*backtrace_full_callback)(void* data, std::uintptr_t pc, const char* filename, int lineno,
                                       const char* function);
typedef void (*backtrace_syminfo_callback)(void* data, std::uintptr_t pc, const char* symname,
                                           std::uintptr_t symval, std::uintptr_t symsize);
backtrace_state* backtrace_create_state(const char* filename, int threaded, backtrace_error_callback error_callback,
                                        void* data);
int backtrace_pcinfo(backtrace_state* state, std::uintptr_t pc, backtrace_full_callback callback,
                     backtrace_error_callback error_callback, void* data);
int backtrace_syminfo(backtrace_state* state, std::uintptr_t addr, backtrace_syminfo_callback callback,
                      backtrace_error_callback error_callback, void* data);
}
#endif

namespace tricolor::internal {

namespace {

std::string demangle(const char* name) {
  if (name == nullptr) return {};
  if (name[0] != '_' || name[1] != 'Z') return name;
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 && d != nullptr ? d : name;
  std::free(d);
  return out;
}

// The qualified name of a demangled function: "void* ns::f<int>(long)" -> "ns::f<int>". A template
// function's demangled name starts with its return type, so take the last word before the
// parameter list, at template depth 0.
std::string_view qualified_name(std::string_view f) {
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '<') ++depth;
    else if (c == '>' && depth > 0) --depth;
    else if (depth == 0 && c == ' ') start = i + 1;
    else if (depth == 0 && c == '(' && i > start) return f.substr(start, i - start);
  }
  return f.substr(start);
}

// tricolor's own frames between the program and the sample: the slow path, make<T> and friends,
// and the C API's allocation entry points (include/tricolor/tricolor.h).
bool is_allocator_frame(const std::string& function) {
  const std::string_view q = qualified_name(function);
  for (std::string_view prefix : {"tricolor::", "tc_alloc", "tc_try_alloc"})
    if (q.substr(0, prefix.size()) == prefix) return true;
  return false;
}

#if TRICOLOR_HAVE_LIBBACKTRACE
void ignore_error(void*, const char*, int) {}

backtrace_state* bt_state() {
  // Never freed: libbacktrace keeps what it read for the life of the process. threaded = 1: it
  // synchronises its own caches (we also hold symbols_mu_).
  static backtrace_state* state = backtrace_create_state(nullptr, 1, ignore_error, nullptr);
  return state;
}
#endif

}  // namespace

std::string AllocSites::Frame::to_string() const {
  std::string s;
  if (!function.empty()) s = function;
  else if (!module.empty()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "+0x%zx", static_cast<std::size_t>(module_offset));
    s = module + buf;
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%zx", static_cast<std::size_t>(pc));
    s = buf;
  }
  if (!file.empty()) s += "  " + file + ":" + std::to_string(line);
  return s;
}

std::int64_t AllocSites::next_countdown(ThreadCache& c) const {
  if (rate_ == 1) return 0;  // every allocation
  // xorshift64*: a thread-private generator, no shared state.
  std::uint64_t x = c.sample_rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  c.sample_rng = x;
  const double u = static_cast<double>((x * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;  // [0, 1)
  // Exponential with mean rate_: the gap to the next sampled byte of a Poisson process.
  const double gap = -std::log1p(-u) * static_cast<double>(rate_);
  return gap < 1 ? 1 : static_cast<std::int64_t>(gap);
}

void AllocSites::record(ThreadCache& c, const Span* s, const void* slot, std::size_t bytes) {
  if (c.sample_rng == 0) {
    // First sample of this thread: seed, and start the countdown where a random one would be.
    c.sample_rng = (reinterpret_cast<std::uintptr_t>(&c) * 0x9E3779B97F4A7C15ull) | 1;
    c.sample_countdown = next_countdown(c) - static_cast<std::int64_t>(bytes);
    if (c.sample_countdown > 0) return;
  }
  // Several samples inside one allocation's bytes still record it once (Go does the same).
  while (c.sample_countdown <= 0) {
    const std::int64_t next = next_countdown(c);
    c.sample_countdown += next == 0 ? 1 : next;
  }
  if (rate_ == 1) c.sample_countdown = 0;
  void* pcs[kMaxFrames + 1];
  // Outside the lock: the first backtrace() loads the unwinder.
  const int n = backtrace(pcs, static_cast<int>(kMaxFrames + 1));
  std::uintptr_t frames[kMaxFrames];
  std::size_t k = 0;
  // Frame 0 is this function; return addresses point after the call, so step back into it.
  for (int i = 1; i < n; ++i) frames[k++] = reinterpret_cast<std::uintptr_t>(pcs[i]) - 1;
  std::lock_guard lock(mu_);
  const std::uint32_t stack = intern(frames, k);
  live_[reinterpret_cast<std::uintptr_t>(slot)] = Record{stack, static_cast<std::uint32_t>(bytes)};
  ++spans_[s];
}

bool AllocSites::has_samples_in(const Span* s) {
  std::lock_guard lock(mu_);
  return spans_.count(s) != 0;
}

std::uint32_t AllocSites::intern(const std::uintptr_t* pcs, std::size_t n) {
  std::string key(reinterpret_cast<const char*>(pcs), n * sizeof(std::uintptr_t));
  auto [it, inserted] = stack_ids_.emplace(std::move(key), static_cast<std::uint32_t>(stacks_.size()));
  if (inserted) stacks_.emplace_back(pcs, pcs + n);
  return it->second;
}

std::uint32_t AllocSites::forget(const Span* s, const void* slot, std::uint32_t type_id) {
  std::lock_guard lock(mu_);
  auto it = live_.find(reinterpret_cast<std::uintptr_t>(slot));
  if (it == live_.end()) return UINT32_MAX;
  const Record r = it->second;
  live_.erase(it);
  // A span is freed only when all its objects are dead, so its count is 0 by then and a span record
  // reused for a new span starts without one.
  if (auto sit = spans_.find(s); sit != spans_.end() && --sit->second == 0) spans_.erase(sit);
  Totals& t = freed_[std::uint64_t{r.stack} << 32 | type_id];
  ++t.alloc_objects;
  t.alloc_bytes += r.bytes;
  ++t.free_objects;
  t.free_bytes += r.bytes;
  return r.stack;
}

std::uint32_t AllocSites::stack_of(const void* slot) {
  std::lock_guard lock(mu_);
  auto it = live_.find(reinterpret_cast<std::uintptr_t>(slot));
  return it == live_.end() ? UINT32_MAX : it->second.stack;
}

std::vector<AllocSites::ProfileEntry> AllocSites::profile_entries() {
  std::lock_guard lock(mu_);
  std::unordered_map<std::uint64_t, Totals> all = freed_;
  for (const auto& [slot, r] : live_) {
    // World stopped: every recorded slot has its header written (no safepoint lies between the
    // slow path's return and the header store).
    const std::uint32_t type = reinterpret_cast<const ObjectHeader*>(slot)->type_id;
    Totals& t = all[std::uint64_t{r.stack} << 32 | type];
    ++t.alloc_objects;
    t.alloc_bytes += r.bytes;
  }
  std::vector<ProfileEntry> out;
  out.reserve(all.size());
  for (const auto& [key, t] : all)
    out.push_back({static_cast<std::uint32_t>(key >> 32), static_cast<std::uint32_t>(key), t});
  return out;
}

std::vector<std::uintptr_t> AllocSites::raw_stack(std::uint32_t stack) {
  std::lock_guard lock(mu_);
  return stacks_[stack];
}

bool AllocSites::has_line_info() {
#if TRICOLOR_HAVE_LIBBACKTRACE
  return bt_state() != nullptr;
#else
  return false;
#endif
}

std::vector<AllocSites::Frame> AllocSites::symbolize_pc(std::uintptr_t pc) {
  std::vector<Frame> frames;
  Dl_info info{};
  const bool have_dl = dladdr(reinterpret_cast<void*>(pc), &info) != 0;
  auto base = [&](Frame f) {
    if (have_dl && info.dli_fname != nullptr) {
      f.module = info.dli_fname;
      f.module_offset = pc - reinterpret_cast<std::uintptr_t>(info.dli_fbase);
    }
    return f;
  };
#if TRICOLOR_HAVE_LIBBACKTRACE
  if (backtrace_state* st = bt_state()) {
    struct Ctx {
      std::vector<Frame>* out;
      std::uintptr_t pc;
    } ctx{&frames, pc};
    // Called once per frame at pc, the innermost inlined function first.
    backtrace_pcinfo(
        st, pc,
        [](void* data, std::uintptr_t, const char* file, int line, const char* function) -> int {
          auto* c = static_cast<Ctx*>(data);
          if (function == nullptr && file == nullptr) return 0;
          Frame f{c->pc, demangle(function), file ? file : "", line, {}, 0};
          c->out->push_back(std::move(f));
          return 0;
        },
        ignore_error, &ctx);
    if (frames.empty()) {
      std::string sym;
      backtrace_syminfo(
          st, pc,
          [](void* data, std::uintptr_t, const char* symname, std::uintptr_t, std::uintptr_t) {
            if (symname != nullptr) *static_cast<std::string*>(data) = symname;
          },
          ignore_error, &sym);
      if (!sym.empty()) frames.push_back(Frame{pc, demangle(sym.c_str()), "", 0, {}, 0});
    }
  }
#endif
  if (frames.empty()) {
    Frame f{pc, {}, {}, 0, {}, 0};
    if (have_dl && info.dli_sname != nullptr) f.function = demangle(info.dli_sname);
    frames.push_back(std::move(f));
  }
  for (Frame& f : frames) f = base(std::move(f));
  return frames;
}

std::vector<AllocSites::Frame> AllocSites::symbolize(std::uint32_t stack) {
  const std::vector<std::uintptr_t> pcs = raw_stack(stack);
  std::vector<Frame> out;
  std::lock_guard lock(symbols_mu_);
  for (std::uintptr_t pc : pcs) {
    auto it = by_pc_.find(pc);
    if (it == by_pc_.end()) it = by_pc_.emplace(pc, symbolize_pc(pc)).first;
    for (const Frame& f : it->second) {
      // Drop the allocator's frames until the first frame of the program.
      if (out.empty() && is_allocator_frame(f.function)) continue;
      out.push_back(f);
    }
  }
  return out;
}

}  // namespace tricolor::internal
