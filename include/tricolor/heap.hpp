// A garbage-collected heap. Threads attach with tricolor::Mutator; objects are allocated with
// tricolor::make<T>. A heap must outlive every Mutator, Global and object reference into it.
#pragma once
#include "tricolor/internal/api.hpp"
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "tricolor/config.hpp"
#include "tricolor/leak_check.hpp"
#include "tricolor/tracer.hpp"

namespace tricolor {

namespace internal {
class HeapImpl;
}

enum class PauseKind : std::uint8_t {
  kMarkStart,        // global stop: heap-wide root callbacks (only when some are registered)
  kMarkTermination,  // global stop, only with weak work (or the verifier): weak refs, sweep flip (or a restart)
  kRootScan,         // one thread's handshake: scanning its own roots
  kHandshake,        // one thread's handshake: flushing its barrier buffer
  kAssist,           // a mutator marking to pay for its allocation
  kFullStop,         // stop-the-world collection (non-concurrent mode, emergencies)
  kHeapLimitWait,    // one thread waiting for the cycle: at the hard limit, or (no limit set) at twice the goal
};
TRICOLOR_API const char* to_string(PauseKind k);

struct Pause {
  PauseKind kind;
  std::uint64_t start_ns;     // monotonic clock
  std::uint64_t duration_ns;
};

struct PauseSummary {
  std::size_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0, total_ms = 0;
};

struct Stats {
  std::size_t heap_bytes = 0;         // committed span bytes
  std::size_t heap_peak_bytes = 0;
  // Heap memory: committed_bytes is the address space mapped for spans (in use or free);
  // released_bytes the part the process does not hold (free pages returned to the OS, and pages
  // never touched yet). committed_bytes - released_bytes is the memory the heap holds: max_heap
  // bounds it, and the soft limit brings it down as far as free pages allow.
  std::size_t committed_bytes = 0;
  std::size_t released_bytes = 0;
  std::size_t live_bytes = 0;         // marked at the end of the last cycle
  // Allocated since the heap was created, every thread together: objects and their slot bytes (the
  // size class, header included; large objects in whole pages). Exact except for the slots still
  // free in threads' allocation caches (at most one span per size class per thread), which count as
  // allocated until given back; tricolor::allocated_objects() is exact for the calling thread.
  std::size_t allocated_objects = 0;
  std::size_t allocated_bytes = 0;
  std::size_t heap_goal = 0;
  std::uint64_t cycles = 0;
  std::uint64_t objects_freed = 0;
  double mark_wall_ms = 0;            // all cycles, start to termination
  double mark_cpu_ms = 0;             // marker threads' CPU
  double assist_ms = 0;
  PauseSummary global_pauses;         // kMarkStart + kMarkTermination + kFullStop, all of them
  PauseSummary thread_pauses;         // kRootScan + kHandshake + kAssist, all of them (histogram)
  std::vector<Pause> pauses;          // the most recent pauses in order (the last 1<<16)
};

using RootCallback = void (*)(Tracer& tracer, void* context);

// What the calling thread has allocated since it attached (its Mutator or tc_thread_attach), exactly:
// objects, and their slot bytes (size class with header; large objects in whole pages). For
// benchmarks' allocs/op and bytes/op: read before and after, divide by the iterations. Cheap (no
// lock; a few popcounts per size class the thread allocates from), but not for the fast path. The
// thread must be attached.
TRICOLOR_API std::uint64_t allocated_objects();
TRICOLOR_API std::uint64_t allocated_bytes();

// Thrown by Heap's constructor when the heap's address space cannot be reserved: the OS refused the
// mapping (an address-space limit such as `ulimit -v`, a strict overcommit policy) or
// Config::reserve is beyond the largest reservation (16 TiB). what() says which, with the size and
// the fix (lower Config::reserve or TRICOLOR_RESERVE). Nothing is left behind: no thread started.
// Exported (type information included), so that a program linked to the shared library catches it by
// type.
class TRICOLOR_API ReservationError : public std::bad_alloc {
 public:
  explicit ReservationError(const std::string& message) : message_(message) {}
  const char* what() const noexcept override { return message_.what(); }

 private:
  std::runtime_error message_;  // a reference-counted string: copying the exception cannot throw
};

class TRICOLOR_API Heap {
 public:
  // Applies the environment (Config::apply_env) on top of config. Throws ReservationError when the
  // address space cannot be reserved; stops with a message on a Config value out of range.
  explicit Heap(Config config = {});
  ~Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // A full collection, blocking the caller until marking is done and every span is swept, so that
  // every unreachable object's destructor has run when it returns. Callable from attached threads
  // (the caller's own roots count) and unattached ones, and inside a BlockingScope; not from what
  // the collector itself runs (a destructor, a trace() function, a root callback): that stops with
  // a message, as it could never return.
  void collect();
  // Starts a cycle and returns at once (none if one is already under way or requested): the
  // program keeps running while markers race with it. For stress tests of an embedding.
  void start_collection();
  // Config::collect_every on a live heap (0: off).
  void set_collect_every(std::size_t n);
  Stats stats() const;
  // The configuration the heap was built with (the environment applied). The run-time knobs below
  // do not change it.
  const Config& config() const;

  // Run-time knobs, like Go's debug.SetGCPercent and debug.SetMemoryLimit: change the live heap's
  // pacing from any thread (attached or not), at any time, a cycle running or not. The goal and
  // the trigger are recomputed at once from the last cycle's live heap; if the heap is already past
  // the new trigger, a cycle starts. Each returns the previous value.
  //   set_gc_percent: as Config::gc_percent, -1 (no paced cycles) to Config::kMaxGcPercent.
  //   set_soft_limit: as Config::soft_limit, in bytes (0: none), at most 16 TiB; the scavenger also
  //     returns free pages to the OS to keep the heap's memory under it (README, "What counts").
  // A value out of range stops with a message naming the function and the range.
  int set_gc_percent(int percent);
  std::size_t set_soft_limit(std::size_t bytes);

  // Heap-wide root callback, scanned while the world is stopped at the start of each cycle. Keep it
  // short: its time is a global pause. The slots it traces are snapshotted at mark start, so stores
  // into them while marking must go through tricolor::root_slot_barrier(old, new) (as Global<T> and
  // Member<T> stores do): a pointer moved from a thread's Root into such a slot, and then from the
  // slot into an already-scanned object, would otherwise escape marking. Returns an id for
  // remove_roots.
  std::uint64_t add_roots(RootCallback callback, void* context, const char* name = nullptr);
  void remove_roots(std::uint64_t id);

  // Runs fn(obj, context) once, on a thread calling run_finalizers(), after obj becomes unreachable.
  // One finalizer per object; null fn removes it. obj must be an object of this heap.
  void set_finalizer(void* obj, void (*fn)(void* obj, void* context), void* context = nullptr);
  // Runs up to max pending finalizers on the calling (attached) thread; returns how many ran. An
  // exception thrown by a finalizer propagates out of run_finalizers() unchanged: that finalizer
  // counts as run (its object is collected like any other once unreachable), the ones not yet run
  // stay pending for the next call, and the heap stays consistent. Catch it around this call.
  std::size_t run_finalizers(std::size_t max = SIZE_MAX);
  std::size_t pending_finalizers() const;

  // Does p point at the start of an object slot of this heap (a pointer make<>() could have returned)?
  bool contains(const void* p) const;

  // Introspection (include/tricolor/leak_check.hpp has the types and the rules). Each briefly stops
  // the world; snapshot, heap_profile and take_found_leaks run a full collection first.
  HeapSnapshot snapshot();
  // Why is obj alive: its shortest path from a root, or nothing if no root reaches it.
  std::optional<RetentionPath> path_to(const void* obj);
  // Every root and reachable object that references obj directly, each with its own path.
  std::vector<Retainer> retainers(const void* obj);
  // A pprof heap profile (profile.proto bytes) of the allocations sampled by Config::alloc_sites;
  // write_heap_profile stores it in a file (false on an I/O error).
  std::string heap_profile();
  bool write_heap_profile(const std::string& path);
  // Find-leak mode (Config::find_leak): the tracked objects that became unreachable without
  // tricolor::release() since the last call.
  LeakReport take_found_leaks();

  internal::HeapImpl& impl() { return *impl_; }

 private:
  internal::HeapImpl* impl_;
};

}  // namespace tricolor
