// Heap configuration. Every knob can also be set from the environment (Config::apply_env, which
// Heap's constructor applies on top of what the program passed). A value that does not parse or is
// out of range stops the program with a message naming the variable and the range. Byte counts take
// k, m, g, t (binary) in either case, optionally followed by i and/or B: 512m, 512MiB, 2GiB, 1.5g.
// gc_percent and soft_limit can also change on a live heap: Heap::set_gc_percent / set_soft_limit.
//   TRICOLOR_GC_PERCENT    heap growth over the last live heap that triggers a cycle (default 100;
//                          -1 or off: none; at most 1000000)
//   TRICOLOR_MAX_HEAP      hard limit on the heap memory held, in bytes; 0 = none (up to 16 TiB)
//   TRICOLOR_SOFT_LIMIT    soft limit in bytes (Go's GOMEMLIMIT); 0 = none (up to 16 TiB)
//   TRICOLOR_INITIAL_HEAP  heap size at which the first cycle starts (up to 16 TiB)
//   TRICOLOR_RESERVE       virtual address space reserved for the heap (64 MiB to 16 TiB; default 64 GiB)
//   TRICOLOR_MARKERS       background marker threads (0 = half the cores, at least one; at most 1024)
//   TRICOLOR_MARK_CPU      CPU share of background marking, in percent of the cores (0 = no cap; 1-100)
//   TRICOLOR_CONCURRENT    0: mark with the world stopped; 1: concurrent (default)
//   TRICOLOR_VERIFY        1: re-trace after every mark and abort on an unmarked reachable object
//   TRICOLOR_GCTRACE       1: one line per cycle on stderr (format: README, "The trace line")
//   TRICOLOR_SCAVENGE_MS   free spans unused this long go back to the OS (default 500; at most a day)
//   TRICOLOR_PERIODIC_GC_MS  a cycle runs when none has for this long (default 2000; 0: never; at most a day)
//   TRICOLOR_ALLOC_SITES   allocation sites for leak reports and heap profiles: 1 = every allocation,
//                          N (e.g. 512k) = one sampled allocation per N bytes on average; 0 = off
//   TRICOLOR_FIND_LEAK     find-leak mode: 1 = every type, or comma-separated type-name globs
//   TRICOLOR_COLLECT_EVERY stress: a full collection every N allocations (1: every one); 0 = off
#pragma once
#include "tricolor/internal/api.hpp"
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace tricolor {

enum class Phase : std::uint8_t {
  kIdle,
  kSweepTermination,  // finishing the previous cycle's sweep
  kMarkStart,         // stop-the-world: barrier on, allocate black
  kRootScan,          // handshakes: each thread scans its own roots
  kMark,              // concurrent marking
  kMarkTermination,   // marking is over: two ragged rounds around the sweep flip, or a stop for weak
                      // refs (a stop-the-world cycle announces it inside its one stop)
  kSweep,             // lazy and background sweeping
};

struct Event {
  Phase phase;
  std::uint64_t cycle;
  std::uint64_t time_ns;      // monotonic, when the phase began
  std::uint64_t heap_bytes;   // committed heap when the phase began
};

struct TRICOLOR_API Config {
  static constexpr int kMaxGcPercent = 1000000;
  static constexpr unsigned kMaxMarkerThreads = 1024;

  std::size_t initial_heap = 4u << 20;
  int gc_percent = 100;
  std::size_t max_heap = 0;
  std::size_t soft_limit = 0;
  unsigned marker_threads = 0;
  // The share of the machine's cores background marking may use, in percent (Go's collector uses
  // 25): the markers rest when over it, and allocating threads assist for what they leave undone.
  // 0: no cap (marker_threads markers, or half the cores, each at full speed). With marker_threads 0
  // the team is as many threads as the share needs (at least one), the last running part-time.
  unsigned mark_cpu_percent = 0;
  bool concurrent = true;
  bool verify = false;
  bool gctrace = false;
  bool background_sweeper = true;
  // Free spans unused for this long are returned to the OS by the background sweeper (scavenger).
  unsigned scavenge_delay_ms = 500;
  // A cycle runs when none has for this long (0: never), so memory is returned after the live heap
  // drops even if the program stops allocating; the period backs off while such cycles find nothing.
  unsigned periodic_gc_ms = 2000;
  // Leak checking (include/tricolor/leak_check.hpp, docs/leak_checking.md). Both off by default and
  // then free: the allocation fast path does not look at them.
  // Record allocation stacks: 0 off, 1 every allocation, N one allocation per N bytes on average
  // (Go's MemProfileRate). On, every allocation takes the out-of-line slow path.
  std::size_t alloc_sites = 0;
  // Find-leak mode: objects of the types matching these comma-separated globs ("*": all) must be
  // released with tricolor::release(); those that become unreachable unreleased are reported.
  std::string find_leak;
  // Virtual address space reserved for the heap (never committed up front), at most 16 TiB. Heap's
  // constructor throws tricolor::ReservationError (a std::bad_alloc) when it cannot be reserved.
  std::size_t reserve = std::size_t{64} << 30;
  // Stress testing an embedding: a full collection every N allocations of the heap (1: before every
  // one); 0 off. On, every allocation takes the out-of-line slow path (as with alloc_sites). With
  // verify on, it proves that every object the program still uses is reachable at every allocation.
  std::size_t collect_every = 0;
  // Called on the collector's thread at each phase change; must not allocate or block.
  std::function<void(const Event&)> on_event;

  // Returns *this with every TRICOLOR_* variable that is set applied. A malformed or out-of-range
  // value stops with a message naming the variable and its range.
  Config& apply_env();
};

}  // namespace tricolor
