// Shared fixture: a heap with the verifier on, small so collections happen often, and an attached
// main thread. Tests read as allocate, act, assert.
#pragma once
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "tricolor/tricolor.hpp"

namespace tctest {

inline tricolor::Config test_config() {
  tricolor::Config c;
  c.verify = true;
  c.initial_heap = 1u << 20;
  c.reserve = std::size_t{4} << 30;
  c.marker_threads = 2;
  return c;
}

// Opens once and stays open: the tests' way to order threads (never a sleep).
class Gate {
 public:
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Stops the controller at one phase until the test releases it.
struct PhaseGate {
  explicit PhaseGate(tricolor::Phase p) : at(p) {}
  tricolor::Phase at;
  std::atomic<int> state{0};  // 0: armed, 1: reached (controller waiting), 2: released
  void on_event(const tricolor::Event& e) {
    if (e.phase != at || state.load() != 0) return;
    state.store(1);
    state.notify_all();
    while (state.load() != 2) state.wait(1);
  }
  void wait_reached() {
    tricolor::BlockingScope blocked;  // the collector must not wait for this thread meanwhile
    for (int s; (s = state.load()) == 0;) state.wait(s);
  }
  void release() {
    state.store(2);
    state.notify_all();
  }
};

struct TestHeap {
  explicit TestHeap(tricolor::Config c = test_config()) : heap(c), mutator(heap, "test-main") {}
  void collect_now() { heap.collect(); }
  tricolor::Stats stats() const { return heap.stats(); }
  tricolor::Heap heap;
  tricolor::Mutator mutator;
};

// A node with two children and a check value verified on every visit.
struct Node : tricolor::Object<Node> {
  static constexpr std::uint64_t kMagic = 0x7C0F'FEE0'0000'0000ull;
  explicit Node(std::uint64_t v = 0) : value(v), check(v ^ kMagic) {}
  tricolor::Member<Node> left, right;
  std::uint64_t value;
  std::uint64_t check;
  bool intact() const { return (value ^ kMagic) == check; }
  void trace(tricolor::Tracer& t) const {
    t.trace(left, "left");
    t.trace(right, "right");
  }
};

// Counts destructor calls (objects reclaimed).
struct Counted : tricolor::Object<Counted> {
  static inline std::atomic<long> live{0};
  Counted() { live.fetch_add(1, std::memory_order_relaxed); }
  ~Counted() { live.fetch_sub(1, std::memory_order_relaxed); }
  tricolor::Member<Counted> next;
  void trace(tricolor::Tracer& t) const { t.trace(next, "next"); }
};

// Keeps objects alive: one object holding n Members, as a trailing array (make_keep<T>(n)).
template <class T>
struct Keep : tricolor::Object<Keep<T>> {
  explicit Keep(std::size_t count) : n(count) {}
  std::size_t n;
  tricolor::Member<T> items[1];
  void trace(tricolor::Tracer& t) const { t.trace_array(items, n, "items"); }
};
template <class T>
Keep<T>* make_keep(std::size_t n) {
  return tricolor::make_with_trailing<Keep<T>>(n * sizeof(tricolor::Member<T>), n);
}

}  // namespace tctest
