#include "gc/finalizer_queue.hpp"

#include "tricolor/internal/check.hpp"

namespace tricolor::internal {

void FinalizerQueue::set_finalizer(const void* obj, FinalizerFn fn, void* ctx) {
  TC_CHECK(contains_(obj), "Heap::set_finalizer: %p is not an object of this heap", obj);
  std::lock_guard lock(mu_);
  if (fn == nullptr) registered_.erase(obj);
  else registered_[obj] = Finalizer{fn, ctx};
}

std::size_t FinalizerQueue::run_finalizers(std::size_t max, Call call) {
  std::size_t ran = 0;
  while (ran < max) {
    std::pair<const void*, Finalizer> e;
    {
      std::lock_guard lock(mu_);
      if (ready_.empty()) break;
      e = ready_.front();
      ready_.pop_front();
    }
    call(e.first, e.second);
    ++ran;
  }
  return ran;
}

std::size_t FinalizerQueue::pending_finalizers() const {
  std::lock_guard lock(mu_);
  return ready_.size();
}

}  // namespace tricolor::internal
