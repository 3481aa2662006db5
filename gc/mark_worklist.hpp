// Grey objects waiting to be scanned: a local segment per marking thread (markers, and mutators doing
// barrier flushes or assists) plus a shared pool of segments. Stealing moves whole segments, so the
// shared lock is taken once per kCapacity objects.
//
// Invariant: every grey object (mark bit set, not yet scanned) is in exactly one segment: a local one
// or the pool. Termination needs every local segment published or empty and the pool empty.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
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
  static constexpr std::size_t kCapacity = 340;
  Segment* next = nullptr;
  std::size_t n = 0;
  const void* items[kCapacity];
  std::uint32_t bytes[kCapacity];
};
static_assert(sizeof(Segment) <= 4096);

class MarkWorklist {
 public:
  MarkWorklist() = default;
  ~MarkWorklist();
  MarkWorklist(const MarkWorklist&) = delete;
  MarkWorklist& operator=(const MarkWorklist&) = delete;

  void publish(Segment* s);
  // A segment with work, or null. With `wait`, blocks while the pool is empty and someone may still
  // publish (returns null when every waiter is idle and the pool is empty: the round is over, or
  // when stop_waiting() was called).
  Segment* take();
  Segment* take_or_wait(std::size_t team_size);
  void stop_waiting();
  void reset_round();

  Segment* new_segment();
  void free_segment(Segment* s);

  // Relaxed hints; the exact check happens under the lock.
  bool empty() const { return count_.load(std::memory_order_acquire) == 0; }
  // Someone wants work the pool does not have: an idle marker, or an assisting mutator (want()).
  bool hungry() const {
    return idle_.load(std::memory_order_relaxed) > 0 || wanted_.load(std::memory_order_relaxed);
  }
  // An assist found the pool empty while markers hold grey objects in their local segments: ask
  // them to share at their next check (they publish half and clear the request), so the next assist
  // finds work instead of letting its thread allocate unchecked. relaxed: a hint, re-checked later.
  void want() { wanted_.store(true, std::memory_order_relaxed); }
  void clear_want() { wanted_.store(false, std::memory_order_relaxed); }
  std::size_t idle() const { return idle_.load(std::memory_order_relaxed); }

  // Blocks until every one of team_size waiters is idle and the pool is empty (a round of marking
  // has nothing left), or returns false if the pool has work.
  void wait_quiescent(std::size_t team_size);
  // Exact (under the lock): every one of team_size waiters is idle and the pool is empty. Stays true
  // until someone outside the team publishes.
  bool quiescent(std::size_t team_size);

 private:
  std::mutex mu_;
  std::condition_variable cv_;            // idle markers wait here for work
  std::condition_variable quiescent_cv_;  // the controller waits here for the round's end
  Segment* head_ = nullptr;
  Segment* spare_ = nullptr;
  std::atomic<std::size_t> count_{0};
  std::atomic<std::size_t> idle_{0};
  std::atomic<bool> wanted_{false};
  std::size_t team_size_ = SIZE_MAX;  // guarded by mu_
  bool stop_ = false;
};

class LocalWorklist {
 public:
  explicit LocalWorklist(MarkWorklist& pool) : pool_(&pool) {}
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
  const void* pop_local() { return (cur_ != nullptr && cur_->n > 0) ? cur_->items[--cur_->n] : nullptr; }
  bool local_empty() const { return cur_ == nullptr || cur_->n == 0; }
  std::size_t local_size() const { return cur_ == nullptr ? 0 : cur_->n; }
  // Gives the local segment to the pool (so others can take it).
  void publish();
  // Makes s (taken from the pool) the local segment.
  void adopt(Segment* s) {
    if (cur_ != nullptr) {
      if (cur_->n > 0) pool_->publish(cur_);
      else pool_->free_segment(cur_);
    }
    cur_ = s;
  }
  // Gives half of a large local segment to the pool, for idle markers.
  void share_half();
  MarkWorklist& pool() { return *pool_; }

 private:
  void overflow();
  MarkItem refill();
  MarkWorklist* pool_;
  Segment* cur_ = nullptr;
};

}  // namespace tricolor::internal
