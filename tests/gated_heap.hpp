// The gated test heap for the barrier tests: it needs the collector's test hooks (gc/testing.hpp),
// which tests of the public API alone (test_heap.hpp's users) cannot include.
#pragma once
#include <thread>

#include "gc/testing.hpp"
#include "test_heap.hpp"

namespace tctest {

// A heap whose controller stops at phase p of the cycle the test starts (start_cycle), with markers
// held until finish_cycle(): the exact state each barrier rule's test needs.
struct GatedHeap {
  explicit GatedHeap(tricolor::Phase p, const char* thread_name = "gated-test")
      : gate(p), heap(make_config(gate)), mutator(heap, thread_name) {}
  static tricolor::Config make_config(PhaseGate& g) {
    tricolor::Config c = test_config();
    c.concurrent = true;
    c.gc_percent = -1;  // only the cycle the test starts
    c.on_event = [&g](const tricolor::Event& e) { g.on_event(e); };
    return c;
  }
  void start_cycle() {
    tricolor::internal::hold_markers_for_testing(heap, true);
    collector = std::thread([this] { heap.collect(); });
    gate.wait_reached();
  }
  void finish_cycle() {
    gate.release();
    tricolor::internal::hold_markers_for_testing(heap, false);
    tricolor::BlockingScope blocked;
    collector.join();
  }
  bool marked(const void* p) { return tricolor::internal::is_marked_for_testing(heap, p); }
  PhaseGate gate;
  tricolor::Heap heap;
  tricolor::Mutator mutator;
  std::thread collector;
};

}  // namespace tctest
