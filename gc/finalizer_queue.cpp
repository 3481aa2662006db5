// Finalizers: registered objects are not roots; at mark termination the unmarked ones move to the
// ready queue, which is a root until each finalizer has run on a mutator (Heap::run_finalizers).
#include "gc/heap_impl.hpp"

namespace tricolor::internal {

void HeapImpl::set_finalizer(const void* obj, FinalizerFn fn, void* ctx) {
  TC_CHECK(contains(obj), "Heap::set_finalizer: %p is not an object of this heap", obj);
  std::lock_guard lock(finalizers_mu_);
  if (fn == nullptr) finalizers_.erase(obj);
  else finalizers_[obj] = Finalizer{fn, ctx};
}

bool HeapImpl::queue_finalizers(MarkContext& cx) {
  std::lock_guard lock(finalizers_mu_);
  bool any = false;
  for (auto it = finalizers_.begin(); it != finalizers_.end();) {
    if (marker.is_marked(it->first)) {
      ++it;
      continue;
    }
    ready_finalizers_.emplace_back(it->first, it->second);
    marker.shade(it->first, cx);
    it = finalizers_.erase(it);
    any = true;
  }
  return any;
}

void HeapImpl::scan_ready_finalizers(MarkContext& cx) {
  std::lock_guard lock(finalizers_mu_);
  for (auto& e : ready_finalizers_) marker.shade(e.first, cx);
}

std::size_t HeapImpl::run_finalizers(std::size_t max) {
  ThreadFast* t = current_thread("run_finalizers()");
  TC_CHECK(t->heap == this, "Heap::run_finalizers: this thread is attached to another heap");
  std::size_t ran = 0;
  while (ran < max) {
    std::pair<const void*, Finalizer> e;
    {
      std::lock_guard lock(finalizers_mu_);
      if (ready_finalizers_.empty()) break;
      e = ready_finalizers_.front();
      ready_finalizers_.pop_front();
    }
    // Rooted while its finalizer runs (it is no longer in the ready queue).
    Root<const char> keep(static_cast<const char*>(e.first), "<object being finalized>");
    e.second.fn(const_cast<void*>(e.first), e.second.context);
    ++ran;
  }
  return ran;
}

std::size_t HeapImpl::pending_finalizers() const {
  std::lock_guard lock(finalizers_mu_);
  return ready_finalizers_.size();
}

}  // namespace tricolor::internal
