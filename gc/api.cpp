// The public API's out-of-line parts: Heap, Mutator, BlockingScope, allocation entry points, and the
// misuse messages.
#include <cstdlib>
#include <cstring>
#include <string>

#include "gc/heap_impl.hpp"
#include "gc/type_registry.hpp"
#include "tricolor/mutator.hpp"
#include "tricolor/weak.hpp"

namespace tricolor {

namespace internal {

__thread ThreadFast* tls_thread = nullptr;
std::atomic<bool> g_barrier_active{false};

void fail_not_attached(const char* what) {
  fatal(__FILE__, __LINE__,
        "%s from a thread that is not attached to a tricolor heap: create a tricolor::Mutator on this thread "
        "first (tricolor::Mutator m(heap);) and keep it alive while the thread uses the heap",
        what);
}

void fail_root_order(const RootNode* node) {
  if (tls_thread == nullptr)
    fatal(__FILE__, __LINE__,
          "tricolor::Root destroyed on a thread that is not attached (its Mutator was destroyed first, or "
          "the Root was moved to another thread): Roots must die before their thread's Mutator");
  fatal(__FILE__, __LINE__,
        "tricolor::Root%s%s%s destroyed out of order: Roots form a per-thread stack and must be destroyed in "
        "reverse order of creation (keep them as local variables; do not store them in heap-allocated or "
        "shared structures, and do not destroy them on another thread)",
        node->name ? " \"" : "", node->name ? node->name : "", node->name ? "\"" : "");
}

void* allocate_small_slow(ThreadFast* t, std::size_t sc, bool may_fail) {
  return as_state(t)->impl.allocate_small_slow(as_state(t), sc, may_fail);
}

void* allocate_large(ThreadFast* t, std::size_t bytes, std::uint32_t type_id, bool noscan, bool may_fail) {
  return as_state(t)->impl.allocate_large(as_state(t), bytes, type_id, noscan, may_fail);
}

void safepoint_slow(ThreadFast* t) { as_state(t)->impl.safepoint.poll_slow(as_state(t)); }

void debug_check_heap_pointer(const void* p, const char* what) {
  ThreadFast* t = tls_thread;
  if (p == nullptr || t == nullptr) return;
  TC_CHECK(as_state(t)->impl.contains(p),
           "%s: %p is not an object of this thread's tricolor heap (a pointer not returned by make<>(), an "
           "interior pointer, or an object of another heap)",
           what, p);
}

void register_global(Heap& heap, GlobalNode* node) { heap.impl().register_global(node); }
void unregister_global(GlobalNode* node) {
  if (node->heap != nullptr) node->heap->unregister_global(node);
}

void* make_buffer_impl(std::size_t bytes, bool may_fail) {
  ThreadFast* t = current_thread("allocate");
  // A zero-byte buffer still needs a payload byte: a header-only slot's payload address would be the
  // next slot (or the end of the span), not an object of its own.
  if (bytes == 0) bytes = 1;
  const std::uint32_t tid = buffer_type_id();
  if (bytes + kHeaderSize <= kMaxSmallSize) {
    const std::size_t sc = span_class(size_to_class(bytes + kHeaderSize), SpanKind::kNoScan);
    void* slot = allocate_small_dynamic(t, sc, may_fail);
    return slot == nullptr ? nullptr : finish_allocation(t, slot, tid);
  }
  return allocate_large(t, bytes + kHeaderSize, tid, true, may_fail);
}

}  // namespace internal

void Tracer::visit_ephemeron(internal::WeakSlot* key, std::atomic<const void*>* value_slot, const char* field) {
  const void* v = value_slot->load(std::memory_order_acquire);
  if (v != nullptr && key->target.load(std::memory_order_acquire) != nullptr) visit(v, field, kNoIndex);
}

void* make_buffer(std::size_t bytes) { return internal::make_buffer_impl(bytes, false); }
void* try_make_buffer(std::size_t bytes) { return internal::make_buffer_impl(bytes, true); }

const char* type_name_of(const void* obj) {
  return internal::type_info(internal::header_of(obj)->type_id).name;
}

const char* to_string(PauseKind k) {
  switch (k) {
    case PauseKind::kMarkStart: return "mark-start";
    case PauseKind::kMarkTermination: return "mark-termination";
    case PauseKind::kRootScan: return "root-scan";
    case PauseKind::kHandshake: return "handshake";
    case PauseKind::kAssist: return "assist";
    case PauseKind::kFullStop: return "full-stop";
    case PauseKind::kHeapLimitWait: return "heap-limit-wait";
  }
  return "?";
}

// ---- Config

static std::size_t parse_size(const char* var, const char* v) {
  char* end = nullptr;
  const double x = std::strtod(v, &end);
  TC_CHECK(end != v && x >= 0, "%s=%s: expected a byte count such as 512m, 2g or 1048576", var, v);
  double mul = 1;
  if (*end == 'k' || *end == 'K') mul = 1024.0, ++end;
  else if (*end == 'm' || *end == 'M') mul = 1024.0 * 1024, ++end;
  else if (*end == 'g' || *end == 'G') mul = 1024.0 * 1024 * 1024, ++end;
  if (*end == 'b' || *end == 'B') ++end;
  TC_CHECK(*end == '\0', "%s=%s: expected a byte count such as 512m, 2g or 1048576", var, v);
  return static_cast<std::size_t>(x * mul);
}

static long parse_int(const char* var, const char* v) {
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  TC_CHECK(end != v && *end == '\0', "%s=%s: expected an integer", var, v);
  return x;
}

Config& Config::apply_env() {
  if (const char* v = std::getenv("TRICOLOR_GC_PERCENT")) {
    if (std::strcmp(v, "off") == 0) gc_percent = -1;
    else gc_percent = static_cast<int>(parse_int("TRICOLOR_GC_PERCENT", v));
  }
  if (const char* v = std::getenv("TRICOLOR_MAX_HEAP")) max_heap = parse_size("TRICOLOR_MAX_HEAP", v);
  if (const char* v = std::getenv("TRICOLOR_SOFT_LIMIT")) soft_limit = parse_size("TRICOLOR_SOFT_LIMIT", v);
  if (const char* v = std::getenv("TRICOLOR_INITIAL_HEAP")) initial_heap = parse_size("TRICOLOR_INITIAL_HEAP", v);
  if (const char* v = std::getenv("TRICOLOR_MARKERS"))
    marker_threads = static_cast<unsigned>(parse_int("TRICOLOR_MARKERS", v));
  if (const char* v = std::getenv("TRICOLOR_CONCURRENT")) concurrent = parse_int("TRICOLOR_CONCURRENT", v) != 0;
  if (const char* v = std::getenv("TRICOLOR_VERIFY")) verify = parse_int("TRICOLOR_VERIFY", v) != 0;
  if (const char* v = std::getenv("TRICOLOR_GCTRACE")) gctrace = parse_int("TRICOLOR_GCTRACE", v) != 0;
  if (const char* v = std::getenv("TRICOLOR_ALLOC_SITES")) alloc_sites = parse_size("TRICOLOR_ALLOC_SITES", v);
  if (const char* v = std::getenv("TRICOLOR_FIND_LEAK")) find_leak = v;
  if (const char* v = std::getenv("TRICOLOR_PERIODIC_GC_MS"))
    periodic_gc_ms = static_cast<unsigned>(parse_int("TRICOLOR_PERIODIC_GC_MS", v));
  if (const char* v = std::getenv("TRICOLOR_SCAVENGE_MS"))
    scavenge_delay_ms = static_cast<unsigned>(parse_int("TRICOLOR_SCAVENGE_MS", v));
  return *this;
}

// ---- Heap

Heap::Heap(Config config) : impl_(new internal::HeapImpl(config.apply_env())) {}
Heap::~Heap() { delete impl_; }
void Heap::collect() { impl_->collect(); }
Stats Heap::stats() const { return impl_->stats(); }
const Config& Heap::config() const { return impl_->config; }
std::uint64_t Heap::add_roots(RootCallback cb, void* ctx, const char* name) { return impl_->add_heap_roots(cb, ctx, name); }
void Heap::remove_roots(std::uint64_t id) { impl_->remove_heap_roots(id); }
bool Heap::contains(const void* p) const { return impl_->contains(p); }
void Heap::set_finalizer(void* obj, void (*fn)(void*, void*), void* ctx) { impl_->set_finalizer(obj, fn, ctx); }
std::size_t Heap::run_finalizers(std::size_t max) { return impl_->run_finalizers(max); }
std::size_t Heap::pending_finalizers() const { return impl_->pending_finalizers(); }

// ---- Mutator

namespace {
// Detaches a thread that exits without destroying its Mutator.
struct ExitDetach {
  ~ExitDetach() {
    if (internal::ThreadFast* t = internal::tls_thread) {
      // A Root still alive outlives the thread (heap-allocated, or a leaked frame): its object would
      // be freed while the Root still points to it. (C threads are checked first, in C terms, in
      // gc/c_api.cpp.)
      TC_CHECK(t->roots == nullptr,
               "a thread exited attached to a tricolor heap while its Root \"%s\" was still alive: the thread "
               "is detached and its roots forgotten, so that Root's object could be freed while in use. Destroy "
               "every Root of a thread before it exits",
               t->roots->name ? t->roots->name : "unnamed");
      t->roots = nullptr;  // the thread's stack is gone
      internal::as_state(t)->impl.detach(internal::as_state(t));
    }
  }
};
thread_local ExitDetach t_exit_detach;
thread_local Mutator* t_mutator = nullptr;
}  // namespace

Mutator::Mutator(Heap& heap, const char* name) : heap_(&heap) {
  TC_CHECK(internal::tls_thread == nullptr,
           "tricolor::Mutator: this thread is already attached to a heap (one Mutator per thread)");
  (void)&t_exit_detach;  // instantiate the thread-exit hook
  state_ = heap.impl().attach(name);
  t_mutator = this;
}

Mutator::~Mutator() {
  auto* t = static_cast<internal::ThreadState*>(state_);
  TC_CHECK(internal::tls_thread == t, "tricolor::Mutator destroyed on a thread other than the one it attached");
  TC_CHECK(t->roots == nullptr,
           "tricolor::Mutator destroyed while Root \"%s\" of its thread is still alive: destroy Roots before the "
           "Mutator",
           t->roots->name ? t->roots->name : "unnamed");
  TC_CHECK(t->blocking_depth == 0, "tricolor::Mutator destroyed inside a BlockingScope");
  heap_->impl().detach(t);
  t_mutator = nullptr;
}

Mutator* Mutator::current() { return t_mutator; }

std::uint64_t Mutator::add_roots(RootCallback cb, void* ctx, const char* name) {
  TC_CHECK(cb != nullptr, "Mutator::add_roots: the callback is null");
  auto* t = static_cast<internal::ThreadState*>(state_);
  TC_CHECK(internal::tls_thread == t, "Mutator::add_roots must be called on the Mutator's own thread");
  static std::atomic<std::uint64_t> next{1};
  const std::uint64_t id = next.fetch_add(1, std::memory_order_relaxed);
  t->root_callbacks.push_back({id, cb, ctx, name});
  return id;
}

void Mutator::remove_roots(std::uint64_t id) {
  auto* t = static_cast<internal::ThreadState*>(state_);
  TC_CHECK(internal::tls_thread == t, "Mutator::remove_roots must be called on the Mutator's own thread");
  for (auto it = t->root_callbacks.begin(); it != t->root_callbacks.end(); ++it)
    if (it->id == id) {
      t->root_callbacks.erase(it);
      return;
    }
  TC_CHECK(false, "Mutator::remove_roots: no root callback with id %llu", static_cast<unsigned long long>(id));
}

BlockingScope::BlockingScope() : t_(internal::current_thread("BlockingScope")) {
  auto* t = internal::as_state(t_);
  if (t->blocking_depth++ == 0) t->impl.safepoint.enter_blocking(t);
}

BlockingScope::~BlockingScope() {
  auto* t = internal::as_state(t_);
  if (--t->blocking_depth == 0) t->impl.safepoint.leave_blocking(t);
}

}  // namespace tricolor
