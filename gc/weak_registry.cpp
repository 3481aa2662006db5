#include "gc/weak_registry.hpp"

#include "gc/collector_work.hpp"
#include "tricolor/internal/check.hpp"

namespace tricolor::internal {

std::uint64_t WeakRegistry::add_weak_callback(WeakCallbackFn fn, void* ctx) {
  std::lock_guard lock(callbacks_mu_);
  const std::uint64_t id = next_id_++;
  callbacks_.push_back(Callback{id, fn, ctx});
  return id;
}

void WeakRegistry::remove_weak_callback(std::uint64_t id) {
  std::lock_guard lock(callbacks_mu_);  // waits out a call in progress
  const std::size_t removed = std::erase_if(callbacks_, [&](const Callback& cb) { return cb.id == id; });
  TC_CHECK(removed == 1,
           "tricolor::remove_weak_callback: %llu is not an id that add_weak_callback returned for this heap (or "
           "it was removed already)",
           static_cast<unsigned long long>(id));
}

void WeakRegistry::run_weak_callbacks() {
  std::lock_guard lock(callbacks_mu_);
  if (callbacks_.empty()) return;
  // A callback is collector work: it must not allocate or collect (both would wait for this cycle).
  CollectorWorkScope scope(kInWeakCallback);
  for (const Callback& cb : callbacks_) cb.fn(cb.ctx);
}

void WeakRegistry::register_weak_set(WeakSlotSet* s) {
  std::lock_guard lock(sets_mu_);
  sets_.push_back(s);
}

void WeakRegistry::unregister_weak_set(WeakSlotSet* s) {
  std::lock_guard lock(sets_mu_);
  std::erase(sets_, s);
}

}  // namespace tricolor::internal
