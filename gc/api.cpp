// The public API's out-of-line parts: Heap, Mutator, BlockingScope, allocation entry points, and the
// misuse messages.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gc/collector_work.hpp"
#include "gc/heap_impl.hpp"
#include "gc/type_registry.hpp"
#include "tricolor/mutator.hpp"
#include "tricolor/weak.hpp"

namespace tricolor {

namespace internal {

__thread ThreadFast* tls_thread = nullptr;
__thread const char* tls_collector_work = nullptr;
std::atomic<bool> g_barrier_active{false};  // orders: at its declaration (fast_path.hpp)
std::atomic<bool> g_root_barrier_active{false};  // orders: at its declaration (fast_path.hpp)

namespace {
// The same words whether the thread is attached (refuse_allocation) or not (fail_not_attached).
constexpr const char* kAllocation = "an allocation (make<>, make_buffer, tc_alloc)";

// What to do instead, for each kind of collector work (gc/collector_work.hpp).
// By content: the same literal may have a different address in another translation unit.
const char* reentrancy_fix(const char* work) {
  if (std::strcmp(work, kInTrace) == 0)
    return "trace() must only visit the object's fields (t.trace(member, \"name\")) and read nothing that "
           "changes; do the work elsewhere, before or after the collection";
  if (std::strcmp(work, kInRootCallback) == 0) return "a root callback must only trace its slots (t.trace(ptr))";
  return "destructors must not collect or allocate; do that work in a finalizer (Heap::set_finalizer, run by "
         "Heap::run_finalizers() on a mutator), or after Heap::collect() returns";
}
}  // namespace

void fail_reentrant(const char* operation) {
  const char* work = tls_collector_work;
  fatal(__FILE__, __LINE__,
        "%s called from %s, which the collector runs in the middle of a collection: it would wait for "
        "the collector's own work and never return. %s",
        operation, work, reentrancy_fix(work));
}

void refuse_allocation(const ThreadState* t) {
  if (tls_collector_work != nullptr) fail_reentrant(kAllocation);
  TC_CHECK(t->blocking_depth != 0, "refuse_allocation: the thread may allocate");
  fatal(__FILE__, __LINE__,
        "an allocation (make<>, make_buffer, tc_alloc) inside a tricolor::BlockingScope (tc_blocking_enter): a "
        "thread in a BlockingScope counts as stopped, so collections scan its roots and take its allocation "
        "caches on its behalf, and it must not touch the heap; end the scope before allocating, or allocate "
        "before entering it");
}

void park_allocation(ThreadState* t) { t->spans.park_windows(t->cache); }

void unpark_allocation(ThreadState* t) {
  // While allocations are observed (or stressed), the window slots live in pending_ anyway
  // (gc/thread_cache.hpp).
  if (!t->impl.allocator.keeps_windows_empty()) t->spans.unpark_windows(t->cache);
}

void fail_not_attached(const char* what) {
  // The collector's own threads (markers, sweeper, controller) are not attached: say what ran there.
  if (tls_collector_work != nullptr) fail_reentrant(std::strcmp(what, "allocate") == 0 ? kAllocation : what);
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

void* allocate_small_slow_may_reach_safepoint(ThreadFast* t, std::size_t sc, bool may_fail) {
  return as_state(t)->impl.allocator.small_slow_may_reach_safepoint(as_state(t), sc, may_fail);
}

void* allocate_large_may_reach_safepoint(ThreadFast* t, std::size_t bytes, std::uint32_t type_id, bool noscan,
                                         bool may_fail) {
  return as_state(t)->impl.allocator.large_may_reach_safepoint(as_state(t), bytes, type_id, noscan, may_fail);
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

void check_object_pointer(const void* p, const char* what, const HeapImpl* heap) {
  if (heap == nullptr) {
    const ThreadFast* t = tls_thread;
    if (t == nullptr) return;
    heap = t->heap;
  }
  TC_CHECK(heap->contains(p),
           "%s given %p, which is not an object of this tricolor heap: pass the pointer make<>() returned, not an "
           "interior pointer (a field, an array element, or a base class that is not the object's first: see "
           "member.hpp), nor memory from malloc, the stack or another heap",
           what, p);
}

void register_global(Heap& heap, GlobalNode* node) {
  node->heap = &heap.impl();
  node->heap->roots().register_global(node);
}
void unregister_global(GlobalNode* node) {
  if (node->heap != nullptr) node->heap->roots().unregister_global(node);
}

void* make_buffer_impl(std::size_t bytes, bool may_fail) {
  ThreadFast* t = current_thread("allocate");
  // A zero-byte buffer still needs a payload byte: a header-only slot's payload address would be the
  // next slot (or the end of the span), not an object of its own.
  if (bytes == 0) bytes = 1;
  // allocate_object compares before any addition (object.hpp, "Sizes"): SIZE_MAX - 4 must not wrap
  // into a small slot.
  return allocate_object<0>(t, bytes, SpanKind::kNoScan, buffer_type_id(), may_fail);
}

}  // namespace internal

void Tracer::visit_ephemeron(internal::WeakSlot* key, std::atomic<const void*>* value_slot, const char* field) {
  // acquire: pairs with Member's release store, as a marker's load of any Member: the value may have
  // been allocated and published by a mutator during marking, and is scanned next. The key only
  // needs its null test (acquire as Weak::get, pairing with Weak's release store; off the hot path).
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

namespace {

constexpr std::size_t kMaxBytes = internal::PageHeap::kMaxReserveBytes;  // 16 TiB: no heap can use more
constexpr long long kMaxMillis = 24LL * 3600 * 1000;          // a day

enum class Parsed { kOk, kMalformed, kOutOfRange };

// A byte count: digits, a fraction only with a unit, and an optional binary unit k, m, g or t in
// either case, optionally followed by i and/or B (512m, 512M, 512MB, 512MiB, 2GiB, 1.5g, 1048576,
// 1048576B). Integer arithmetic throughout: nothing wraps or rounds through a double.
Parsed parse_bytes(const char* v, std::size_t* out) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const char* p = v;
  if (!digit(*p)) return Parsed::kMalformed;  // also refuses a sign: strtoull would wrap "-1"
  bool overflow = false;
  std::size_t whole = 0;
  for (; digit(*p); ++p)
    overflow |= __builtin_mul_overflow(whole, 10, &whole) || __builtin_add_overflow(whole, std::size_t(*p - '0'), &whole);
  std::uint64_t frac = 0, scale = 1;
  if (*p == '.') {
    ++p;
    if (!digit(*p)) return Parsed::kMalformed;
    for (; digit(*p); ++p) {
      if (scale == 1000000) return Parsed::kMalformed;  // more than 6 fraction digits
      frac = frac * 10 + std::uint64_t(*p - '0');
      scale *= 10;
    }
  }
  unsigned shift = 0;
  switch (*p) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: break;
  }
  if (shift != 0) {
    ++p;
    if (*p == 'i' || *p == 'I') ++p;
  } else if (scale != 1) {
    return Parsed::kMalformed;  // "1.5" bytes
  }
  if (*p == 'b' || *p == 'B') ++p;
  if (*p != '\0') return Parsed::kMalformed;
  if (overflow || (shift != 0 && whole > (SIZE_MAX >> shift))) return Parsed::kOutOfRange;
  // frac < scale <= 10^6 < 2^20 and shift <= 40: frac << shift fits 64 bits; the part is < 2^shift.
  const std::size_t part = static_cast<std::size_t>((frac << shift) / scale);
  if (__builtin_add_overflow(whole << shift, part, out)) return Parsed::kOutOfRange;
  return Parsed::kOk;
}

Parsed parse_integer(const char* v, long long* out) {
  const char* digits = v[0] == '-' ? v + 1 : v;
  if (*digits < '0' || *digits > '9') return Parsed::kMalformed;  // no spaces, no '+'
  char* end = nullptr;
  errno = 0;
  *out = std::strtoll(v, &end, 10);
  if (*end != '\0') return Parsed::kMalformed;
  return errno == ERANGE ? Parsed::kOutOfRange : Parsed::kOk;
}

std::string human_bytes(std::size_t n) {
  static const char* const kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (u < 4 && n != 0 && n % 1024 == 0) n /= 1024, ++u;
  return std::to_string(n) + " " + kUnits[u];
}

// Each TRICOLOR_* variable is checked against its range; an error names the variable, the value
// and what is accepted.
std::size_t env_bytes(const char* var, const char* v, std::size_t lo, std::size_t hi) {
  std::size_t x = 0;
  const Parsed r = parse_bytes(v, &x);
  TC_CHECK(r == Parsed::kOk && x >= lo && x <= hi,
           "%s=%s: %sexpected a byte count from %s to %s, such as 512m, 2g, 512MiB, 2GiB or 1048576", var, v,
           r == Parsed::kMalformed ? "" : "out of range: ", human_bytes(lo).c_str(), human_bytes(hi).c_str());
  return x;
}

long long env_integer(const char* var, const char* v, long long lo, long long hi, const char* also = "") {
  long long x = 0;
  const Parsed r = parse_integer(v, &x);
  TC_CHECK(r == Parsed::kOk && x >= lo && x <= hi, "%s=%s: %sexpected an integer from %lld to %lld%s", var, v,
           r == Parsed::kMalformed ? "" : "out of range: ", lo, hi, also);
  return x;
}

bool env_flag(const char* var, const char* v) {
  TC_CHECK((v[0] == '0' || v[0] == '1') && v[1] == '\0', "%s=%s: expected 0 or 1", var, v);
  return v[0] == '1';
}

}  // namespace

Config& Config::apply_env() {
  if (const char* v = std::getenv("TRICOLOR_GC_PERCENT")) {
    if (std::strcmp(v, "off") == 0) gc_percent = -1;
    else gc_percent = static_cast<int>(env_integer("TRICOLOR_GC_PERCENT", v, -1, kMaxGcPercent, " (-1 or off: no paced cycles)"));
  }
  if (const char* v = std::getenv("TRICOLOR_MAX_HEAP")) max_heap = env_bytes("TRICOLOR_MAX_HEAP", v, 0, kMaxBytes);
  if (const char* v = std::getenv("TRICOLOR_SOFT_LIMIT")) soft_limit = env_bytes("TRICOLOR_SOFT_LIMIT", v, 0, kMaxBytes);
  if (const char* v = std::getenv("TRICOLOR_INITIAL_HEAP"))
    initial_heap = env_bytes("TRICOLOR_INITIAL_HEAP", v, 0, kMaxBytes);
  if (const char* v = std::getenv("TRICOLOR_RESERVE"))
    reserve = env_bytes("TRICOLOR_RESERVE", v, internal::PageHeap::kArenaBytes, internal::PageHeap::kMaxReserveBytes);
  if (const char* v = std::getenv("TRICOLOR_MARKERS"))
    marker_threads = static_cast<unsigned>(env_integer("TRICOLOR_MARKERS", v, 0, kMaxMarkerThreads, " (0: half the cores)"));
  if (const char* v = std::getenv("TRICOLOR_MARK_CPU"))
    mark_cpu_percent = static_cast<unsigned>(env_integer("TRICOLOR_MARK_CPU", v, 0, 100, " (0: no cap)"));
  if (const char* v = std::getenv("TRICOLOR_CONCURRENT")) concurrent = env_flag("TRICOLOR_CONCURRENT", v);
  if (const char* v = std::getenv("TRICOLOR_VERIFY")) verify = env_flag("TRICOLOR_VERIFY", v);
  if (const char* v = std::getenv("TRICOLOR_GCTRACE")) gctrace = env_flag("TRICOLOR_GCTRACE", v);
  if (const char* v = std::getenv("TRICOLOR_ALLOC_SITES")) alloc_sites = env_bytes("TRICOLOR_ALLOC_SITES", v, 0, kMaxBytes);
  if (const char* v = std::getenv("TRICOLOR_FIND_LEAK")) find_leak = v;
  if (const char* v = std::getenv("TRICOLOR_COLLECT_EVERY"))
    collect_every = static_cast<std::size_t>(
        env_integer("TRICOLOR_COLLECT_EVERY", v, 0, 1ll << 40, " (0: off; 1: a collection at every allocation)"));
  if (const char* v = std::getenv("TRICOLOR_PERIODIC_GC_MS"))
    periodic_gc_ms = static_cast<unsigned>(env_integer("TRICOLOR_PERIODIC_GC_MS", v, 0, kMaxMillis, " (0: never)"));
  if (const char* v = std::getenv("TRICOLOR_SCAVENGE_MS"))
    scavenge_delay_ms = static_cast<unsigned>(env_integer("TRICOLOR_SCAVENGE_MS", v, 0, kMaxMillis));
  return *this;
}

// ---- Heap

const Config& internal::checked_config(const Config& c) {
  // The rest is either harmless at any value or checked where it is used (Config::reserve: the page
  // heap throws ReservationError).
  TC_CHECK(c.marker_threads <= Config::kMaxMarkerThreads,
           "Config::marker_threads = %u: at most %u marker threads (0: half the cores)", c.marker_threads,
           Config::kMaxMarkerThreads);
  TC_CHECK(c.mark_cpu_percent <= 100,
           "Config::mark_cpu_percent = %u: a share of the cores in percent, 1 to 100 (0: no cap)", c.mark_cpu_percent);
  return c;
}

// Heap::Heap is in introspect/heap_tools.cpp: it plugs the tools into the core.
Heap::~Heap() { delete impl_; }
void Heap::collect() {
  if (internal::tls_collector_work != nullptr) [[unlikely]]
    internal::fail_reentrant("Heap::collect()");
  // The caller blocks while it waits and then helps finish the sweep, running destructors: its
  // allocation windows are parked meanwhile (gc/collector_work.hpp), unless a BlockingScope did it.
  internal::ThreadFast* t = internal::tls_thread;
  internal::ThreadState* park =
      t != nullptr && t->heap == impl_ && internal::as_state(t)->blocking_depth == 0 ? internal::as_state(t) : nullptr;
  if (park != nullptr) internal::park_allocation(park);
  impl_->collector.collect();
  if (park != nullptr) internal::unpark_allocation(park);
}
void Heap::start_collection() { impl_->collector.request_cycle(); }
void Heap::set_collect_every(std::size_t n) { impl_->allocator.set_collect_every(n); }
Stats Heap::stats() const { return impl_->stats(); }

// The knobs change only the pacer's inputs (it recomputes under its own lock) and the scavenger's
// targets; a cycle in flight keeps running and ends with the new values (Pacer::end_cycle reads them
// under the same lock). A trigger now below the heap starts a cycle here, as the next allocation
// would.
static void after_pacing_change(internal::HeapImpl& h) {
  h.pages.set_scavenge_retain(h.pacer.goal() + h.pacer.goal() / 10);
  if (h.collector.heap_live() >= h.pacer.trigger()) h.collector.request_cycle();
}

int Heap::set_gc_percent(int percent) {
  TC_CHECK(percent >= -1 && percent <= Config::kMaxGcPercent,
           "Heap::set_gc_percent(%d): expected -1 (no paced cycles) to %d", percent, Config::kMaxGcPercent);
  const int old = impl_->pacer.set_gc_percent(percent);
  after_pacing_change(*impl_);
  return old;
}

std::size_t Heap::set_soft_limit(std::size_t bytes) {
  TC_CHECK(bytes <= kMaxBytes, "Heap::set_soft_limit(%zu): expected 0 (none) to %zu bytes (16 TiB)", bytes, kMaxBytes);
  const std::size_t old = impl_->pacer.set_soft_limit(bytes);
  impl_->pages.set_soft_limit(bytes);
  after_pacing_change(*impl_);
  return old;
}
const Config& Heap::config() const { return impl_->config; }
std::uint64_t Heap::add_roots(RootCallback cb, void* ctx, const char* name) { return impl_->roots().add_heap_roots(cb, ctx, name); }
void Heap::remove_roots(std::uint64_t id) { impl_->roots().remove_heap_roots(id); }
bool Heap::contains(const void* p) const { return impl_->contains(p); }
void Heap::set_finalizer(void* obj, void (*fn)(void*, void*), void* ctx) { impl_->set_finalizer(obj, fn, ctx); }
std::size_t Heap::run_finalizers(std::size_t max) { return impl_->run_finalizers(max); }
std::size_t Heap::pending_finalizers() const { return impl_->pending_finalizers(); }

// Reads the thread's own allocation cache, which a collection may release on the thread's behalf
// while it is in a BlockingScope: hence not there.
static internal::SlotCount thread_allocated(const char* what) {
  internal::ThreadState* t = internal::as_state(internal::current_thread(what));
  TC_CHECK(t->blocking_depth == 0,
           "%s inside a tricolor::BlockingScope: the collector may be releasing this thread's allocation caches "
           "meanwhile; read the counters before entering the scope or after leaving it",
           what);
  return t->spans.allocated(t->cache);
}

std::uint64_t allocated_objects() { return thread_allocated("tricolor::allocated_objects()").objects; }
std::uint64_t allocated_bytes() { return thread_allocated("tricolor::allocated_bytes()").bytes; }

// ---- Mutator

namespace {
// Detaches a thread that exits without destroying its Mutator.
struct ExitDetach {
  ~ExitDetach() {
    if (internal::ThreadFast* t = internal::tls_thread) {
      // A Root still alive outlives the thread (heap-allocated, or a leaked frame): its object would
      // be freed while the Root still points to it. (C threads are checked first, in C terms, in
      // capi/c_api.cpp.)
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
  const std::uint64_t id = next.fetch_add(1, std::memory_order_relaxed);  // relaxed: a unique number only
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

// Inside the scope the thread's allocation windows are parked (gc/collector_work.hpp), so that an
// allocation there is refused by name instead of racing with the collector, which releases a blocked
// thread's caches on its behalf. Parked while still running, unparked once running again: the
// collector never sees the cache half-parked. Cost: one pass over the span classes each way.
BlockingScope::BlockingScope() : t_(internal::current_thread("BlockingScope")) {
  auto* t = internal::as_state(t_);
  if (t->blocking_depth++ == 0) {
    internal::park_allocation(t);
    t->impl.safepoint.enter_blocking(t);
  }
}

BlockingScope::~BlockingScope() {
  auto* t = internal::as_state(t_);
  if (--t->blocking_depth == 0) {
    t->impl.safepoint.leave_blocking(t);
    internal::unpark_allocation(t);
  }
}

}  // namespace tricolor
