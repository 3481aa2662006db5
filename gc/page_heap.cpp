#include "gc/page_heap.hpp"

#include <sys/mman.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iterator>
#include <string>

#include "tricolor/heap.hpp"
#include "tricolor/internal/check.hpp"

namespace tricolor::internal {

namespace {
[[gnu::format(printf, 1, 2)]] std::string format_message(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}
}  // namespace

std::uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::uint64_t(ts.tv_sec) * 1000000000u + std::uint64_t(ts.tv_nsec);
}

PageHeap::PageHeap(std::size_t reserve_bytes, std::size_t max_heap) : max_heap_(max_heap) {
  // Misconfiguration and a refusing OS are both reported by exception (Heap's constructor lets it
  // through): an embedder may retry with a smaller reservation, and the C API turns it into NULL.
  if (reserve_bytes > kMaxReserveBytes)
    throw ReservationError(format_message(
        "tricolor: Config::reserve = %zu bytes is more than the largest reservation, %zu bytes (16 TiB); "
        "lower Config::reserve (or TRICOLOR_RESERVE)",
        reserve_bytes, kMaxReserveBytes));
  // At least one arena; whole arenas (cannot overflow: reserve_bytes <= kMaxReserveBytes).
  reserved_bytes_ = std::max<std::size_t>((reserve_bytes + kArenaBytes - 1) / kArenaBytes, 1) * kArenaBytes;
  // Reserve one arena more and align, so arenas are naturally aligned.
  void* p = mmap(nullptr, reserved_bytes_ + kArenaBytes, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw ReservationError(format_message(
        "tricolor: cannot reserve %zu bytes of address space for the heap (mmap: %s); lower Config::reserve "
        "(or TRICOLOR_RESERVE), or raise the address-space limit (ulimit -v)",
        reserved_bytes_ + kArenaBytes, std::strerror(errno)));
  std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
  std::uintptr_t aligned = (a + kArenaBytes - 1) & ~(std::uintptr_t{kArenaBytes} - 1);
  if (aligned > a) munmap(p, aligned - a);
  std::uintptr_t tail = aligned + reserved_bytes_;
  std::uintptr_t map_end = a + reserved_bytes_ + kArenaBytes;
  if (map_end > tail) munmap(reinterpret_cast<void*>(tail), map_end - tail);
  base_ = aligned;

  // The page table, then free_edges_ (one entry per page each).
  static_assert(sizeof(std::atomic<Span*>) == sizeof(Span*));
  page_table_bytes_ = 2 * (reserved_bytes_ / kPageSize * sizeof(Span*));
  void* pt = mmap(nullptr, page_table_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                  -1, 0);
  if (pt == MAP_FAILED) {
    const int err = errno;
    munmap(reinterpret_cast<void*>(base_), reserved_bytes_);
    throw ReservationError(format_message(
        "tricolor: cannot map the page table (%zu bytes) for a %zu-byte heap reservation (mmap: %s); lower "
        "Config::reserve (or TRICOLOR_RESERVE), or raise the address-space limit (ulimit -v)",
        page_table_bytes_, reserved_bytes_, std::strerror(err)));
  }
  page_table_ = static_cast<std::atomic<Span*>*>(pt);  // zero pages: every entry null
  free_edges_ = reinterpret_cast<Span**>(static_cast<char*>(pt) + page_table_bytes_ / 2);
}

PageHeap::~PageHeap() {
  munmap(reinterpret_cast<void*>(base_), reserved_bytes_);
  munmap(page_table_, page_table_bytes_);
  for (Span* s : all_records_) delete s;
}

Span* PageHeap::new_span_record() {
  if (!spare_records_.empty()) {
    Span* s = spare_records_.back();
    spare_records_.pop_back();
    return s;
  }
  Span* s = new Span();
  all_records_.insert(s);
  return s;
}

// Records of coalesced spans go back to malloc beyond a reserve: a heap that shrinks from 1 GB to
// 10 MB would otherwise keep ~40 MB of span records resident forever. The reserve grows with the
// memory the heap holds (a record per 8 held pages, under 0.5% of it), because a heap whose spans
// all die at once (a sweep that frees everything) coalesces and then splits them again, and with a
// fixed 256 that churned thousands of records through malloc per cycle.
void PageHeap::delete_span_record(Span* s) {
  if (spare_records_.size() < std::max(kSpareRecords, held_bytes() / kPageSize / 8)) {
    spare_records_.push_back(s);
    return;
  }
  all_records_.erase(s);
  delete s;
}

// Merging a free neighbour into s. A span is either wholly released or counted as resident: when the
// parts differ, the result counts as resident (released_bytes under-counts; the pages the OS already
// took back are not touched again, and the scavenger will release the whole span when it qualifies).
// Releasing the resident part instead would fault in pages a freshly freed span is about to reuse.
// Under a limit (hard or soft), when counting the result as resident would take held memory past it,
// the resident part is released instead: held memory stays under the limit at every moment, at the
// price of a page fault later. Well below the limit nothing changes (no system call on this path).
void PageHeap::absorb(Span* s, Span* neighbour) {
  if (s->scavenged != neighbour->scavenged) {
    Span* released = s->scavenged ? s : neighbour;
    Span* held = s->scavenged ? neighbour : s;
    const std::size_t soft = soft_limit_.load(std::memory_order_relaxed);
    const std::size_t cap = max_heap_ == 0 ? soft : soft == 0 ? max_heap_ : std::min(max_heap_, soft);
    if (cap != 0 && held_bytes() + released->bytes() > cap &&
        madvise(reinterpret_cast<void*>(held->start), held->bytes(), MADV_DONTNEED) == 0) {
      released_bytes_.fetch_add(held->bytes(), std::memory_order_relaxed);
      s->scavenged = true;
    } else {
      released_bytes_.fetch_sub(released->bytes(), std::memory_order_relaxed);
      s->scavenged = false;
    }
  }
  if (neighbour->start < s->start) s->start = neighbour->start;
  s->npages += neighbour->npages;
  delete_span_record(neighbour);
}

// whole: s in use (value s) or leaving use (null), in the page table. Otherwise s free, at its edges.
void PageHeap::set_range(Span* s, Span* value, bool whole) {
  const std::size_t first = (s->start - base_) >> kPageShift;
  if (whole) {
    // release: pairs with span_of's acquire: a reader that finds s sees init_span's writes. (Storing
    // null publishes nothing; a reader still holding s read it while s was in use.)
    for (std::size_t i = 0; i < s->npages; ++i) page_table_[first + i].store(value, std::memory_order_release);
  } else {
    free_edges_[first] = value;
    free_edges_[first + s->npages - 1] = value;
  }
}

void PageHeap::insert_free(Span* s) {
  s->state = SpanState::kFree;
  free_index(s).insert(s);
  set_range(s, s, false);
}

void PageHeap::remove_free(Span* s) {
  free_index(s).erase(s);
  set_range(s, nullptr, false);
}

bool PageHeap::grow(std::size_t npages) {
  const std::size_t want = (npages + kArenaPages - 1) / kArenaPages * kArenaPages;
  const std::size_t have = committed_pages_.load(std::memory_order_relaxed);
  if ((have + want) * kPageSize > reserved_bytes_) return false;
  if (fail_commits_.load(std::memory_order_relaxed)) return false;
  void* at = reinterpret_cast<void*>(base_ + have * kPageSize);
  if (mprotect(at, want * kPageSize, PROT_READ | PROT_WRITE) != 0) return false;
  committed_pages_.store(have + want, std::memory_order_relaxed);
  Span* s = new_span_record();
  s->start = reinterpret_cast<std::uintptr_t>(at);
  s->npages = static_cast<std::uint32_t>(want);
  // Never touched, so not resident: counted as released until a span takes the pages.
  s->scavenged = true;
  released_bytes_.fetch_add(want * kPageSize, std::memory_order_relaxed);
  s->free_since_ns = monotonic_ns();
  // Coalesce with a free span that ends at the old frontier.
  if (have > 0) {
    if (Span* left = free_edges_[have - 1]; left != nullptr) {
      TC_DCHECK(left->state == SpanState::kFree, "page heap: free edge of a span in use");
      remove_free(left);
      absorb(s, left);
    }
  }
  insert_free(s);
  return true;
}

void PageHeap::init_span(Span* s, std::uint16_t span_class, std::uint32_t sweep_gen, SpanKind large_kind) {
  s->span_class = span_class;
  s->state = SpanState::kInUse;
  s->has_destructors = false;
  s->next = s->prev = nullptr;
  if (span_class == kLargeSpanClass) {
    s->noscan = large_kind == SpanKind::kNoScan;
    s->has_destructors = large_kind == SpanKind::kFinalize;
    s->nslots = 1;
    s->elem_size = static_cast<std::uint32_t>(std::min<std::size_t>(s->bytes(), UINT32_MAX));
    s->reciprocal = 0;  // slot_index() is always 0: offset < 2^32 / (anything) times 0
  } else {
    const std::size_t cls = class_of_span_class(span_class);
    s->noscan = span_class_kind(span_class) == SpanKind::kNoScan;
    s->has_destructors = span_class_kind(span_class) == SpanKind::kFinalize;
    s->nslots = kClasses.slots[cls];
    s->elem_size = kClasses.size[cls];
    s->reciprocal = kClasses.reciprocal[cls];
  }
  // relaxed: nobody else can reach s yet; set_range's release publishes it (to span_of), and the
  // mutex of the list or the hand-off that gives it to another thread orders it for that thread.
  for (std::size_t w = 0; w < kBitmapWords; ++w) {
    s->alloc_bits[w] = 0;
    s->mark_bits[w].store(0, std::memory_order_relaxed);
  }
  s->sweep_gen.store(sweep_gen, std::memory_order_relaxed);
}

Span* PageHeap::allocate(std::size_t npages, std::uint16_t span_class, std::uint32_t sweep_gen, AllocFailure* why,
                         SpanKind large_kind) {
  // Before any arithmetic on npages: a count past the reservation cannot be satisfied, and would
  // overflow npages * kPageSize or the 32-bit page counts below.
  if (npages > reserved_bytes_ / kPageSize) {
    if (why != nullptr) *why = AllocFailure::kTooLarge;
    return nullptr;
  }
  std::unique_lock lock(mu_);
  const std::size_t bytes = npages * kPageSize;
  if (max_heap_ != 0 && in_use_bytes_.load(std::memory_order_relaxed) + bytes > max_heap_) {
    if (why != nullptr) *why = AllocFailure::kHeapLimit;
    return nullptr;
  }
  Span* s = best_fit(npages);
  if (s == nullptr) {
    if (!grow(npages)) {
      if (why != nullptr)
        *why = fail_commits_.load(std::memory_order_relaxed) ||
                       (committed_pages_.load(std::memory_order_relaxed) + npages) * kPageSize <= reserved_bytes_
                   ? AllocFailure::kCommitFailed
                   : AllocFailure::kReservationExhausted;
      return nullptr;
    }
    s = best_fit(npages);
    TC_CHECK(s != nullptr, "page heap: grown arena does not fit %zu pages", npages);
  }
  remove_free(s);
  if (s->npages > npages) {
    Span* rest = new_span_record();
    rest->start = s->start + bytes;
    rest->npages = s->npages - static_cast<std::uint32_t>(npages);
    rest->scavenged = s->scavenged;
    rest->free_since_ns = s->free_since_ns;
    insert_free(rest);
    s->npages = static_cast<std::uint32_t>(npages);
  }
  const bool untouched = s->scavenged;
  if (s->scavenged) released_bytes_.fetch_sub(s->bytes(), std::memory_order_relaxed);
  s->scavenged = false;
  // s is held now (taking released pages makes them so, and a coalesced span may have over-counted):
  // bring held memory back under the limits with the free spans (s is in none of them). Always enough
  // for the hard limit: held memory less the free held spans is in-use memory, in_use + bytes <=
  // max_heap (checked above).
  if (max_heap_ != 0 && held_bytes() > max_heap_) release_down_to(max_heap_);
  if (const std::size_t soft = soft_limit_.load(std::memory_order_relaxed); soft != 0 && held_bytes() > soft)
    release_down_to(soft);
  // Generations only rise by 2 (wrapping after 2^31 cycles: compared by difference).
  const bool stale = birth_gen_ != 0 && static_cast<std::int32_t>(birth_gen_ - sweep_gen) > 0;
  init_span(s, span_class, stale ? birth_gen_ : sweep_gen, large_kind);
  set_range(s, s, true);
  const std::size_t now = in_use_bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  if (now > peak_in_use_bytes_.load(std::memory_order_relaxed)) peak_in_use_bytes_.store(now, std::memory_order_relaxed);
  in_use_spans_.fetch_add(1, std::memory_order_relaxed);
  lock.unlock();
  // A small span's slots are all about to be written (each allocation writes its header), so its
  // untouched pages (never used, or released by the scavenger) are populated in one call instead of
  // one page fault each; outside the lock, which only the span's bookkeeping needs. On this 2-core
  // VM a fault is mostly trap overhead: GCBench with two threads spent 11% of its time faulting in
  // make<>, and populating cut its system time 0.27 -> 0.09 s and its wall time to 0.83x (paired
  // medians of 5, tricolor-bench --workload gcbench-mt --no-probe --no-cpu-probe), RSS unchanged.
  // Large spans are left to fault: a large buffer may be used sparsely. Kernels before 5.14 refuse
  // the advice, and the pages fault in as before.
#if defined(MADV_POPULATE_WRITE)
  if (untouched && span_class != kLargeSpanClass)
    (void)madvise(reinterpret_cast<void*>(s->start), s->bytes(), MADV_POPULATE_WRITE);
#endif
  return s;
}

void PageHeap::free(Span* s) {
  std::lock_guard lock(mu_);
  TC_CHECK(s->state == SpanState::kInUse, "page heap: double free of span at %p", reinterpret_cast<void*>(s->start));
  in_use_bytes_.fetch_sub(s->bytes(), std::memory_order_relaxed);
  in_use_spans_.fetch_sub(1, std::memory_order_relaxed);
  set_range(s, nullptr, true);
  s->state = SpanState::kFree;
  s->scavenged = false;
  s->free_since_ns = monotonic_ns();
  const std::size_t first = (s->start - base_) >> kPageShift;
  if (first > 0) {
    if (Span* left = free_edges_[first - 1]; left != nullptr) {
      TC_DCHECK(left->state == SpanState::kFree, "page heap: free edge of a span in use");
      remove_free(left);
      absorb(s, left);
    }
  }
  const std::size_t right_first = ((s->start - base_) >> kPageShift) + s->npages;
  if (right_first < committed_pages_.load(std::memory_order_relaxed)) {
    if (Span* right = free_edges_[right_first]; right != nullptr) {
      TC_DCHECK(right->state == SpanState::kFree, "page heap: free edge of a span in use");
      remove_free(right);
      absorb(s, right);
    }
  }
  insert_free(s);
}

Span* PageHeap::best_fit(std::size_t npages) {
  if (Span* s = held_free_.best_fit(npages)) return s;
  return released_free_.best_fit(npages);
}

bool PageHeap::release_free(Span* s) {
  TC_DCHECK(s->state == SpanState::kFree && !s->scavenged, "page heap: releasing a span that is not free and held");
  if (madvise(reinterpret_cast<void*>(s->start), s->bytes(), MADV_DONTNEED) != 0) return false;
  held_free_.erase(s);
  s->scavenged = true;
  released_free_.insert(s);
  released_bytes_.fetch_add(s->bytes(), std::memory_order_relaxed);
  return true;
}

// Largest first (fewest madvise calls for the most memory), among free held spans that pass `pick`,
// until held memory is at most target. Returns the bytes released.
// A walk of held_free_ largest first that stops at the target: no copy of the index under the lock
// (this runs in the allocation path near a limit), and no look at spans it will not release.
// Releasing a span moves it to released_free_, which FreeIndex's walk allows for the span it is
// visiting; a span passed over (not picked, or madvise failed) stays, and the walk steps past it.
// Nothing else changes the index meanwhile (mu_ held), so the spans released, and their order, are
// those of a largest-first snapshot cut off at the target.
template <class Pick>
std::size_t PageHeap::release_largest(std::size_t held, std::size_t target, Pick pick) {
  std::size_t released = 0;
  held_free_.for_each_largest_first([&](Span* s) {
    if (held <= target) return false;
    const std::size_t bytes = s->bytes();
    if (pick(s) && release_free(s)) {
      released += bytes;
      held -= std::min(held, bytes);
    }
    return true;
  });
  return released;
}

std::size_t PageHeap::release_down_to(std::size_t target) {
  return release_largest(held_bytes(), target, [](const Span*) { return true; });
}

std::pair<std::size_t, std::size_t> PageHeap::committed_and_released() const {
  std::lock_guard lock(mu_);
  return {committed_bytes(), released_bytes()};
}

void PageHeap::set_soft_limit(std::size_t bytes) {
  std::lock_guard lock(mu_);
  soft_limit_.store(bytes, std::memory_order_relaxed);
  if (bytes != 0 && held_bytes() > bytes) release_down_to(bytes);
}

std::size_t PageHeap::scavenge(std::uint64_t free_before_ns) {
  std::lock_guard lock(mu_);
  const std::size_t retain = retain_bytes_.load(std::memory_order_relaxed);
  // Spans freed too recently stay: they are likely to be reused soon.
  const std::size_t released =
      release_largest(held_bytes(), retain, [&](const Span* s) { return s->free_since_ns <= free_before_ns; });
#if defined(__GLIBC__)
  // Span records and other metadata freed since: let malloc give its free pages back too.
  if (released != 0) malloc_trim(0);
#endif
  return released;
}

}  // namespace tricolor::internal
