// Everything the collector keeps per attached thread. The ThreadFast base is what inline code in
// include/ sees; the rest is private to gc/. Owned by the thread; the collector reads it only under
// the handshake rules of gc/safepoint.hpp.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gc/marker.hpp"
#include "gc/root_set.hpp"
#include "gc/safepoint.hpp"  // RunState
#include "gc/thread_cache.hpp"
#include "tricolor/heap.hpp"

namespace tricolor::internal {

class HeapImpl;

struct ThreadState : ThreadFast {
  ThreadState(HeapImpl& h, MarkWorklist& pool, const char* thread_name);

  HeapImpl& impl;
  std::string name;
  std::uint64_t ordinal = 0;  // attach order, for reports
  // Running / Blocked / Claimed (gc/safepoint.hpp). seq_cst stores and CAS: see the protocol there.
  std::atomic<std::uint32_t> run_state{kRunning};
  std::uint32_t blocking_depth = 0;
  // Set at this thread's root scan (gc/collector.cpp step 3), cleared at the termination flip: spans
  // it takes into its cache have their free slots pre-marked, and large objects are born marked.
  // Written only by the thread itself at a handshake, or by the collector while the thread is
  // stopped or claimed (the handshake's release/acquire pairs order it).
  bool allocate_black = false;

  ThreadCache spans;
  MarkContext mark;                       // barrier flushes, root scans and assists
  std::vector<RootCallbackEntry> root_callbacks;
  std::int64_t assist_debt = 0;           // bytes of scan work this thread owes (pacer)
};

inline ThreadState* as_state(ThreadFast* t) { return static_cast<ThreadState*>(t); }

}  // namespace tricolor::internal
