// LeakCheck scopes, retention paths and retainers, find-leak mode, and the report types' text.
#include "introspect/leak_check.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <map>

#include "introspect/capi_support.hpp"
#include "gc/heap_impl.hpp"
#include "gc/heap_walk.hpp"
#include "gc/type_registry.hpp"

namespace tricolor {

namespace internal {

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative '*' matching with one backtrack point: linear enough for type names.
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && p[pi] == t[ti]) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

static bool any_match(const std::vector<std::string>& globs, std::string_view text) {
  for (const std::string& g : globs)
    if (glob_match(g, text)) return true;
  return false;
}

LeakState& leak_state(HeapImpl& h) {
  TC_DCHECK(h.observer() != nullptr,
            "a heap without its tools: build heaps with tricolor::Heap (introspect/heap_tools.cpp)");
  return *static_cast<LeakState*>(h.observer());
}

static std::vector<std::string> parse_globs(const std::string& spec) {
  std::vector<std::string> out;
  if (spec.empty() || spec == "0") return out;
  if (spec == "1") return {"*"};
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = spec.find(',', start);
    std::string g = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!g.empty()) out.push_back(std::move(g));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

LeakState::LeakState(HeapImpl& h, const Config& c)
    : sites(c.alloc_sites),
      h_(h),
      observe_deaths_(c.alloc_sites != 0 || !parse_globs(c.find_leak).empty()),
      find_leak_globs_(parse_globs(c.find_leak)) {}

LeakState::~LeakState() {
  if (found_.empty()) return;
  // Boehm's find-leak mode prints what it finds; so do we, for reports the program did not take.
  const LeakReport r = take_found_leaks();
  std::fprintf(stderr, "%s", r.to_string().c_str());
}

// --- epochs

std::uint32_t LeakState::on_thread_attached(std::uint64_t ordinal) {
  std::lock_guard lock(epoch_mu_);
  if (owners_.size() == 1) return 0;  // no LeakCheck yet: stay with the shared epoch 0
  owners_.push_back(ordinal);
  return static_cast<std::uint32_t>(owners_.size() - 1);
}

std::uint32_t LeakState::refresh_epochs(ThreadState* self) {
  std::lock_guard lock(epoch_mu_);
  TC_CHECK(owners_.size() + h_.safepoint.threads().size() < UINT32_MAX,
           "tricolor::LeakCheck: allocation epochs exhausted (2^32 scope openings)");
  auto give = [&](ThreadState* t) {
    t->alloc_epoch = static_cast<std::uint32_t>(owners_.size());
    owners_.push_back(t->ordinal);
  };
  give(self);
  const std::uint32_t start = self->alloc_epoch;
  for (ThreadState* t : h_.safepoint.threads())
    if (t != self) give(t);
  return start;
}

std::vector<std::uint64_t> LeakState::epoch_owners() {
  std::lock_guard lock(epoch_mu_);
  return owners_;
}

// --- the sweeper's view

void LeakState::on_dead(Span* s, std::size_t word, std::uint64_t dead) {
  const bool fl = find_leak();
  const bool sampled = sites.enabled() && sites.has_samples_in(s);
  if (!fl && !sampled) return;
  std::unique_lock<std::mutex> lock(fl_mu_, std::defer_lock);
  if (fl) lock.lock();
  while (dead != 0) {
    const std::size_t i = word * 64 + static_cast<std::size_t>(__builtin_ctzll(dead));
    dead &= dead - 1;
    void* obj = s->payload(i);
    const std::uint32_t type = header_of(obj)->type_id;
    const std::uint32_t stack = sampled ? sites.forget(s, s->slot_address(i), type) : UINT32_MAX;
    if (fl && tracked(type) && released_.erase(obj) == 0) {
      Found& f = found_[std::uint64_t{type} << 32 | stack];
      ++f.objects;
      f.bytes += s->elem_size;
    }
  }
}

// --- find-leak mode

bool LeakState::tracked(std::uint32_t type_id) {
  if (tracked_.size() <= type_id) tracked_.resize(type_id + 1, 0);
  if (tracked_[type_id] == 0) tracked_[type_id] = any_match(find_leak_globs_, type_info(type_id).name) ? 1 : -1;
  return tracked_[type_id] > 0;
}

bool LeakState::type_matches(std::uint32_t type_id, const std::vector<std::string>& globs) {
  return any_match(globs, type_info(type_id).name);
}

void LeakState::release(const void* obj) {
  if (!find_leak()) return;
  TC_CHECK(h_.contains(obj), "tricolor::release(%p): not an object of this thread's heap", obj);
  std::lock_guard lock(fl_mu_);
  if (tracked(header_of(obj)->type_id)) released_.insert(obj);
}

// For the C API (introspect/capi_support.hpp): tc_release checks its argument in C terms first.
bool find_leak_mode(HeapImpl& h) { return leak_state(h).find_leak(); }

std::string format_bytes(std::size_t bytes) {
  char buf[48];
  if (bytes < 10 * 1024) std::snprintf(buf, sizeof buf, "%zu B", bytes);
  else if (bytes < 10 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", double(bytes) / 1024);
  else std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / (1024.0 * 1024));
  return buf;
}

std::vector<AllocSite> symbolize_sites(AllocSites& sites, const std::unordered_map<std::uint32_t, std::size_t>& counts) {
  // Stacks that differ only inside the allocator (which slow-path branch recorded them) are one
  // site once its frames are dropped: merge by the frames the program sees.
  std::map<std::vector<std::string>, std::size_t> merged;
  for (const auto& [stack, n] : counts) {
    std::vector<std::string> frames;
    for (const AllocSites::Frame& f : sites.symbolize(stack)) frames.push_back(f.to_string());
    merged[std::move(frames)] += n;
  }
  std::vector<AllocSite> out;
  for (auto& [frames, n] : merged) {
    AllocSite site;
    site.frames = frames;
    site.count = n;
    out.push_back(std::move(site));
  }
  // Most objects first; ties by text, so reports are stable.
  std::sort(out.begin(), out.end(), [](const AllocSite& a, const AllocSite& b) {
    return a.count != b.count ? a.count > b.count : a.frames < b.frames;
  });
  return out;
}

static void sort_groups(LeakReport& r) {
  std::sort(r.groups.begin(), r.groups.end(), [](const LeakGroup& a, const LeakGroup& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.type < b.type;
  });
}

LeakReport LeakState::take_found_leaks() {
  std::unordered_map<std::uint64_t, Found> found;
  {
    std::lock_guard lock(fl_mu_);
    found.swap(found_);
  }
  LeakReport r;
  r.title = "tricolor find-leak";
  r.what = "became unreachable without tricolor::release()";
  std::map<std::uint32_t, std::unordered_map<std::uint32_t, std::size_t>> stacks;  // type -> stack -> n
  std::map<std::uint32_t, LeakGroup> groups;
  for (const auto& [key, f] : found) {
    const auto type = static_cast<std::uint32_t>(key >> 32);
    const auto stack = static_cast<std::uint32_t>(key);
    LeakGroup& g = groups[type];
    g.type = type_info(type).name;
    g.count += f.objects;
    g.bytes += f.bytes;
    if (stack != UINT32_MAX) {
      g.sampled += f.objects;
      stacks[type][stack] += f.objects;
    }
    r.objects += f.objects;
    r.bytes += f.bytes;
  }
  for (auto& [type, g] : groups) {
    if (auto it = stacks.find(type); it != stacks.end()) g.sites = symbolize_sites(sites, it->second);
    r.groups.push_back(std::move(g));
  }
  sort_groups(r);
  return r;
}

}  // namespace internal

using internal::HeapImpl;
using internal::HeapWalk;

// ---- report text

const char* to_string(RootKind k) {
  switch (k) {
    case RootKind::kThreadRoot: return "thread Root";
    case RootKind::kThreadCallback: return "thread root callback";
    case RootKind::kGlobal: return "Global";
    case RootKind::kHeapCallback: return "heap root callback";
    case RootKind::kFinalizerQueue: return "finalizer queue";
  }
  return "root";
}

std::string RetentionPath::to_string() const {
  std::string s = root;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const PathStep& st = steps[i];
    if (!st.field.empty()) s += (i == 0 ? " ." : ".") + st.field;
    if (st.index != SIZE_MAX) s += "[" + std::to_string(st.index) + "]";
    s += " -> " + st.type;
  }
  if (!steps.empty()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " @%p", steps.back().object);
    s += buf;
  }
  return s;
}

std::string AllocSite::to_string(std::size_t max_frames, const char* indent) const {
  std::string s;
  for (std::size_t i = 0; i < frames.size() && i < max_frames; ++i) s += std::string(indent) + frames[i] + "\n";
  if (frames.size() > max_frames) s += std::string(indent) + "...\n";
  if (frames.empty()) s += std::string(indent) + "(no frames)\n";
  return s;
}

const LeakGroup* LeakReport::find(std::string_view type) const {
  for (const LeakGroup& g : groups)
    if (g.type == type) return &g;
  return nullptr;
}

std::size_t LeakReport::count(std::string_view type) const {
  const LeakGroup* g = find(type);
  return g ? g->count : 0;
}

std::string LeakReport::to_string() const {
  const std::string head = title.empty() ? std::string("tricolor") : title;
  if (empty()) return head + ": no leaks\n";
  std::string s = head + ": " + std::to_string(objects) + " object" + (objects == 1 ? "" : "s") + " (" +
                  internal::format_bytes(bytes) + ") " + what + "\n";
  for (const LeakGroup& g : groups) {
    s += "  " + std::to_string(g.count) + " x " + g.type + " (" + internal::format_bytes(g.bytes) + ")\n";
    for (const LeakedObject& o : g.examples)
      if (!o.path.root.empty()) s += "    " + o.path.to_string() + "\n";
    if (g.count > g.examples.size() && !g.examples.empty())
      s += "    ... and " + std::to_string(g.count - g.examples.size()) + " more\n";
    if (!g.sites.empty()) {
      s += "    allocated at (" + std::to_string(g.sampled) + " of " + std::to_string(g.count) + " sampled):\n";
      for (std::size_t i = 0; i < g.sites.size() && i < 3; ++i) {
        s += "      " + std::to_string(g.sites[i].count) + " x\n";
        s += g.sites[i].to_string(8, "        ");
      }
      if (g.sites.size() > 3) s += "      ... and " + std::to_string(g.sites.size() - 3) + " more sites\n";
    }
  }
  if (ignored != 0) s += "  (" + std::to_string(ignored) + " objects of ignored types not shown)\n";
  return s;
}

// ---- LeakCheck

LeakCheck::LeakCheck(Heap& heap) : heap_(heap), uncaught_(std::uncaught_exceptions()) {
  internal::ThreadFast* t = internal::current_thread("open a tricolor::LeakCheck");
  HeapImpl& h = heap.impl();
  TC_CHECK(t->heap == &h, "tricolor::LeakCheck: this thread is attached to another heap");
  internal::ThreadState* self = internal::as_state(t);
  thread_ = self;
  thread_ordinal_ = self->ordinal;
  // Every thread's epoch changes while all are stopped, so "allocated after the scope opened" is
  // exact for each of them.
  h.with_world_stopped([&] { start_epoch_ = internal::leak_state(h).refresh_epochs(self); });
}

LeakCheck::~LeakCheck() {
  if (checked_ || std::uncaught_exceptions() != uncaught_) return;
  const LeakReport r = check();
  if (!r.empty())
    internal::fatal(__FILE__, __LINE__,
                    "tricolor::LeakCheck destroyed without check(), and the scope leaked (call check() to "
                    "handle the report yourself):\n%s",
                    r.to_string().c_str());
}

LeakCheck& LeakCheck::ignore_type(std::string glob) {
  ignored_types_.push_back(std::move(glob));
  return *this;
}
LeakCheck& LeakCheck::ignore_root(std::string glob) {
  ignored_roots_.push_back(std::move(glob));
  return *this;
}
LeakCheck& LeakCheck::max_paths_per_type(std::size_t n) {
  max_paths_ = n;
  return *this;
}

LeakReport LeakCheck::check() {
  TC_CHECK(internal::tls_thread == thread_,
           "tricolor::LeakCheck::check() must run on the thread that opened the scope");
  checked_ = true;
  HeapImpl& h = heap_.impl();
  h.collector.collect();

  LeakReport r;
  r.title = "tricolor::LeakCheck";
  r.what = "allocated in the scope and still reachable";
  struct Leak {
    std::size_t node;
    std::uint32_t type;
    std::uint32_t bytes;
    std::uint32_t stack;
  };
  std::vector<Leak> leaks;
  std::map<std::uint32_t, LeakGroup> groups;
  std::map<std::uint32_t, std::unordered_map<std::uint32_t, std::size_t>> stacks;

  h.with_world_stopped([&] {
    const std::vector<std::uint64_t> owners = internal::leak_state(h).epoch_owners();
    // 0: allocated before the scope; 1: by the scope's thread in it; 2: by another thread in it.
    auto scope_kind = [&](std::uint32_t epoch) -> int {
      if (epoch < start_epoch_ || epoch >= owners.size()) return 0;
      return owners[epoch] == thread_ordinal_ ? 1 : 2;
    };
    std::vector<std::int8_t> ignored_type;  // by type id: 0 unknown, 1 ignored, -1 not
    auto is_ignored_type = [&](std::uint32_t id) {
      if (ignored_types_.empty()) return false;
      if (ignored_type.size() <= id) ignored_type.resize(id + 1, 0);
      if (ignored_type[id] == 0) ignored_type[id] = internal::leak_state(h).type_matches(id, ignored_types_) ? 1 : -1;
      return ignored_type[id] > 0;
    };
    HeapWalk::Options options;
    options.ephemerons = HeapWalk::Ephemerons::kReachableKeys;
    if (!ignored_roots_.empty())
      options.skip_root = [&](const HeapWalk::RootInfo& root) {
        return (root.name != nullptr && internal::any_match(ignored_roots_, root.name)) ||
               internal::any_match(ignored_roots_, root.description());
      };

    // Walk 1: everything reachable, shortest paths. on_object runs in node order.
    HeapWalk walk(h);
    std::vector<std::int8_t> kind;
    std::size_t others = 0;
    walk.run(
        [&](const void* obj) {
          const internal::ObjectHeader* hd = internal::header_of(obj);
          const int k = scope_kind(hd->epoch);
          if (is_ignored_type(hd->type_id)) {
            kind.push_back(0);
            if (k != 0) ++r.ignored;
            return false;  // what only an ignored object keeps alive is ignored too
          }
          kind.push_back(static_cast<std::int8_t>(k));
          if (k == 2) ++others;
          return true;
        },
        options);
    // Walk 2, only when other threads' in-scope objects are reachable: which of them stay reachable
    // without passing through the scope's own objects? Those are not the scope's (rule (b)).
    std::vector<bool> blamed(walk.nodes().size(), false);
    for (std::size_t i = 0; i < kind.size(); ++i) blamed[i] = kind[i] == 1;
    if (others != 0) {
      HeapWalk without(h);
      without.run(
          [&](const void* obj) {
            const internal::ObjectHeader* hd = internal::header_of(obj);
            return !is_ignored_type(hd->type_id) && scope_kind(hd->epoch) != 1;
          },
          options);
      for (std::size_t i = 0; i < kind.size(); ++i)
        if (kind[i] == 2 && without.find(walk.nodes()[i].obj) == HeapWalk::kRoot) blamed[i] = true;
    }
    // Groups, in breadth-first order so each type's first examples have the shortest paths.
    for (std::size_t i = 0; i < blamed.size(); ++i) {
      if (!blamed[i]) continue;
      const void* obj = walk.nodes()[i].obj;
      const std::uint32_t type = internal::header_of(obj)->type_id;
      const internal::Span* s = h.pages.span_of(obj);
      LeakGroup& g = groups[type];
      g.type = internal::type_info(type).name;
      ++g.count;
      g.bytes += s->elem_size;
      r.objects += 1;
      r.bytes += s->elem_size;
      if (g.examples.size() < max_paths_) g.examples.push_back({obj, walk.retention_path(i)});
      if (internal::leak_state(h).sites.enabled()) {
        const std::uint32_t stack = internal::leak_state(h).sites.stack_of(static_cast<const char*>(obj) - internal::kHeaderSize);
        if (stack != UINT32_MAX) {
          ++g.sampled;
          ++stacks[type][stack];
        }
      }
    }
  });
  // Symbolization reads debug info: done with the world running again.
  for (auto& [type, g] : groups) {
    if (auto it = stacks.find(type); it != stacks.end()) g.sites = internal::symbolize_sites(internal::leak_state(h).sites, it->second);
    r.groups.push_back(std::move(g));
  }
  internal::sort_groups(r);
  return r;
}

// ---- find-leak mode

void release(const void* obj) {
  internal::ThreadFast* t = internal::current_thread("tricolor::release()");
  internal::leak_state(internal::as_state(t)->impl).release(obj);
}

// ---- path queries

std::optional<RetentionPath> Heap::path_to(const void* obj) {
  TC_CHECK(contains(obj), "Heap::path_to(%p): not an object of this heap", obj);
  HeapImpl& h = *impl_;
  std::optional<RetentionPath> out;
  h.with_world_stopped([&] {
    HeapWalk walk(h);
    HeapWalk::Options options;
    options.ephemerons = HeapWalk::Ephemerons::kReachableKeys;
    walk.run([](const void*) { return true; }, options);
    const std::size_t n = walk.find(obj);
    if (n != HeapWalk::kRoot) out = walk.retention_path(n);
  });
  return out;
}

std::vector<Retainer> Heap::retainers(const void* obj) {
  TC_CHECK(contains(obj), "Heap::retainers(%p): not an object of this heap", obj);
  HeapImpl& h = *impl_;
  std::vector<Retainer> out;
  h.with_world_stopped([&] {
    struct Edge {
      std::size_t parent;
      std::uint32_t root;
      const char* field;
      std::size_t index;
    };
    std::vector<Edge> edges;
    HeapWalk walk(h);
    HeapWalk::Options options;
    options.ephemerons = HeapWalk::Ephemerons::kReachableKeys;
    options.on_edge = [&](std::size_t parent, std::uint32_t root, const void* child, const char* field,
                          std::size_t index) {
      if (child == obj) edges.push_back({parent, root, field, index});
    };
    walk.run([](const void*) { return true; }, options);
    for (const Edge& e : edges) {
      Retainer r;
      r.is_root = e.parent == HeapWalk::kRoot;
      r.field = e.field ? e.field : (r.is_root ? "" : "?");
      r.index = e.index == Tracer::kNoIndex ? SIZE_MAX : e.index;
      if (r.is_root) {
        r.path = walk.root_path(e.root);
      } else {
        r.object = walk.nodes()[e.parent].obj;
        r.type = type_name_of(r.object);
        r.path = walk.retention_path(e.parent);
      }
      out.push_back(std::move(r));
    }
  });
  return out;
}

LeakReport Heap::take_found_leaks() {
  impl_->collector.collect();
  return internal::leak_state(*impl_).take_found_leaks();
}

}  // namespace tricolor
