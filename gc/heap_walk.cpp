#include "gc/heap_walk.hpp"

#include <cstdio>
#include <iterator>

#include "gc/heap_impl.hpp"
#include "tricolor/weak.hpp"

namespace tricolor::internal {

namespace {

class WalkTracer final : public Tracer {
 public:
  WalkTracer(std::vector<HeapWalk::Node>& nodes, std::unordered_map<const void*, std::size_t>& index,
             const HeapWalk::Options& options)
      : nodes_(nodes), index_(index), options_(options) {}

  std::size_t parent = HeapWalk::kRoot;
  std::uint32_t root = 0;
  std::function<bool(const void*)> is_live_key;  // kMarkedKeys

  void visit(const void* obj, const char* field, std::size_t index) override {
    if (options_.on_edge) options_.on_edge(parent, root, obj, field, index);
    if (!index_.emplace(obj, nodes_.size()).second) return;
    nodes_.push_back({obj, parent, field, index, root});
  }
  // The walk follows what marking keeps alive: weak references are not followed (the default), and
  // an ephemeron value only through a live key.
  void visit_ephemeron(WeakSlot* key, std::atomic<const void*>* value_slot, const char* field) override {
    // relaxed: the world is stopped (heap_walk.hpp); the stop's handshake orders every mutator's
    // stores before these loads.
    const void* k = key->target.load(std::memory_order_relaxed);
    const void* v = value_slot->load(std::memory_order_relaxed);
    if (k == nullptr || v == nullptr) return;
    if (options_.ephemerons == HeapWalk::Ephemerons::kMarkedKeys) {
      if (is_live_key(k)) visit(v, field, Tracer::kNoIndex);
    } else if (index_.count(k) != 0) {
      visit(v, field, Tracer::kNoIndex);
    } else {
      pending.push_back({k, v, field, parent, root});
    }
  }

  // kReachableKeys: ephemerons whose key the walk had not reached when their holder was scanned.
  struct Pending {
    const void* key;
    const void* value;
    const char* field;
    std::size_t parent;
    std::uint32_t root;
  };
  std::vector<Pending> pending;

 private:
  std::vector<HeapWalk::Node>& nodes_;
  std::unordered_map<const void*, std::size_t>& index_;
  const HeapWalk::Options& options_;
};

}  // namespace

void HeapWalk::run(const std::function<bool(const void* obj)>& on_object, const Options& options) {
  nodes_.clear();
  roots_.clear();
  index_.clear();
  WalkTracer tracer(nodes_, index_, options);
  // Under kMarkedKeys an ephemeron's value is reachable through it only while its key is alive by
  // other paths, which marking has decided.
  tracer.is_live_key = [this](const void* k) { return h_.marker.is_marked(k); };
  auto begin_root = [&](RootKind kind, const char* name, const ThreadState* thread) {
    roots_.push_back({kind, name, thread});
    if (options.skip_root && options.skip_root(roots_.back())) {
      roots_.pop_back();
      return false;
    }
    tracer.root = static_cast<std::uint32_t>(roots_.size() - 1);
    return true;
  };
  // Roots first: they are the first level of the breadth-first walk.
  for (ThreadState* t : h_.safepoint.threads()) {
    for (RootNode* r = t->roots; r != nullptr; r = r->prev)
      if (r->ptr != nullptr && begin_root(RootKind::kThreadRoot, r->name, t))
        tracer.visit(r->ptr, nullptr, Tracer::kNoIndex);
    for (const RootCallbackEntry& e : t->root_callbacks)
      if (begin_root(RootKind::kThreadCallback, e.name, t)) e.fn(tracer, e.context);
  }
  h_.roots().for_each_global([&](GlobalNode* g) {
    // relaxed: the world is stopped, as for visit_ephemeron above.
    if (const void* p = g->ptr.load(std::memory_order_relaxed))
      if (begin_root(RootKind::kGlobal, g->name, nullptr)) tracer.visit(p, nullptr, Tracer::kNoIndex);
  });
  h_.roots().for_each_heap_callback([&](RootCallbackEntry& e) {
    if (begin_root(RootKind::kHeapCallback, e.name, nullptr)) e.fn(tracer, e.context);
  });
  h_.finalizers().for_each_ready_finalizer([&](const void* p) {
    if (begin_root(RootKind::kFinalizerQueue, nullptr, nullptr)) tracer.visit(p, nullptr, Tracer::kNoIndex);
  });
  for (std::size_t i = 0;;) {
    for (; i < nodes_.size(); ++i) {
      const void* obj = nodes_[i].obj;
      if (!on_object(obj)) continue;
      const TypeInfo& ti = type_info(header_of(obj)->type_id);
      if (ti.trace == nullptr) continue;
      tracer.parent = i;
      tracer.root = nodes_[i].root;
      ti.trace(obj, tracer);
    }
    // Ephemeron fixpoint (kReachableKeys): values whose key has been reached since.
    const std::size_t before = nodes_.size();
    std::vector<WalkTracer::Pending> still;
    for (const auto& e : tracer.pending) {
      if (index_.count(e.key) == 0) {
        still.push_back(e);
        continue;
      }
      tracer.parent = e.parent;
      tracer.root = e.root;
      tracer.visit(e.value, e.field, Tracer::kNoIndex);
    }
    tracer.pending.swap(still);
    if (nodes_.size() == before) break;
  }
}

std::string HeapWalk::RootInfo::thread_name() const {
  if (thread == nullptr) return {};
  // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict on the chained operator+.
  std::string s = "#";
  s += std::to_string(thread->ordinal);
  if (!thread->name.empty()) {
    s += " \"";
    s += thread->name;
    s += '"';
  }
  return s;
}

std::string HeapWalk::RootInfo::description() const {
  const std::string quoted = name != nullptr ? std::string(" \"") + name + "\"" : std::string();
  switch (kind) {
    case RootKind::kThreadRoot: return "thread " + thread_name() + " Root" + quoted;
    case RootKind::kThreadCallback: return "thread " + thread_name() + " root callback" + quoted;
    case RootKind::kGlobal: return "Global" + quoted;
    case RootKind::kHeapCallback: return "heap root callback" + quoted;
    case RootKind::kFinalizerQueue: return "finalizer queue";
  }
  return "root";
}

std::string HeapWalk::path_to(std::size_t node) const {
  std::deque<std::string> parts;
  for (std::size_t i = node; i != kRoot; i = nodes_[i].parent) {
    const Node& n = nodes_[i];
    char buf[64];
    std::snprintf(buf, sizeof buf, " @%p", n.obj);
    std::string s = std::string(type_name_of(n.obj)) + buf;
    if (n.parent == kRoot) {
      parts.push_front(s);
      std::string r = roots_[n.root].description();
      if (n.field != nullptr) r += std::string(" .") + n.field;
      if (n.index != Tracer::kNoIndex) r += "[" + std::to_string(n.index) + "]";
      parts.push_front(r);
    } else {
      std::string f = ".";  // appended, not "." + string: see thread_name()
      f += n.field ? n.field : "?";
      if (n.index != Tracer::kNoIndex) f += "[" + std::to_string(n.index) + "]";
      parts.push_front(f + " -> " + s);
    }
  }
  std::string out;
  for (auto& p : parts) out += (out.empty() ? "" : (p[0] == '.' ? "" : " -> ")) + p;
  return out;
}

RetentionPath HeapWalk::retention_path(std::size_t node) const {
  RetentionPath path;
  std::vector<PathStep> rev;
  for (std::size_t i = node; i != kRoot; i = nodes_[i].parent) {
    const Node& n = nodes_[i];
    PathStep step;
    // A root callback may name what it traces ("stack"); a Root or Global edge has no field.
    step.field = n.field ? n.field : (n.parent == kRoot ? "" : "?");
    step.index = n.index == Tracer::kNoIndex ? SIZE_MAX : n.index;
    step.type = type_name_of(n.obj);
    step.object = n.obj;
    rev.push_back(std::move(step));
    if (n.parent == kRoot) {
      RetentionPath p = root_path(n.root);
      p.steps.assign(std::make_move_iterator(rev.rbegin()), std::make_move_iterator(rev.rend()));
      return p;
    }
  }
  return path;
}

RetentionPath HeapWalk::root_path(std::uint32_t root) const {
  RetentionPath path;
  const RootInfo& r = roots_[root];
  path.root_kind = r.kind;
  path.root_name = r.name ? r.name : "";
  path.root_thread = r.thread_name();
  path.root = r.description();
  return path;
}

}  // namespace tricolor::internal
