// HeapImpl: construction and teardown, thread attach/detach, running finalizers on a mutator, the
// tools' stop-the-world, and the heap-wide queries (contains, stats).
#include "gc/heap_impl.hpp"
#include "gc/poison.hpp"

#include <algorithm>
#include <tuple>

#include "gc/type_registry.hpp"

namespace tricolor::internal {

ThreadState::ThreadState(HeapImpl& h, MarkWorklist& pool, const char* thread_name)
    : impl(h), name(thread_name ? thread_name : ""), mark(pool) {
  heap = &h;
}

HeapImpl::HeapImpl(const Config& c, const ObserverFactory& make_observer)
    : config(c),
      pages(c.max_heap != 0
                ? std::min(c.reserve, std::max<std::size_t>(c.max_heap > SIZE_MAX / 2 ? SIZE_MAX : c.max_heap * 2,
                                                            256u << 20))
                : c.reserve,
            c.max_heap),
      marker(pages, mark_team(c.marker_threads, c.mark_cpu_percent, std::thread::hardware_concurrency())),
      pacer(c),
      safepoint([this](ThreadState* t, std::uint32_t a, bool on_behalf) { collector.perform(t, a, on_behalf); }),
      sweeper(*this),
      allocator(*this, c.collect_every),
      observer_(make_observer ? make_observer(*this) : nullptr),
      interests_(observer_ != nullptr ? observer_->interests() : HeapObserver::Interests{}) {
  pages.set_soft_limit(config.soft_limit);  // the soft limit bounds held memory too (page_heap.hpp)
  collector.start();
  if (config.background_sweeper) sweeper.start_background();
  poison::register_heap(pages.base(), pages.reserved_bytes());  // LeakSanitizer scans objects' pointers
}

HeapImpl::~HeapImpl() {
  collector.stop();
  sweeper.stop();
  {
    std::lock_guard lock(safepoint.threads_mu());
    TC_CHECK(safepoint.threads().empty(),
             "tricolor::Heap destroyed while %zu thread(s) are still attached: destroy every tricolor::Mutator "
             "of this heap first",
             safepoint.threads().size());
  }
  roots_.for_each_global([](const GlobalNode* g) {  // any Global left is misuse (the newest is named)
    TC_CHECK(false,
             "tricolor::Heap destroyed while a tricolor::Global (\"%s\") still refers to it: destroy Globals first",
             g->name ? g->name : "unnamed");
  });
  // Every object still allocated dies with the heap: run the destructors that are due.
  sweeper.finish(collector.sweep_gen());
  std::vector<Span*> spans;
  allocator.for_each_listed_span([&](Span* s) { spans.push_back(s); });
  for (Span* s : spans) {
    if (!s->has_destructors) continue;
    for (std::size_t i = 0; i < s->nslots; ++i)
      if (s->is_allocated(i))
        if (auto destroy = type_info(header_of(s->payload(i))->type_id).destroy) destroy(s->payload(i));
  }
  // The reservation is unmapped next: no ASan poison may outlive it (a later mapping could reuse it).
  // Only the committed part was ever poisoned (commits grow from the base); unpoisoning the whole
  // reservation would write its entire shadow (8 GiB for 64 GiB) and took most of a short program's
  // run time under ASan.
  poison::reused_region(reinterpret_cast<void*>(pages.base()), pages.committed_bytes());
  poison::unregister_heap(pages.base(), pages.reserved_bytes());
}

ThreadState* HeapImpl::attach(const char* name) {
  auto* t = new ThreadState(*this, marker.pool(), name);
  // Born blocked: the collector may act on its behalf until it is fully set up.
  t->run_state.store(kBlocked, std::memory_order_relaxed);
  {
    std::lock_guard lock(safepoint.threads_mu());
    t->ordinal = next_thread_ordinal_++;
    if (observer_ != nullptr) t->alloc_epoch = observer_->on_thread_attached(t->ordinal);  // LeakCheck's epochs
    // The cycle's flags change only under threads_mu (the collector holds it from the barrier round
    // through the root round, and in the termination stop): a thread attaching during marking arrives
    // after both rounds, so it shades, allocates black, and has no roots to scan.
    // relaxed: under threads_mu, as every store of the flag (Collector::marking_).
    t->marking = collector.marking().load(std::memory_order_relaxed);
    t->allocate_black = t->marking;
    t->roots_scanned = true;  // a new thread has no roots; pointers it obtains come from the heap
    t->heap_base = pages.base();
    t->heap_bytes = pages.reserved_bytes();
    safepoint.threads().push_back(t);
  }
  tls_thread = t;
  safepoint.leave_blocking(t);
  return t;
}

void HeapImpl::detach(ThreadState* t) {
  safepoint.enter_blocking(t);
  {
    // Holding threads_mu excludes every handshake, so nothing acts on our state meanwhile.
    std::lock_guard lock(safepoint.threads_mu());
    if (t->marking) flush_barrier(t);
    allocator.release_caches(t);
    auto& v = safepoint.threads();
    v.erase(std::remove(v.begin(), v.end(), t), v.end());
  }
  if (tls_thread == t) tls_thread = nullptr;
  delete t;
}

std::size_t HeapImpl::run_finalizers(std::size_t max) {
  ThreadFast* t = current_thread("run_finalizers()");
  TC_CHECK(t->heap == this, "Heap::run_finalizers: this thread is attached to another heap");
  return finalizers_.run_finalizers(max, [](const void* obj, const FinalizerQueue::Finalizer& f) {
    // Rooted while its finalizer runs (it is no longer in the ready queue).
    Root<const char> keep(static_cast<const char*>(obj), "<object being finalized>");
    f.fn(const_cast<void*>(obj), f.context);
  });
}

void HeapImpl::with_world_stopped(const std::function<void()>& f) {
  safepoint.with_world_stopped(attached_thread(), f);
}

bool HeapImpl::contains(const void* p) const {
  Span* s = pages.span_of(p);
  if (s == nullptr || s->state != SpanState::kInUse) return false;
  const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
  if (a < s->start + kHeaderSize) return false;
  const std::size_t i = s->slot_index(p);
  return i < s->nslots && s->payload(i) == p;
}

Stats HeapImpl::stats() const {
  Stats s;
  recorder.fill(s);
  s.heap_bytes = pages.in_use_bytes();
  s.heap_peak_bytes = pages.peak_in_use_bytes();
  std::tie(s.committed_bytes, s.released_bytes) = pages.committed_and_released();
  s.live_bytes = pacer.last_live();
  s.allocated_objects = allocator.allocated_objects();
  s.allocated_bytes = allocator.allocated_slot_bytes();
  s.heap_goal = pacer.goal();
  s.objects_freed = sweeper.objects_freed();
  return s;
}

}  // namespace tricolor::internal
