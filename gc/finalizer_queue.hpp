// Finalizers: objects registered with a finalizer (Heap::set_finalizer) are not roots; at mark
// termination the unmarked ones move to the ready queue and are shaded, and the ready queue is a root
// until each finalizer has run on a mutator (Heap::run_finalizers), oldest first. One lock guards both
// structures, and nothing else owns any of them. The queue knows nothing of the heap: set_finalizer's
// argument check is the predicate it was built with, and the collector's side passes the mark state
// as functions (is_marked, shade), so the queue runs alone in tests (tests/finalizer_queue_test.cpp).
// Invariant: an entry moves one way only, registered -> ready -> run (taken off the queue), and each
// ready entry is taken once. set_finalizer on a queued object registers it again: the queue, a root,
// keeps it marked, so it is queued again only once unreachable after its first finalizer has run.
#pragma once
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "tricolor/weak.hpp"

namespace tricolor::internal {

class FinalizerQueue {
 public:
  // A finalizer and the context it was registered with.
  struct Finalizer {
    FinalizerFn fn;
    void* context;
  };
  // Calls one finalizer on its object: the heap roots the object on the calling thread around the
  // call, since it has left the ready queue (HeapImpl::run_finalizers).
  using Call = void (*)(const void* obj, const Finalizer& f);

  // contains(p): p is an object of the owning heap, the only pointers set_finalizer accepts.
  explicit FinalizerQueue(std::function<bool(const void*)> contains) : contains_(std::move(contains)) {}
  FinalizerQueue(const FinalizerQueue&) = delete;
  FinalizerQueue& operator=(const FinalizerQueue&) = delete;

  // Registers fn for obj, replacing any registered one; a null fn removes obj's registration (not an
  // entry already in the ready queue).
  void set_finalizer(const void* obj, FinalizerFn fn, void* ctx);

  // Mark termination, world stopped. Moves every registered object that is_marked(p) says is white to
  // the ready queue and passes it to shade(p) (it must survive, with what it reaches, until its
  // finalizer has run); true if any moved.
  template <class IsMarked, class Shade>
  bool queue_finalizers(IsMarked&& is_marked, Shade&& shade) {
    std::lock_guard lock(mu_);
    bool any = false;
    for (auto it = registered_.begin(); it != registered_.end();) {
      if (is_marked(it->first)) {
        ++it;
        continue;
      }
      ready_.emplace_back(it->first, it->second);
      shade(it->first);
      it = registered_.erase(it);
      any = true;
    }
    return any;
  }
  // Whether queue_finalizers would move anything now (step 5a of gc/collector.cpp).
  template <class IsMarked>
  bool has_unmarked(IsMarked&& is_marked) {
    std::lock_guard lock(mu_);
    for (const auto& e : registered_)
      if (!is_marked(e.first)) return true;
    return false;
  }

  // f runs under the lock for each ready object, oldest first: the roots the queue holds (the
  // collector shades them, heap walks visit them); the queue does not change meanwhile.
  template <class F>
  void for_each_ready_finalizer(F&& f) {
    std::lock_guard lock(mu_);
    for (const auto& e : ready_) f(e.first);
  }

  // Takes the oldest ready finalizers off the queue, at most max, and passes each to call (outside
  // the lock: a finalizer may set finalizers, or run them); returns how many ran. A call that throws
  // has taken its entry already: the exception propagates, and the rest stay queued.
  std::size_t run_finalizers(std::size_t max, Call call);
  std::size_t pending_finalizers() const;

 private:
  const std::function<bool(const void*)> contains_;
  mutable std::mutex mu_;
  std::unordered_map<const void*, Finalizer> registered_;      // guarded by mu_
  std::deque<std::pair<const void*, Finalizer>> ready_;        // guarded by mu_
};

}  // namespace tricolor::internal
