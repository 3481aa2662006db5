#include "gc/marker.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "gc/background_thread.hpp"
#include "gc/collector_work.hpp"
#include "tricolor/weak.hpp"

namespace tricolor::internal {

std::uint64_t thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::uint64_t(ts.tv_sec) * 1000000000u + std::uint64_t(ts.tv_nsec);
}

void MarkingTracer::visit_weak(WeakSlot* slot, const char*) { cx_.weak_slots.push_back(slot); }
void MarkingTracer::visit_ephemeron(WeakSlot* key, std::atomic<const void*>* value_slot, const char*) {
  // acquire: pairs with the release store that set the slot, so the target's header and fields,
  // written before it was stored, are visible to the scan that follows a shade.
  const void* k = key->target.load(std::memory_order_acquire);
  const void* v = value_slot->load(std::memory_order_acquire);
  if (v == nullptr) return;
  // A live key makes the value strong now; otherwise decide at termination, when all keys are known.
  if (k != nullptr && m_.is_marked(k)) m_.shade(v, cx_);
  else cx_.ephemerons.emplace_back(key, value_slot);
}

MarkTeam mark_team(unsigned marker_threads, unsigned cpu_percent, unsigned cores) {
  cores = std::max(1u, cores);
  if (cpu_percent == 0) return {marker_threads != 0 ? marker_threads : std::max(1u, cores / 2), MarkDuty{}};
  const double share = double(cores) * double(std::min(cpu_percent, 100u)) / 100.0;  // in CPUs
  const unsigned threads =
      marker_threads != 0 ? marker_threads : std::max(1u, static_cast<unsigned>(std::ceil(share - 1e-9)));
  MarkDuty duty;
  duty.duty = std::min(1.0, share / double(threads));
  return {threads, duty};
}

Marker::Marker(PageHeap& pages, MarkTeam team)
    : pages_(pages), duty_(team.duty), pool_(team.threads == 0 ? 1 : team.threads) {
  TC_CHECK(duty_.duty > 0.0, "tricolor: a marker duty of %g", duty_.duty);
  const unsigned threads = team.threads == 0 ? 1 : team.threads;
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i] { thread_main(i); });
    name_thread(threads_.back(), "tc-marker", static_cast<int>(i));
  }
}

Marker::~Marker() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
  pool_.stop_waiting();
  for (auto& t : threads_) t.join();
}

namespace {
// The trace function of a type id. A one-entry cache in front of the type table: a heap is mostly
// runs of one type (a list, a tree, an array's elements), so most objects skip the table lookup.
struct TraceCache {
  std::uint32_t id = UINT32_MAX;
  void (*trace)(const void*, Tracer&) = nullptr;
  auto get(std::uint32_t type_id) {
    if (type_id != id) [[unlikely]] {
      id = type_id;
      trace = type_info(type_id).trace;
    }
    return trace;
  }
};

// One object: its trace() fills the tracer's buffer, then the buffer is shaded as a batch.
inline void scan_with(const void* obj, MarkingTracer& tracer, TraceCache& types) {
  if (auto trace = types.get(header_of(obj)->type_id)) {
    tracer.set_scanning(obj);
    trace(obj, tracer);
    tracer.flush();
  }
}
}  // namespace

void Marker::scan(const void* obj, MarkContext& cx) {
  MarkingTracer tracer(*this, cx);
  TraceCache types;
  scan_with(obj, tracer, types);
}

// The mark-bit tests are plain loads issued back to back, so their misses overlap (no locked
// instruction between them). The atomic fetch_or is then done once per run of consecutive candidates
// whose bits share a bitmap word: objects allocated together are often referenced together (a node's
// leaf children, an array's elements), and a run of k of them costs one locked instruction, not k.
// Whoever flips a bit (old value clear) pushes that object: still exactly one scan per object.
//
// The order of the pushes decides the walk (the worklist is LIFO): what is pushed last is scanned
// next. The scan's cost is the cache miss on each popped object's header, and a program's allocation
// order is the cheapest walk: a structure built top-down has each node's first child right after it
// (then its later children, each after the subtree before it), one built bottom-up its last child
// right before it. So the batch is pushed in field order (the last field's child is scanned next),
// or in reverse when its first field points nearer the parent than its last one: either layout is
// then walked in allocation order, forwards or backwards (tests/marker_test.cpp), where a fixed field
// order walks one of them against memory. Measured on this 2-core machine (marker CPU per run, same
// binary otherwise): GCBench's top-down long-lived tree 294 -> 77 ms (forward field order: 3.8x
// more), binary-trees (bottom-up) 0.93x wall and the quad tree 0.89x wall of the fixed order, while
// reversing the field order alone cost binary-trees 1.25x. The direction is decided from the batch's
// two ends, loaded by the first loop, and only the order of the push loop follows it: no entry is
// moved after its push, so the next pop does not wait on the decision. Against the rule before it
// (the nearest of all the winners pushed last: a distance test and a deferred push per winner), one
// marker's CPU per full collection of a 2-million-node binary tree, built top-down (GCBench's
// Populate) 41.0 -> 39.3 ms, bottom-up 42.3 -> 38.6 ms; mark-scaling's 4-million-node quad tree
// 10.5 -> 9.9 ns per node (medians: 7 collections in each of two processes per tree, 16 per quad
// tree). (Reversing the pushed entries afterwards instead cost the top-down tree 15%: the next pop
// then waits for the moves. A prefetch FIFO between pop and scan was measured twice and left out: it
// costs 45-80% more marker CPU on the bottom-up quad tree, whose walk the hardware already streams.)
std::size_t Marker::shade_batch(const void* const* objs, std::size_t n, MarkContext& cx, const void* parent) {
  struct Candidate {
    const void* obj;
    Span* span;
    std::atomic<std::uint64_t>* word;
    std::uint64_t bit;
  };
  TC_DCHECK(n <= kShadeBatch, "tricolor: shade batch of %zu", n);
  Candidate c[kShadeBatch];
  std::size_t m = 0;
  // The span of the previous pointer and its address range: neighbours in a batch (an object's
  // fields, a barrier buffer's records) mostly share a span, and then the page-table load and the
  // state check are skipped (measured: one marker 2-3% faster on the 200 MB tree, a Member store
  // with marking on 4.8 -> 4.0 ns, median batch). The range test stands in for them because an in-use
  // span's record and pages do not change (gc/page_heap.hpp) until the span is freed, and only a
  // sweep frees one (Sweeper::sweep_span), never while this runs: every caller shades while its
  // heap marks (markers, assists, root tracers, barrier flushes up to termination's round 1), the
  // previous cycle's sweep ended before marking began (sweep termination), and this cycle's starts
  // only at the flip, after round 1 (gc/collector.cpp). The interior-pointer check still runs on
  // every pointer.
  Span* last = nullptr;
  std::uintptr_t last_lo = 0, last_len = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const void* obj = objs[k];
    std::size_t i;
    Span* s;
    if (const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(obj); a - last_lo < last_len) {
      s = last;
      i = object_slot(s, obj);
    } else {
      s = object_span(obj, i);  // the same checks as shade(), in every build
      last = s;
      last_lo = s->start;
      last_len = s->bytes();
    }
    std::atomic<std::uint64_t>* w = &s->mark_bits[i / 64];
    const std::uint64_t bit = std::uint64_t{1} << (i % 64);
    // relaxed, like Span::mark_atomic: the mark bit guards no data (the fields a scan reads were
    // published by the cycle's start handshake or by the worklist hand-off).
    if (w->load(std::memory_order_relaxed) & bit) continue;
    c[m++] = {obj, s, w, bit};
  }
  // The walk's direction (above), decided from the batch's two ends, which the loop above has
  // loaded already: the pushes below go in field order, or in reverse when the first field points
  // nearer the parent than the last.
  bool reverse = false;
  if (n >= 2) {
    const std::uintptr_t from = reinterpret_cast<std::uintptr_t>(parent);
    auto distance = [from](const void* p) {
      const std::uintptr_t o = reinterpret_cast<std::uintptr_t>(p);
      return o > from ? o - from : from - o;
    };
    reverse = distance(objs[0]) < distance(objs[n - 1]);
  }
  // The x-th candidate in walk order.
  auto at = [&](std::size_t x) -> const Candidate& { return c[reverse ? m - 1 - x : x]; };
  std::size_t marked = 0, count = 0;
  for (std::size_t t = 0; t < m;) {
    // Candidates [t, u) in walk order share a mark word.
    std::atomic<std::uint64_t>* const word = at(t).word;
    std::size_t u = t + 1;
    std::uint64_t bits = at(t).bit;
    while (u < m && at(u).word == word) bits |= at(u++).bit;
    // relaxed: as Span::mark_atomic, the mark bit guards no data; the RMW alone decides who pushes.
    std::uint64_t won = bits & ~word->fetch_or(bits, std::memory_order_relaxed);
    for (; t < u; ++t) {
      const Candidate& k = at(t);
      if ((won & k.bit) == 0) continue;
      won &= ~k.bit;  // a pointer listed twice is pushed once
      const std::uint32_t bytes = k.span->elem_size;
      marked += bytes;
      ++count;
      if (!k.span->noscan) cx.work.push(k.obj, bytes);
    }
  }
  cx.marked_bytes += marked;
  return count;
}

std::size_t Marker::drain(MarkContext& cx, std::size_t budget_bytes) {
  CollectorWorkScope tracing(kInTrace);  // trace() must not collect or allocate: named, not hung
  MarkingTracer tracer(*this, cx);
  TraceCache types;
  std::size_t scanned = 0;
  std::size_t reported = 0;
  unsigned since_share = 0;
  while (scanned < budget_bytes) {
    // Depth-first (LIFO), in allocation order where shade_batch can tell it, in pop order.
    const MarkItem item = cx.work.pop();
    if (item.obj == nullptr) break;
    scan_with(item.obj, tracer, types);
    scanned += item.bytes;  // carried from shade(): no second span lookup
    // Idle markers cannot steal from a local segment: hand them half now and then. A binary tree's
    // depth-first stack holds only about its depth, so even a few entries are worth sharing.
    if (++since_share == 32) {
      since_share = 0;
      // Only when the pool cannot feed them: sharing costs a lock and a wake-up.
      if (cx.work.local_size() >= 4 && pool_.starving()) cx.work.share_half();
      // The pacer sizes assists by the work left: keep the shared progress count current.
      if (scanned - reported >= (256u << 10)) {
        scanned_bytes_.fetch_add(scanned - reported, std::memory_order_relaxed);
        reported = scanned;
      }
    }
  }
  scanned_bytes_.fetch_add(scanned - reported, std::memory_order_relaxed);  // relaxed: pacer progress only
  return scanned;
}

void Marker::merge(MarkContext& cx) {
  // relaxed: read by the controller after the markers went quiescent (an acquire) or in a stop.
  cycle_marked_bytes_.fetch_add(cx.marked_bytes, std::memory_order_relaxed);
  cx.marked_bytes = 0;
  if (!cx.weak_slots.empty() || !cx.ephemerons.empty()) {
    std::lock_guard lock(merge_mu_);
    weak_slots_.insert(weak_slots_.end(), cx.weak_slots.begin(), cx.weak_slots.end());
    ephemerons_.insert(ephemerons_.end(), cx.ephemerons.begin(), cx.ephemerons.end());
  }
  cx.weak_slots.clear();
  cx.ephemerons.clear();
}

void Marker::take_weak(std::vector<WeakSlot*>& slots, std::vector<Ephemeron>& eph) {
  std::lock_guard lock(merge_mu_);
  slots.insert(slots.end(), weak_slots_.begin(), weak_slots_.end());
  eph.insert(eph.end(), ephemerons_.begin(), ephemerons_.end());
  weak_slots_.clear();
  ephemerons_.clear();
}

// relaxed: between cycles, before the markers are woken (begin_cycle's mutex orders these stores).
void Marker::reset_cycle_counters() {
  cycle_marked_bytes_.store(0, std::memory_order_relaxed);
  scanned_bytes_.store(0, std::memory_order_relaxed);
  cycle_cpu_ns_.store(0, std::memory_order_relaxed);
}

void Marker::hold_for_testing(bool hold) {
  {
    std::lock_guard lock(mu_);
    held_ = hold;
  }
  cv_.notify_all();
}

void Marker::begin_cycle(std::function<void(MarkContext&)> root_task) {
  pool_.reset_round();
  {
    std::lock_guard lock(mu_);
    root_task_ = std::move(root_task);
    root_task_claimed_.store(false, std::memory_order_relaxed);  // relaxed: under mu_, with the task
    ++cycle_;
  }
  cv_.notify_all();
}

void Marker::wait_quiescent() {
  wait_hook_.fire();
  pool_.wait_quiescent();
}

void Marker::end_cycle() {
  pool_.stop_waiting();
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return running_ == 0; });
}

void Marker::thread_main(unsigned index) {
  become_background_thread();
  MarkContext cx(pool_, index);
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return shutdown_ || (cycle_ != seen && !held_); });
      if (shutdown_) return;
      seen = cycle_;
      ++running_;
    }
    std::uint64_t cpu0 = thread_cpu_ns();
    // For the CPU share (MarkDuty): this cycle's start and the marking CPU used since.
    const std::uint64_t woke = monotonic_ns();
    std::uint64_t used = 0;
    // acq_rel: the winner reads root_task_, written under mu_ before the cycle began.
    if (!root_task_claimed_.exchange(true, std::memory_order_acq_rel) && root_task_) root_task_(cx);
    for (;;) {
      std::uint64_t rest = 0;
      if (!duty_.capped()) {
        drain(cx);
      } else {
        // In slices, checking the share after each (a thread CPU clock read per slice).
        while (drain(cx, kDutySliceBytes) >= kDutySliceBytes &&
               (rest = duty_.rest_ns(used + thread_cpu_ns() - cpu0, monotonic_ns() - woke)) == 0) {
        }
        cx.work.publish();  // a resting (idle) marker holds no grey object: the pool's invariant
        if (rest != 0) rests_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a counter
      }
      merge(cx);  // before going idle: quiescence implies every count is in
      const std::uint64_t cpu1 = thread_cpu_ns();
      cycle_cpu_ns_.fetch_add(cpu1 - cpu0, std::memory_order_relaxed);
      used += cpu1 - cpu0;
      Segment* s = pool_.take_or_wait(index, rest);
      if (s == nullptr) break;  // end_cycle()
      cx.work.adopt(s);
      cpu0 = thread_cpu_ns();  // idle time is not marking time
    }
    merge(cx);
    {
      std::lock_guard lock(mu_);
      --running_;
    }
    cv_.notify_all();
  }
}

}  // namespace tricolor::internal
