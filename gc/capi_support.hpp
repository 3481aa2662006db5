// What the C API (capi/) needs of the library's internals, and nothing more. capi/ is built on the
// public C++ API (include/tricolor/, with its internal/ part for the inline fast paths and the
// barrier), on this header and on introspect/capi_support.hpp (what it asks of the leak checks); it
// includes no other header of gc/ or introspect/ (README, "Layout").
// What is here answers questions the C API asks in its own terms (its own messages, its own bounds on
// sizes a C caller passes as data) that the public API leaves unanswered.
//
// Heaps are opaque here: the C API holds a HeapImpl only by pointer (ThreadFast::heap, Heap::impl())
// and asks these functions about it, so no layout of the core reaches capi/ and the core can change
// its parts without touching the C API. Each is one out-of-line call on a path that does more than a
// call's worth of work anyway (a C allocation zeroes its slot; the rest are checks and messages).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>

#include "gc/type_registry.hpp"  // the process-wide type table: register_dynamic_type, kMaxTypes
#include "tricolor/config.hpp"
#include "tricolor/internal/fast_path.hpp"

namespace tricolor::internal {

// ---- Answered by the core (gc/capi_support.cpp)

// A heap reserves its address space in whole arenas of 2^kHeapArenaShift bytes, each aligned to its
// size, and an arena belongs to one heap at a time (gc/page_heap.hpp, PageHeap::kArenaBytes; the
// two are checked equal where this is defined). The C API maps arenas to heaps with it.
inline constexpr unsigned kHeapArenaShift = 26;

// p is the start of an object of h (as Heap::contains).
bool heap_contains(const HeapImpl& h, const void* p);
// The configuration h runs with, environment overrides applied (as Heap::config).
const Config& heap_config(const HeapImpl& h);
// How many threads are attached to h now (under the thread registry's lock).
std::size_t attached_thread_count(HeapImpl& h);
// The payload bytes of the slot that holds p: at least what its allocation asked for (a small
// object's size class, a large object's whole span, less the header). Empty when p lies in no span
// of h in use. Lock-free (the page table), so a trace callback may ask.
std::optional<std::size_t> slot_payload_bytes(const HeapImpl& h, const void* p);

// The collector's state of attached thread t.
std::uint32_t blocking_depth(const ThreadFast* t);  // > 0 inside a BlockingScope
const char* thread_name(const ThreadFast* t);       // as attached; "" when unnamed

}  // namespace tricolor::internal
