// Heap snapshots: every allocated object of the heap, counted per type, right after a full collection
// and sweep (so, single-threaded, exactly the reachable objects). Taken with the world stopped and
// every thread cache given back, so each span's alloc_bits are exact (gc/thread_cache.hpp).
#pragma once
#include <string>
#include <string_view>

#include "tricolor/leak_check.hpp"

namespace tricolor::internal {

class HeapImpl;

// The world is stopped by the caller; sweeping is finished here first.
HeapSnapshot count_objects_stopped(HeapImpl& h);
// A JSON string literal for s (quotes included).
std::string json_string(std::string_view s);

}  // namespace tricolor::internal
