// A test hook: a function a test installs (gc/testing.hpp) to run at one exact point of the
// collector, so that it can put the heap into a precise state there (a thread that shades in a
// window, a marker held until the controller waits, an object unmarked before verification). Unset,
// it costs one acquire load and a branch predicted not taken; the collector's logic never asks
// whether a test is running.
//
// Orders: set() writes the context and then publishes the function with a release store; fire()
// loads the function with acquire and, if there is one, reads the context: a thread that sees a
// function sees the context written before it, so the two are called together. This makes
// installing a hook safe at any time (a thread that still sees null reads no context). Removing or
// replacing one is not: a thread that loaded the old function may read the context as set() writes
// it. Tests do that only where no thread can reach the hook's point meanwhile (no cycle runs, or
// the thread that fires it is the one removing it); the context is a plain field so that TSan
// reports a test that does not.
#pragma once
#include <atomic>

namespace tricolor::internal {

class TestHook {
 public:
  using Fn = void (*)(void*);

  // fn(ctx) runs on every thread that reaches the hook's point from now on; null removes it.
  void set(Fn fn, void* ctx) {
    ctx_ = ctx;
    fn_.store(fn, std::memory_order_release);  // release: publishes ctx_ (the comment above)
  }
  void fire() const {
    // acquire: pairs with set()'s release, so ctx_ is the one set with this function.
    if (const Fn fn = fn_.load(std::memory_order_acquire)) [[unlikely]]
      fn(ctx_);
  }

 private:
  // Orders: release in set(), acquire in fire() (the comment at the top of the file).
  std::atomic<Fn> fn_{nullptr};
  void* ctx_ = nullptr;
};

}  // namespace tricolor::internal
