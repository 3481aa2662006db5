#include "gc/mark_worklist.hpp"

namespace tricolor::internal {

MarkWorklist::~MarkWorklist() {
  for (Segment* l : {head_, spare_})
    while (l != nullptr) {
      Segment* n = l->next;
      delete l;
      l = n;
    }
}

void MarkWorklist::publish(Segment* s) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    s->next = head_;
    head_ = s;
    count_.fetch_add(1, std::memory_order_release);
    wake = idle_.load(std::memory_order_relaxed) > 0;
  }
  // One segment feeds one idle marker: waking them all would make every publication a futex storm.
  if (wake) cv_.notify_one();
}

Segment* MarkWorklist::take() {
  if (count_.load(std::memory_order_acquire) == 0) return nullptr;
  bool quiescent = false;
  Segment* s;
  {
    std::lock_guard lock(mu_);
    s = head_;
    if (s != nullptr) {
      head_ = s->next;
      count_.fetch_sub(1, std::memory_order_relaxed);
    }
    // A thread outside the team (an assisting mutator) may take the segment whose publication woke
    // the idle team: then nobody in the team will notify, so do it here for wait_quiescent().
    quiescent = head_ == nullptr && idle_.load(std::memory_order_relaxed) == team_size_;
  }
  if (quiescent) quiescent_cv_.notify_all();
  return s;
}

Segment* MarkWorklist::take_or_wait(std::size_t team_size) {
  std::unique_lock lock(mu_);
  team_size_ = team_size;
  idle_.fetch_add(1, std::memory_order_relaxed);
  if (idle_.load(std::memory_order_relaxed) == team_size && head_ == nullptr) quiescent_cv_.notify_all();
  cv_.wait(lock, [&] { return head_ != nullptr || stop_; });
  idle_.fetch_sub(1, std::memory_order_relaxed);
  Segment* s = head_;
  if (s != nullptr) {
    head_ = s->next;
    count_.fetch_sub(1, std::memory_order_relaxed);
  }
  return s;
}

void MarkWorklist::wait_quiescent(std::size_t team_size) {
  std::unique_lock lock(mu_);
  quiescent_cv_.wait(lock, [&] { return idle_.load(std::memory_order_relaxed) == team_size && head_ == nullptr; });
}

bool MarkWorklist::quiescent(std::size_t team_size) {
  std::lock_guard lock(mu_);
  return idle_.load(std::memory_order_relaxed) == team_size && head_ == nullptr;
}

void MarkWorklist::stop_waiting() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

void MarkWorklist::reset_round() {
  std::lock_guard lock(mu_);
  stop_ = false;
}

Segment* MarkWorklist::new_segment() {
  {
    std::lock_guard lock(mu_);
    if (Segment* s = spare_) {
      spare_ = s->next;
      s->next = nullptr;
      s->n = 0;
      return s;
    }
  }
  return new Segment();
}

void MarkWorklist::free_segment(Segment* s) {
  std::lock_guard lock(mu_);
  s->n = 0;
  s->next = spare_;
  spare_ = s;
}

LocalWorklist::~LocalWorklist() {
  if (cur_ != nullptr) {
    if (cur_->n > 0) pool_->publish(cur_);
    else pool_->free_segment(cur_);
  }
}

void LocalWorklist::overflow() {
  if (cur_ != nullptr) pool_->publish(cur_);
  cur_ = pool_->new_segment();
}

MarkItem LocalWorklist::refill() {
  Segment* s = pool_->take();
  if (s == nullptr) return {nullptr, 0};
  if (cur_ != nullptr) pool_->free_segment(cur_);
  cur_ = s;
  --cur_->n;
  return {cur_->items[cur_->n], cur_->bytes[cur_->n]};
}

void LocalWorklist::publish() {
  if (cur_ != nullptr && cur_->n > 0) {
    pool_->publish(cur_);
    cur_ = nullptr;
  }
}

void LocalWorklist::share_half() {
  if (cur_ == nullptr || cur_->n < 2) return;
  pool_->clear_want();
  // Give away the bottom half: in a depth-first scan the oldest entries are the roots of the largest
  // unexplored subgraphs (siblings near the top of a tree), so a thief gets lasting work.
  Segment* half = pool_->new_segment();
  const std::size_t k = cur_->n / 2;
  for (std::size_t i = 0; i < k; ++i) {
    half->items[i] = cur_->items[i];
    half->bytes[i] = cur_->bytes[i];
  }
  for (std::size_t i = k; i < cur_->n; ++i) {
    cur_->items[i - k] = cur_->items[i];
    cur_->bytes[i - k] = cur_->bytes[i];
  }
  half->n = k;
  cur_->n -= k;
  pool_->publish(half);
}

}  // namespace tricolor::internal
