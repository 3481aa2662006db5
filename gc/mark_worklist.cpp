#include "gc/mark_worklist.hpp"

#include <chrono>

#include "gc/cpu_relax.hpp"
#include "gc/page_heap.hpp"  // monotonic_ns

namespace tricolor::internal {

MarkWorklist::MarkWorklist(unsigned team_size)
    : team_(team_size == 0 ? 1 : team_size), shelves_(new Shelf[team_ + 1]) {}

MarkWorklist::~MarkWorklist() {
  for (unsigned i = 0; i <= team_; ++i)
    for (Segment* s = shelves_[i].newest; s != nullptr;) {
      Segment* n = s->older;
      delete s;
      s = n;
    }
  for (Segment* s = spare_; s != nullptr;) {
    Segment* n = s->older;
    delete s;
    s = n;
  }
}

void MarkWorklist::publish(Segment* s, unsigned home) {
  Shelf& sh = shelf(home);
  {
    std::lock_guard lock(sh.mu);
    s->newer = nullptr;
    s->older = sh.newest;
    if (sh.newest != nullptr) sh.newest->newer = s;
    else sh.oldest = s;
    sh.newest = s;
    // relaxed: written under sh.mu; lock-free readers use it only to skip an empty shelf.
    sh.size.store(sh.size.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // Counted only now that it is on the shelf: a reservation always finds a segment (claim()).
  // seq_cst, with the load of sleepers_ after it: the Dekker pair with take_or_wait's sleeper, which
  // increments sleepers_ and then reads state_. One of the two sees the other's write, so either the
  // sleeper sees this segment or we see the sleeper (and notify under its lock).
  state_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard lock(sleep_mu_); }
    // One segment feeds one marker: waking them all would make every publication a futex storm.
    sleep_cv_.notify_one();
  }
}

Segment* MarkWorklist::pop_newest(Shelf& sh) {
  if (sh.size.load(std::memory_order_relaxed) == 0) return nullptr;  // relaxed: a hint; the lock decides
  std::lock_guard lock(sh.mu);
  Segment* s = sh.newest;
  if (s == nullptr) return nullptr;
  sh.newest = s->older;
  if (sh.newest != nullptr) sh.newest->newer = nullptr;
  else sh.oldest = nullptr;
  sh.size.store(sh.size.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);  // under sh.mu
  s->older = s->newer = nullptr;
  return s;
}

Segment* MarkWorklist::pop_oldest(Shelf& sh) {
  if (sh.size.load(std::memory_order_relaxed) == 0) return nullptr;  // relaxed: a hint; the lock decides
  std::lock_guard lock(sh.mu);
  Segment* s = sh.oldest;
  if (s == nullptr) return nullptr;
  sh.oldest = s->newer;
  if (sh.oldest != nullptr) sh.oldest->older = nullptr;
  else sh.newest = nullptr;
  sh.size.store(sh.size.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);  // under sh.mu
  s->older = s->newer = nullptr;
  return s;
}

Segment* MarkWorklist::claim(unsigned home) {
  // Segments on shelves >= published count + unclaimed reservations, at every instant, and ours is one
  // of the latter: some shelf holds a segment for us. A pass can still miss it (another claimant took
  // the one we were about to reach while a new one went onto a shelf already passed), so go round
  // again; each pass that fails means others succeeded meanwhile.
  const unsigned own = index(home);
  const unsigned n = team_ + 1;
  for (;;) {
    if (Segment* s = pop_newest(shelves_[own])) return s;
    for (unsigned k = 1; k < n; ++k)
      if (Segment* s = pop_oldest(shelves_[(own + k) % n])) return s;
    cpu_relax();
  }
}

bool MarkWorklist::reserve(bool leave_idle) {
  const std::uint64_t dec = leave_idle ? kIdleOne + 1 : 1;
  std::uint64_t s = state_.load(std::memory_order_relaxed);  // relaxed: the CAS below re-reads it
  while (published(s) != 0) {
    // acq_rel: a successful reservation orders nothing by itself (the segment's contents come through
    // the shelf's mutex); release keeps the quiescence transition below ordered for the controller.
    if (state_.compare_exchange_weak(s, s - dec, std::memory_order_acq_rel, std::memory_order_relaxed)) {
      // A thread outside the team may take the last segment while the whole team is idle: then nobody
      // in the team will notice quiescence, so notify here.
      if (s - dec == quiescent_state()) notify_quiescent();
      return true;
    }
  }
  return false;
}

Segment* MarkWorklist::take(unsigned home) { return reserve(false) ? claim(home) : nullptr; }

Segment* MarkWorklist::take_or_wait(unsigned home, std::uint64_t rest_ns) {
  // acq_rel: release publishes what this marker did before going idle (its merge()) to the controller,
  // which acquires in quiescent()/wait_quiescent().
  if (state_.fetch_add(kIdleOne, std::memory_order_acq_rel) + kIdleOne == quiescent_state()) notify_quiescent();
  if (rest_ns != 0) {
    // Resting counts as idle: the marker holds no grey object (Marker::thread_main published its
    // local work first), so quiescence -- and with it termination -- need not wait for the rest.
    std::unique_lock lock(sleep_mu_);
    const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(rest_ns);
    // relaxed: stop_ is written under sleep_mu_, held here.
    rest_cv_.wait_until(lock, until, [&] { return stop_.load(std::memory_order_relaxed); });
  }
  // Before the first sleep, look for work for a little while (kIdleSpinNs in all). A marker that ran
  // dry usually gets work within microseconds: a busy one shares half its segment at its next check
  // (every 32 objects, Marker::drain). Sleeping at once costs a futex wake-up on the publisher and a
  // scheduler wake-up here, tens of microseconds each time; on a 200 MB quad tree with two markers
  // that was about 130 sleeps per cycle and 8% of the markers' time idle. Not with a single core,
  // where the spin would hold up the very thread that is to publish.
  const std::uint64_t spin_start = monotonic_ns();
  for (;;) {
    if (reserve(true)) return claim(home);
    if (spin_for_work(spin_start)) continue;
    std::unique_lock lock(sleep_mu_);
    if (stop_.load(std::memory_order_relaxed)) break;  // relaxed: written under sleep_mu_, held here
    sleeps_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a counter
    // seq_cst: see publish().
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    sleep_cv_.wait(lock, [&] {
      return published(state_.load(std::memory_order_seq_cst)) != 0 || stop_.load(std::memory_order_relaxed);
    });
    sleepers_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: a stale count only costs a spare notify
  }
  // acq_rel: leaving idle is the reverse of the increment above; quiescent() must not see it early.
  state_.fetch_sub(kIdleOne, std::memory_order_acq_rel);
  return nullptr;
}

bool MarkWorklist::spin_for_work(std::uint64_t since) const {
  // The deadline is checked on entry too: a marker that keeps seeing publications and losing their
  // reservation to others would otherwise never look at the clock; after a wake-up it is long past,
  // so only the first sleep is preceded by a spin. (The spin's CPU is idle time, not counted against
  // Config::mark_cpu_percent.)
  if (!multi_core() || monotonic_ns() - since >= kIdleSpinNs) return false;
  for (unsigned i = 1;; ++i) {
    cpu_relax();
    // relaxed (both): hints; reserve() decides, and a stop missed here is seen under sleep_mu_.
    if (published(state_.load(std::memory_order_relaxed)) != 0) return true;
    if ((i & 63) == 0 && (stop_.load(std::memory_order_relaxed) || monotonic_ns() - since >= kIdleSpinNs)) return false;
  }
}

void MarkWorklist::notify_quiescent() {
  // Under the lock, so a waiter between its check and its wait cannot miss it.
  { std::lock_guard lock(quiescent_mu_); }
  quiescent_cv_.notify_all();
}

void MarkWorklist::wait_quiescent() {
  std::unique_lock lock(quiescent_mu_);
  quiescent_cv_.wait(lock, [&] { return quiescent(); });
}

void MarkWorklist::stop_waiting() {
  {
    std::lock_guard lock(sleep_mu_);
    stop_.store(true, std::memory_order_relaxed);  // relaxed: under sleep_mu_, as every read
  }
  sleep_cv_.notify_all();
  rest_cv_.notify_all();
}

void MarkWorklist::reset_round() {
  std::lock_guard lock(sleep_mu_);
  stop_.store(false, std::memory_order_relaxed);  // relaxed: under sleep_mu_, as every read
}

Segment* MarkWorklist::new_segment() {
  {
    std::lock_guard lock(spare_mu_);
    if (Segment* s = spare_) {
      spare_ = s->older;
      s->older = nullptr;
      s->n = 0;
      return s;
    }
  }
  return new Segment();
}

void MarkWorklist::free_segment(Segment* s) {
  std::lock_guard lock(spare_mu_);
  s->n = 0;
  s->newer = nullptr;
  s->older = spare_;
  spare_ = s;
}

LocalWorklist::~LocalWorklist() {
  publish();
  if (cur_ != nullptr) pool_->free_segment(cur_);
  if (spare_ != nullptr) pool_->free_segment(spare_);
}

Segment* LocalWorklist::fresh_segment() {
  if (Segment* s = spare_) {
    spare_ = nullptr;
    return s;
  }
  return pool_->new_segment();
}

void LocalWorklist::recycle(Segment* s) {
  s->n = 0;
  if (spare_ == nullptr) spare_ = s;
  else pool_->free_segment(s);
}

void LocalWorklist::overflow() {
  if (cur_ != nullptr) pool_->publish(cur_, home_);
  cur_ = fresh_segment();
}

MarkItem LocalWorklist::refill() {
  Segment* s = pool_->take(home_);
  if (s == nullptr) return {nullptr, 0};
  adopt(s);
  --cur_->n;
  return {cur_->items[cur_->n], cur_->bytes[cur_->n]};
}

void LocalWorklist::adopt(Segment* s) {
  if (cur_ != nullptr) {
    if (cur_->n > 0) pool_->publish(cur_, home_);
    else recycle(cur_);
  }
  cur_ = s;
}

void LocalWorklist::publish() {
  if (cur_ != nullptr && cur_->n > 0) {
    pool_->publish(cur_, home_);
    cur_ = nullptr;
  }
}

void LocalWorklist::share_half() {
  if (cur_ == nullptr || cur_->n < 2) return;
  pool_->clear_want();
  // Give away every other entry, from the bottom: 0, 2, 4, ... to the thief, 1, 3, 5, ... kept, each
  // side in its order. In a depth-first scan the oldest entries are the roots of the largest
  // unexplored subgraphs (siblings near the top of a tree), and each level's subtrees dwarf all the
  // levels above them on the stack. Giving the bottom half, as this did before, handed the thief
  // nearly all the work and left the owner the crumbs at the top: the owner ran dry at once, took the
  // big subtrees back the same way, and the two bounced them to and fro (about 850 shares per
  // collection of the 200 MB quad tree, most drains between them under 512 KiB). Alternating entries
  // splits every level's siblings between the two, so each keeps work of the same order: 8-13
  // shares per collection instead. Measured on this 2-core machine (mark-scaling, 2 markers, the
  // 200 MB tree, 8 interleaved pairs of processes, 2 timed collections each): median mark time
  // 34.5 -> 30.1 ms.
  Segment* half = fresh_segment();
  const std::size_t n = cur_->n;
  for (std::size_t i = 0; i < n; ++i) {
    // Entry i goes to slot i / 2 of its side; for the kept (odd) ones i / 2 < i, already read.
    Segment* to = i % 2 == 0 ? half : cur_;
    to->items[i / 2] = cur_->items[i];
    to->bytes[i / 2] = cur_->bytes[i];
  }
  half->n = (n + 1) / 2;
  cur_->n = n / 2;
  pool_->publish(half, home_);
}

}  // namespace tricolor::internal
