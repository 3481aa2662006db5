#include "gc/pacer.hpp"

#include <algorithm>

namespace tricolor::internal {

// The hard limit is also a soft one: aim below it, so that reaching it (an emergency collection)
// is the exception rather than the pacing mechanism.
static std::size_t effective_soft_limit(std::size_t soft, std::size_t max_heap) {
  if (max_heap == 0) return soft;
  const std::size_t under_hard = max_heap / 20 * 19;
  return soft == 0 ? under_hard : std::min(soft, under_hard);
}

Pacer::Pacer(const Config& c)
    : gc_percent_(c.gc_percent),
      initial_(c.initial_heap),
      soft_limit_(effective_soft_limit(c.soft_limit, c.max_heap)),
      user_soft_limit_(c.soft_limit),
      max_heap_(c.max_heap) {
  std::lock_guard lock(mu_);
  recompute(0);
}

int Pacer::set_gc_percent(int percent) {
  std::lock_guard lock(mu_);
  const int old = gc_percent_;
  gc_percent_ = percent;
  recompute(live_.load(std::memory_order_relaxed));
  return old;
}

std::size_t Pacer::set_soft_limit(std::size_t bytes) {
  std::lock_guard lock(mu_);
  const std::size_t old = user_soft_limit_;
  user_soft_limit_ = bytes;
  soft_limit_ = effective_soft_limit(bytes, max_heap_);
  recompute(live_.load(std::memory_order_relaxed));
  return old;
}

void Pacer::recompute(std::size_t live) {
  live_.store(live, std::memory_order_relaxed);
  if (gc_percent_ < 0 && soft_limit_ == 0) {
    goal_.store(SIZE_MAX, std::memory_order_relaxed);
    trigger_.store(SIZE_MAX, std::memory_order_relaxed);
    return;
  }
  double goal = gc_percent_ < 0 ? double(SIZE_MAX) : double(live) * (1.0 + gc_percent_ / 100.0);
  goal = std::max(goal, double(initial_));
  if (soft_limit_ != 0) goal = std::min(goal, double(soft_limit_));
  goal = std::max(goal, double(live) * 1.25);
  const double span = goal - double(live);
  double trigger = goal - runway_ * 1.1;
  trigger = std::clamp(trigger, double(live) + 0.35 * span, double(live) + 0.95 * span);
  if (live == 0) trigger = std::min(goal, double(initial_));
  goal_.store(static_cast<std::size_t>(std::min(goal, double(SIZE_MAX / 2))), std::memory_order_relaxed);
  trigger_.store(static_cast<std::size_t>(std::min(trigger, double(SIZE_MAX / 2))), std::memory_order_relaxed);
}

void Pacer::end_cycle(std::size_t live_bytes, std::size_t allocated_during_mark) {
  std::lock_guard lock(mu_);
  // Exponentially weighted, so one quiet cycle does not make the next trigger late. The runway is
  // allocation per unit of scan work, so the history is rescaled to the new live heap first: after a
  // phase change the next trigger leaves room for the new heap's marking, not the old one's.
  const std::size_t previous_live = live_.load(std::memory_order_relaxed);
  if (previous_live != 0 && live_bytes != 0) runway_ *= double(live_bytes) / double(previous_live);
  runway_ = runway_ == 0 ? double(allocated_during_mark) : 0.5 * runway_ + 0.5 * double(allocated_during_mark);
  recompute(live_bytes);
}

std::size_t Pacer::assist_work(std::size_t bytes, std::size_t heap_live, std::size_t scanned_so_far) const {
  const std::size_t expected = live_.load(std::memory_order_relaxed);
  if (scanned_so_far >= expected) return 0;
  const std::size_t remaining = expected - scanned_so_far;
  const std::size_t g = goal();
  const std::size_t trig = trigger();
  // The schedule (see pacer.hpp): the fraction of the trigger-to-goal runway used so far.
  const double f = g <= trig ? 1.0 : std::clamp((double(heap_live) - double(trig)) / double(g - trig), 0.0, 1.0);
  const double deficit = f * double(expected) - double(scanned_so_far);
  if (deficit <= 0) return 0;
  const std::size_t headroom = g > heap_live ? std::max<std::size_t>(g - heap_live, 1u << 20) : (1u << 20);
  const double work = double(bytes) * double(remaining) / double(headroom);
  return static_cast<std::size_t>(std::min(work, deficit));
}

}  // namespace tricolor::internal
