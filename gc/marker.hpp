// The mark loop: shading, scanning, and the team of background marker threads.
//
// Colors: white = mark bit clear; grey = mark bit set and not yet scanned (in a worklist segment, or
// popped by a thread that is scanning it); black = mark bit set and scanned. shade() and
// shade_batch() are the only white-to-grey transitions (an atomic fetch_or on the span's mark word;
// whoever flips a bit pushes that object, so each object is scanned exactly once per cycle).
// Pointer-free (noscan) objects go straight to black.
//
// The per-object cost model of drain(): pop (a local segment, no synchronisation), read the header's
// type id (a one-entry cache in front of the type table), one direct call of the type's trace(),
// which stores each non-null field into the MarkingTracer's buffer (no virtual call), then
// shade_batch() on that buffer (pushed in field order, or in reverse when the first field is the
// nearer end, so the walk follows allocation order): one page-table lookup and a plain mark-bit load
// per field, one atomic per run of fields whose bits share a bitmap word, and a push of the object
// with its slot size (so the scan needs no second lookup).
//
// A cycle's marking, as the controller (gc/collector.cpp) drives it:
//  1. begin_cycle(): markers wake and drain the pool; one of them runs the root task (globals).
//  2. wait_quiescent(): every marker idle and the pool empty (mutators may still publish barrier work,
//     which wakes markers again).
//  3. end_cycle(): markers stop waiting and sleep until the next cycle.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "gc/mark_worklist.hpp"
#include "gc/page_heap.hpp"
#include "gc/test_hook.hpp"
#include "tricolor/object.hpp"

namespace tricolor::internal {

struct WeakSlot;
// (key slot, value slot) of an ephemeron whose key was not marked when its owner was scanned.
using Ephemeron = std::pair<WeakSlot*, std::atomic<const void*>*>;

// Per marking thread (marker, or a mutator flushing/assisting): its local worklist and counters.
struct MarkContext {
  // home: see LocalWorklist (a marker's shelf index; threads outside the team use the inbox).
  explicit MarkContext(MarkWorklist& pool, unsigned home = MarkWorklist::kInbox) : work(pool, home) {}
  LocalWorklist work;
  std::size_t marked_bytes = 0;
  std::vector<WeakSlot*> weak_slots;   // seen this cycle
  std::vector<Ephemeron> ephemerons;   // seen this cycle with an unmarked key
};

[[noreturn, gnu::cold, gnu::noinline]] inline void fail_shade_not_object(const void* obj) {
  fatal(__FILE__, __LINE__,
        "tricolor: the marker reached %p, which is not an object of this heap (a stack, static or malloc'ed "
        "address, an object of another heap, or a freed one): every pointer in a traced field, Root or tc_root, "
        "Weak, global or root callback must be NULL or an object this heap allocated",
        obj);
}
[[noreturn, gnu::cold, gnu::noinline]] inline void fail_shade_interior(const void* obj, const void* slot_object) {
  fatal(__FILE__, __LINE__,
        "tricolor: the marker reached %p, a pointer into an object (the slot's object starts at %p) rather than "
        "to its start: fields, roots and weak references must hold the address the allocator returned (with "
        "several base classes, a Member's type must be the object's first base)",
        obj, slot_object);
}

// Background marking's CPU share (Config::mark_cpu_percent, Go's 25% dedicated mark workers made
// fractional). Each marker may use `duty` of the wall time since it woke for the cycle (1: no cap),
// plus a burst allowance, so a short cycle runs uncapped. Past that it rests: it publishes its local
// work and waits, counted idle (MarkWorklist::take_or_wait), until its CPU time is back at the
// share. Nothing is lost meanwhile: the scan falls behind the pacer's schedule, so allocating threads
// assist (gc/pacer.hpp) and take the published work; the controller's quiescence test is exact either
// way, because a resting marker holds no grey object.
struct MarkDuty {
  double duty = 1.0;
  std::uint64_t burst_ns = 1'000'000;
  bool capped() const { return duty < 1.0; }
  // How long to rest after using cpu_ns of CPU over elapsed_ns of wall time: 0 while within the
  // share plus the burst, else until cpu_ns is exactly the share of the time passed.
  std::uint64_t rest_ns(std::uint64_t cpu_ns, std::uint64_t elapsed_ns) const {
    if (!capped() || double(cpu_ns) <= duty * double(elapsed_ns) + double(burst_ns)) return 0;
    return static_cast<std::uint64_t>(double(cpu_ns) / duty) - elapsed_ns;
  }
};

// The marker team for a heap: how many threads and at what duty. marker_threads 0 means as many as
// the share needs (at least one); cpu_percent 0 means no cap: half the cores, each at full speed (or
// marker_threads, at full speed). With both given, each of the threads runs at its part of the share.
struct MarkTeam {
  unsigned threads;
  MarkDuty duty;
};
MarkTeam mark_team(unsigned marker_threads, unsigned cpu_percent, unsigned cores);

class Marker {
 public:
  Marker(PageHeap& pages, MarkTeam team);
  ~Marker();
  Marker(const Marker&) = delete;
  Marker& operator=(const Marker&) = delete;

  // Marks obj grey if it was white (true then). obj must be an object start of this heap: checked in
  // every build, since a foreign, static, freed or interior pointer reached through a field, root,
  // weak reference or root callback would otherwise crash a marker thread or set a stray mark bit.
  // The check is predictable branches on the marking path only; the mutator's inline barrier never
  // comes here.
  bool shade(const void* obj, MarkContext& cx) {
    std::size_t i;
    Span* s = object_span(obj, i);
    if (!s->mark_atomic(i)) return false;
    cx.marked_bytes += s->elem_size;
    if (!s->noscan) cx.work.push(obj, s->elem_size);
    return true;
  }
  // The span of obj and its slot index i, stopping with a message unless obj is an object start of
  // this heap (the check shade() and shade_batch() make in every build).
  Span* object_span(const void* obj, std::size_t& i) const {
    Span* s = pages_.span_of(obj);
    if (s == nullptr || s->state != SpanState::kInUse) [[unlikely]]
      fail_shade_not_object(obj);
    i = object_slot(s, obj);
    return s;
  }
  // obj's slot index in s, a span in use whose pages hold obj, stopping with a message unless obj is
  // the start of that slot's object (object_span's second check; shade_batch's span cache calls it
  // alone).
  static std::size_t object_slot(const Span* s, const void* obj) {
    const std::size_t i = s->slot_index(obj);
    if (i >= s->nslots || s->payload(i) != obj) [[unlikely]]
      fail_shade_interior(obj, s->payload(i));
    return i;
  }
  // Shades n pointers at once (the fields one trace() call reported, or a barrier buffer's chunk;
  // n <= kShadeBatch). Same effect as shade() on each, with one atomic per run of pointers whose mark
  // bits share a bitmap word. Returns how many objects it turned grey (or black, if pointer-free).
  static constexpr std::size_t kShadeBatch = 64;
  std::size_t shade_batch(const void* const* objs, std::size_t n, MarkContext& cx, const void* parent = nullptr);
  bool is_marked(const void* obj) const {
    const Span* s = pages_.span_of(obj);
    return s != nullptr && s->is_marked(s->slot_index(obj));
  }

  // Scans grey objects until the local worklist and the pool are empty, or until budget_bytes of
  // objects have been scanned (assists). Returns the bytes scanned.
  std::size_t drain(MarkContext& cx, std::size_t budget_bytes = SIZE_MAX);
  // Scans one object's fields (its white children become grey).
  void scan(const void* obj, MarkContext& cx);

  void begin_cycle(std::function<void(MarkContext&)> root_task);
  void wait_quiescent();
  // Exact: every marker idle and nothing published (MarkWorklist::quiescent()).
  bool quiescent() const { return pool_.quiescent(); }
  void end_cycle();

  // Totals of the cycle that just ended (valid after end_cycle()).
  std::size_t cycle_marked_bytes() const { return cycle_marked_bytes_.load(std::memory_order_relaxed); }
  std::uint64_t cycle_cpu_ns() const { return cycle_cpu_ns_.load(std::memory_order_relaxed); }
  // relaxed: an assist's progress estimate; no data is read through it.
  std::size_t scanned_bytes_so_far() const { return scanned_bytes_.load(std::memory_order_relaxed); }
  void reset_cycle_counters();
  // Weak slots and ephemerons seen by the markers this cycle (after end_cycle()).
  void take_weak(std::vector<WeakSlot*>& slots, std::vector<Ephemeron>& eph);
  void merge(MarkContext& cx);

  MarkWorklist& pool() { return pool_; }
  void hold_for_testing(bool hold);
  // Test hook (gc/testing.hpp): fn(ctx) runs on the thread that enters wait_quiescent(), before it
  // blocks (null: none).
  void set_wait_hook_for_testing(TestHook::Fn fn, void* ctx) { wait_hook_.set(fn, ctx); }
  PageHeap& pages() { return pages_; }
  unsigned threads() const { return static_cast<unsigned>(threads_.size()); }
  const MarkDuty& duty() const { return duty_; }
  // Rests taken by markers over their CPU share, since the heap began (tests, reports). relaxed: a
  // counter.
  std::uint64_t rests() const { return rests_.load(std::memory_order_relaxed); }

 private:
  // A capped marker checks its share after each slice of this much scanning (about 0.1 ms).
  static constexpr std::size_t kDutySliceBytes = 256u << 10;
  void thread_main(unsigned index);

  PageHeap& pages_;
  const MarkDuty duty_;
  MarkWorklist pool_;
  std::vector<std::thread> threads_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t cycle_ = 0;        // incremented by begin_cycle
  std::size_t running_ = 0;        // markers inside the current cycle's loop
  bool shutdown_ = false;
  std::function<void(MarkContext&)> root_task_;
  std::atomic<bool> root_task_claimed_{false};
  bool held_ = false;  // guarded by mu_ (test hook)
  TestHook wait_hook_;  // set_wait_hook_for_testing

  std::mutex merge_mu_;
  std::vector<WeakSlot*> weak_slots_;
  std::vector<Ephemeron> ephemerons_;

  // The cycle's totals. relaxed: counters; the controller reads them after the markers went quiescent
  // (MarkWorklist::quiescent's acquire) or after end_cycle() (mu_), which order every addition.
  // scanned_bytes_ is also read during the cycle as the pacer's progress estimate.
  std::atomic<std::size_t> cycle_marked_bytes_{0};
  std::atomic<std::size_t> scanned_bytes_{0};
  std::atomic<std::uint64_t> cycle_cpu_ns_{0};
  std::atomic<std::uint64_t> rests_{0};
};

// The Tracer that marks: every traced pointer is shaded into the context's worklist. It lends trace()
// its buffer (the Tracer sink, include/tricolor/tracer.hpp), so a field costs a store, not a virtual
// call; flush() shades what the buffer holds, in one batch. Whoever traces through it flushes before
// publishing or merging the context (the destructor flushes too, for scopes that just end).
class MarkingTracer final : public Tracer {
 public:
  MarkingTracer(Marker& m, MarkContext& cx) : m_(m), cx_(cx) {
    sink_next_ = buf_;
    sink_end_ = buf_ + Marker::kShadeBatch;
  }
  ~MarkingTracer() { flush(); }
  MarkingTracer(const MarkingTracer&) = delete;
  MarkingTracer& operator=(const MarkingTracer&) = delete;

  void flush() {
    if (sink_next_ != buf_) {
      m_.shade_batch(buf_, static_cast<std::size_t>(sink_next_ - buf_), cx_, scanning_);
      sink_next_ = buf_;
    }
  }
  // Reached when the buffer is full, or from callers that visit() directly (the C API's trace
  // functions): those fill the same buffer, shaded when it is full or the object is done.
  void visit(const void* obj, const char*, std::size_t) override {
    if (sink_next_ == sink_end_) flush();
    *sink_next_++ = obj;
  }
  // The object whose fields follow (shade_batch's parent), or null.
  void set_scanning(const void* obj) { scanning_ = obj; }
  void visit_weak(WeakSlot* slot, const char*) override;
  void visit_ephemeron(WeakSlot* key, std::atomic<const void*>* value_slot, const char*) override;

 private:
  Marker& m_;
  MarkContext& cx_;
  const void* scanning_ = nullptr;
  const void* buf_[Marker::kShadeBatch];
};

std::uint64_t thread_cpu_ns();

}  // namespace tricolor::internal
