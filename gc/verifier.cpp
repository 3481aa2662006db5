#include "gc/verifier.hpp"

#include <cstdio>
#include <deque>
#include <unordered_set>

#include "gc/heap_impl.hpp"
#include "tricolor/weak.hpp"

namespace tricolor::internal {

namespace {
class WalkTracer final : public Tracer {
 public:
  WalkTracer(std::vector<HeapWalk::Node>& nodes, std::unordered_set<const void*>& seen)
      : nodes_(nodes), seen_(seen) {}
  std::size_t parent = HeapWalk::kRoot;
  const char* root_name = nullptr;
  void visit(const void* obj, const char* field, std::size_t index) override {
    if (!seen_.insert(obj).second) return;
    nodes_.push_back({obj, parent, parent == HeapWalk::kRoot ? root_name : field, index});
  }
  // The walk follows what marking keeps alive: weak references are not followed, and an ephemeron
  // value only through its key (approximated: followed, the verifier then only checks it if marked
  // keys kept it alive; see process_weak_references).
  void visit_ephemeron(WeakSlot* key, std::atomic<const void*>* value_slot, const char* field) override {
    const void* k = key->target.load(std::memory_order_relaxed);
    const void* v = value_slot->load(std::memory_order_relaxed);
    if (k != nullptr && v != nullptr && is_live_key(k)) visit(v, field, Tracer::kNoIndex);
  }
  std::function<bool(const void*)> is_live_key;

 private:
  std::vector<HeapWalk::Node>& nodes_;
  std::unordered_set<const void*>& seen_;
};
}  // namespace

void HeapWalk::run(const std::function<bool(const void* obj)>& on_object) {
  std::unordered_set<const void*> seen;
  WalkTracer tracer(nodes_, seen);
  // An ephemeron's value is reachable through it only while its key is alive by other paths, which
  // marking has decided: follow values of marked keys.
  tracer.is_live_key = [this](const void* k) { return h_.marker.is_marked(k); };
  root_names_.clear();
  root_names_.reserve(1024);
  auto root = [&](std::string name) -> const char* {
    root_names_.push_back(std::move(name));
    return root_names_.back().c_str();
  };
  // Roots first. root_names_ reserved up front so c_str() pointers stay valid (capped: the names of
  // roots past the reserve are shared).
  for (ThreadState* t : h_.safepoint.threads()) {
    const std::string thread = "thread #" + std::to_string(t->ordinal) + (t->name.empty() ? "" : " \"" + t->name + "\"");
    for (RootNode* r = t->roots; r != nullptr; r = r->prev) {
      if (r->ptr == nullptr) continue;
      tracer.root_name = root_names_.size() < 1000
                             ? root(thread + " Root" + (r->name ? std::string(" \"") + r->name + "\"" : std::string()))
                             : "Root";
      tracer.visit(r->ptr, nullptr, Tracer::kNoIndex);
    }
    for (const RootCallbackEntry& e : t->root_callbacks) {
      tracer.root_name = root(thread + " root callback" + (e.name ? std::string(" \"") + e.name + "\"" : std::string()));
      e.fn(tracer, e.context);
    }
  }
  h_.for_each_global([&](GlobalNode* g) {
    if (const void* p = g->ptr.load(std::memory_order_relaxed)) {
      tracer.root_name = root(std::string("Global") + (g->name ? std::string(" \"") + g->name + "\"" : std::string()));
      tracer.visit(p, nullptr, Tracer::kNoIndex);
    }
  });
  h_.for_each_heap_callback([&](RootCallbackEntry& e) {
    tracer.root_name = root(std::string("heap root callback") + (e.name ? std::string(" \"") + e.name + "\"" : std::string()));
    e.fn(tracer, e.context);
  });
  h_.for_each_ready_finalizer([&](const void* p) {
    tracer.root_name = "finalizer queue";
    tracer.visit(p, nullptr, Tracer::kNoIndex);
  });
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const void* obj = nodes_[i].obj;
    if (!on_object(obj)) continue;
    const TypeInfo& ti = type_info(header_of(obj)->type_id);
    if (ti.trace == nullptr) continue;
    tracer.parent = i;
    ti.trace(obj, tracer);
  }
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
      parts.push_front(n.field ? n.field : "root");
    } else {
      std::string f = "." + std::string(n.field ? n.field : "?");
      if (n.index != Tracer::kNoIndex) f += "[" + std::to_string(n.index) + "]";
      parts.push_front(f + " -> " + s);
    }
  }
  std::string out;
  for (auto& p : parts) out += (out.empty() ? "" : (p[0] == '.' ? "" : " -> ")) + p;
  return out;
}

void HeapImpl::verify_marking() {
  HeapWalk walk(*this);
  std::size_t bad = SIZE_MAX;
  walk.run([&](const void* obj) {
    Span* s = pages.span_of(obj);
    TC_CHECK(s != nullptr && s->state == SpanState::kInUse,
             "verifier: reachable pointer %p is not in the heap (a trace() visited something that was not "
             "returned by make<>(), or the object was freed)", obj);
    if (bad == SIZE_MAX && !s->is_marked(s->slot_index(obj))) bad = walk.nodes().size();
    return bad == SIZE_MAX;
  });
  if (bad == SIZE_MAX) return;
  // Find the node of the first unmarked object.
  for (std::size_t i = 0; i < walk.nodes().size(); ++i) {
    const void* obj = walk.nodes()[i].obj;
    if (!marker.is_marked(obj)) {
      fatal(__FILE__, __LINE__,
            "verifier: reachable object not marked after marking terminated (collector bug)\n"
            "  object: %s at %p\n  path:   %s",
            type_name_of(obj), obj, walk.path_to(i).c_str());
    }
  }
}

}  // namespace tricolor::internal
