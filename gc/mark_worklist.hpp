// Grey objects waiting to be scanned. Every marking thread (a marker, or a mutator doing a barrier
// flush, a root scan or an assist, or the controller) pushes and pops a private segment with no
// synchronisation per object (LocalWorklist). Segments it gives away go to a shelf: each marker has one
// (its full segments and the halves it shares with idle markers, which steal from it), and one more,
// the inbox, takes what threads outside the team publish. A shelf is a list under its own mutex: its
// owner takes it once per segment, a thief only after running dry, so no lock is shared by all markers
// on their hot path. The owner takes its newest segment (depth-first work stays local), a thief the
// oldest (nearest the roots: it lasts longest).
//
// Accounting (one atomic word, state_): the number of idle team members (high half) and of published
// segments nobody has reserved (low half). Taking a segment is two steps: reserve one (a CAS that
// decrements the count; an idle marker leaves idle in the same CAS), then remove one from some shelf.
// A segment is put on its shelf before it is counted, so a reservation always finds one. Hence:
//   - a team member counted idle holds no grey object, and
//   - every grey object is in a local segment of a thread that is not idle (or is outside the team),
//     on a shelf, or counted in the reservation of such a thread,
// and quiescent() -- every team member idle and nothing published -- is one load: exact, and it stays
// true until someone outside the team publishes. (A thread outside the team that holds work is the
// collector's to account for: an assist in progress through Assists::in_flight() (gc/assist.hpp), and
// the work a mutator keeps between two assist slices through the flush rounds, whose answers publish
// it.)
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace tricolor::internal {

// A grey object and its slot size, carried from shade() (which looked the span up) to the scan, so the
// mark loop does one span lookup per object.
struct MarkItem {
  const void* obj;
  std::uint32_t bytes;
};

struct Segment {
  // 4 KiB: items and sizes in two arrays (no padding per entry).
  static constexpr std::size_t kCapacity = 339;
  Segment* newer = nullptr;  // shelf links, owned by the shelf's lock
  Segment* older = nullptr;
  std::size_t n = 0;
  const void* items[kCapacity];
  std::uint32_t bytes[kCapacity];
};
static_assert(sizeof(Segment) <= 4096);

class MarkWorklist {
 public:
  // team_size marker threads, shelves 0..team_size-1; kInbox is for everyone else.
  explicit MarkWorklist(unsigned team_size);
  ~MarkWorklist();
  MarkWorklist(const MarkWorklist&) = delete;
  MarkWorklist& operator=(const MarkWorklist&) = delete;

  static constexpr unsigned kInbox = ~0u;
  unsigned team_size() const { return team_; }

  // Puts s (n > 0) on shelf `home` (a marker's index, or kInbox) and wakes a sleeping marker.
  void publish(Segment* s, unsigned home);
  // A published segment (home's own newest first, then the others' oldest), or null if none is.
  Segment* take(unsigned home);
  // For team member `home`, idle: blocks until it has taken a segment, or returns null after
  // stop_waiting(). While it waits it counts as idle. A marker over its CPU share (Marker's
  // MarkDuty) first rests for rest_ns: idle, holding nothing, and deaf to publications (others,
  // assists included, take that work meanwhile), until the time is up or stop_waiting().
  Segment* take_or_wait(unsigned home, std::uint64_t rest_ns = 0);
  void stop_waiting();
  void reset_round();

  Segment* new_segment();
  void free_segment(Segment* s);

  // Relaxed hints (exactness lives in quiescent()).
  bool empty() const { return published(state_.load(std::memory_order_relaxed)) == 0; }
  // Someone wants work the pool does not have: an idle marker, or an assisting mutator (want()).
  bool hungry() const {
    return idle_count(state_.load(std::memory_order_relaxed)) > 0 || wanted_.load(std::memory_order_relaxed);
  }
  std::size_t idle() const { return idle_count(state_.load(std::memory_order_relaxed)); }
  // Someone is hungry and nothing is published for it: worth splitting a local segment.
  bool starving() const {
    const std::uint64_t s = state_.load(std::memory_order_relaxed);
    return (idle_count(s) > 0 || wanted_.load(std::memory_order_relaxed)) && published(s) == 0;
  }
  // An assist found the pool empty while markers hold grey objects in their local segments: ask
  // them to share at their next check (they publish half and clear the request), so the next assist
  // finds work instead of letting its thread allocate unchecked. relaxed: a hint, re-checked later.
  void want() { wanted_.store(true, std::memory_order_relaxed); }
  void clear_want() { wanted_.store(false, std::memory_order_relaxed); }

  // Exact: every team member is idle and nothing is published. acquire: pairs with the release in
  // the RMW that made it so, so the caller sees what the markers did before going idle.
  bool quiescent() const { return state_.load(std::memory_order_acquire) == quiescent_state(); }
  // Blocks until quiescent().
  void wait_quiescent();
  // Times an idle marker went to sleep in take_or_wait (after its spin found nothing).
  std::uint64_t sleeps_for_testing() const { return sleeps_.load(std::memory_order_relaxed); }

 private:
  struct alignas(64) Shelf {
    std::mutex mu;
    Segment* newest = nullptr;  // guarded by mu
    Segment* oldest = nullptr;  // guarded by mu
    std::atomic<std::size_t> size{0};  // written under mu; read without it as a hint
  };
  static constexpr std::uint64_t kIdleOne = std::uint64_t{1} << 32;
  static std::uint32_t published(std::uint64_t s) { return static_cast<std::uint32_t>(s); }
  // take_or_wait's look for work before it sleeps: true when something is published, false after
  // kIdleSpinNs since `since` (or at once on a single core, or once stop_waiting() was called).
  static constexpr std::uint64_t kIdleSpinNs = 20'000;
  bool spin_for_work(std::uint64_t since) const;
  static std::uint32_t idle_count(std::uint64_t s) { return static_cast<std::uint32_t>(s >> 32); }
  std::uint64_t quiescent_state() const { return team_ * kIdleOne; }

  Shelf& shelf(unsigned home) { return shelves_[home == kInbox ? team_ : home]; }
  unsigned index(unsigned home) const { return home == kInbox ? team_ : home; }
  Segment* pop_newest(Shelf& sh);
  Segment* pop_oldest(Shelf& sh);
  // Removes the segment a reservation stands for.
  Segment* claim(unsigned home);
  // A reservation: decrements the published count (and, if leave_idle, the idle count) if it is not 0.
  bool reserve(bool leave_idle);
  void notify_quiescent();

  const unsigned team_;
  std::unique_ptr<Shelf[]> shelves_;  // team_ + 1: the last is the inbox

  // (idle team members << 32) | published segments. seq_cst on the publish/sleep pair (see
  // take_or_wait); acq_rel elsewhere; relaxed: the hints (empty, hungry, idle, starving), which
  // only decide whether to share or look, and are re-checked by the RMWs that take work.
  alignas(64) std::atomic<std::uint64_t> state_{0};

  // Idle markers sleep here; sleepers_ lets a publisher skip the notify (and its lock) when none does.
  alignas(64) std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  // Resting markers wait here (a cv of their own, so a publisher's notify_one always reaches a
  // marker that can take the segment); only stop_waiting() notifies it.
  std::condition_variable rest_cv_;
  std::atomic<std::uint32_t> sleepers_{0};
  std::atomic<std::uint64_t> sleeps_{0};  // relaxed (all uses): a counter for tests
  std::atomic<bool> stop_{false};  // written under sleep_mu_

  // The controller waits here for quiescence.
  std::mutex quiescent_mu_;
  std::condition_variable quiescent_cv_;

  // want(). relaxed: a hint (see want()); the sharing it asks for publishes through state_.
  std::atomic<bool> wanted_{false};

  std::mutex spare_mu_;
  Segment* spare_ = nullptr;  // guarded by spare_mu_, linked through `older`
};

class LocalWorklist {
 public:
  // home: the owner's shelf (a marker's index), or MarkWorklist::kInbox for threads outside the team.
  explicit LocalWorklist(MarkWorklist& pool, unsigned home = MarkWorklist::kInbox) : pool_(&pool), home_(home) {}
  ~LocalWorklist();
  LocalWorklist(const LocalWorklist&) = delete;
  LocalWorklist& operator=(const LocalWorklist&) = delete;

  void push(const void* obj, std::uint32_t bytes) {
    if (cur_ == nullptr || cur_->n == Segment::kCapacity) [[unlikely]]
      overflow();
    cur_->items[cur_->n] = obj;
    cur_->bytes[cur_->n] = bytes;
    ++cur_->n;
  }
  // The next grey object, from the local segment or else the pool; {nullptr, 0} when there is none.
  MarkItem pop() {
    if (cur_ != nullptr && cur_->n > 0) [[likely]] {
      --cur_->n;
      return {cur_->items[cur_->n], cur_->bytes[cur_->n]};
    }
    return refill();
  }
  // Pop from the local segment only (no pool access).
  const void* pop_local() { return (cur_ != nullptr && cur_->n > 0) ? cur_->items[--cur_->n] : nullptr; }
  std::size_t local_size() const { return cur_ == nullptr ? 0 : cur_->n; }
  // Gives the local segment to the pool (so others can take it).
  void publish();
  // Makes s (taken from the pool) the local segment.
  void adopt(Segment* s);
  // Gives the bottom half of the local segment to the pool, for idle markers.
  void share_half();
  MarkWorklist& pool() { return *pool_; }

 private:
  void overflow();
  MarkItem refill();
  Segment* fresh_segment();
  void recycle(Segment* s);
  MarkWorklist* pool_;
  unsigned home_;
  Segment* cur_ = nullptr;
  Segment* spare_ = nullptr;  // one empty segment kept back, so that overflow/refill cycles skip the pool
};

}  // namespace tricolor::internal
