// Allocation sites: which call stack allocated an object (leak reports, find-leak reports, pprof
// heap profiles). Sampled by bytes, like Go's MemProfileRate: Config::alloc_sites = R records, on
// average, one allocation per R bytes (R = 1: every allocation). Off (R = 0) by default.
//
// Cost model. Off: nothing anywhere, the fast path is untouched (one untaken load in the slow path
// and in the sweeper per span). On: the thread cache keeps its window empty (ThreadCache::pending),
// so every allocation takes the out-of-line slow path (a call and a few branches: ThreadCache::
// take_sampled), which subtracts the slot size from a per-thread countdown; when it crosses zero the
// allocation is recorded: backtrace() (a DWARF unwind, about a microsecond) and an insert into a
// table keyed by slot address, under a mutex. The countdown restarts at an exponentially distributed
// value with mean R, so every byte has the same chance to be sampled and big objects are sampled
// more often, with no bias from allocation patterns. The sweeper drops records of dead objects and
// adds them to per-(stack, type) totals (allocated, freed). Symbolization happens only when a report
// or profile is built (libbacktrace: function, file:line and inlined frames, where the build found
// it; otherwise dladdr). docs/leak_checking.md has measured numbers.
//
// Invariant: a record exists for a slot exactly while the sampled object in it is allocated (the
// record is inserted before the slot is returned, and removed when the sweeper frees the slot).
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "gc/thread_cache.hpp"

namespace tricolor::internal {

class AllocSites {
 public:
  static constexpr std::size_t kMaxFrames = 48;

  struct Frame {
    std::uintptr_t pc;     // the return address minus one (inside the call instruction)
    std::string function;  // demangled; "" when unknown
    std::string file;      // "" when unknown
    int line = 0;
    std::string module;    // shared object or executable, for frames without symbols
    std::uintptr_t module_offset = 0;
    std::string to_string() const;
  };
  // Allocated and freed totals of one (stack, type), in sampled objects and their bytes.
  struct Totals {
    std::uint64_t alloc_objects = 0, alloc_bytes = 0, free_objects = 0, free_bytes = 0;
  };

  explicit AllocSites(std::size_t rate) : rate_(rate) {}
  AllocSites(const AllocSites&) = delete;
  AllocSites& operator=(const AllocSites&) = delete;

  bool enabled() const { return rate_ != 0; }  // const after construction: no ordering needed
  std::size_t rate() const { return rate_; }

  // The allocation slow path: a slot (header address) of `bytes` in span s goes to the caller.
  // Samples it when the thread's countdown runs out.
  void note_allocation(ThreadCache& c, const Span* s, const void* slot, std::size_t bytes) {
    c.sample_countdown -= static_cast<std::int64_t>(bytes);
    if (c.sample_countdown <= 0) [[unlikely]]
      record(c, s, slot, bytes);
  }

  // The sweeper, once per span word with dead objects: does span s hold any sampled object? Spans
  // without one (nearly all of them, at Go's rate) cost one lookup per word, not one per object.
  bool has_samples_in(const Span* s);
  // The sweeper: slot of span s died. Returns the stack of its record (or UINT32_MAX when not
  // sampled), and moves it to the freed totals of (stack, type_id).
  std::uint32_t forget(const Span* s, const void* slot, std::uint32_t type_id);
  // The stack recorded for a live slot, or UINT32_MAX. The world is stopped (or the slot rooted).
  std::uint32_t stack_of(const void* slot);

  // Per (stack, type): the freed totals, plus an allocation for each live record (so in use =
  // alloc - free). World stopped, after a collection and sweep.
  struct ProfileEntry {
    std::uint32_t stack;
    std::uint32_t type_id;
    Totals totals;
  };
  std::vector<ProfileEntry> profile_entries();

  // Frames of a recorded stack, innermost first, inlined frames expanded, tricolor's own
  // allocation frames dropped. Slow the first time (reads debug info); cached.
  std::vector<Frame> symbolize(std::uint32_t stack);
  // Whether frames get file:line and the names of static and inlined functions (libbacktrace); if
  // not, names come from dladdr (exported symbols only).
  static bool has_line_info();
  std::vector<std::uintptr_t> raw_stack(std::uint32_t stack);

 private:
  void record(ThreadCache& c, const Span* s, const void* slot, std::size_t bytes);
  std::int64_t next_countdown(ThreadCache& c) const;
  std::uint32_t intern(const std::uintptr_t* pcs, std::size_t n);  // mu_ held
  std::vector<Frame> symbolize_pc(std::uintptr_t pc);              // symbols_mu_ held

  struct Record {
    std::uint32_t stack;
    std::uint32_t bytes;
  };

  const std::size_t rate_;
  std::mutex mu_;
  std::unordered_map<std::uintptr_t, Record> live_;             // slot -> record
  std::unordered_map<const Span*, std::uint32_t> spans_;       // span -> live records in it
  std::unordered_map<std::uint64_t, Totals> freed_;             // (stack << 32 | type) -> totals
  std::vector<std::vector<std::uintptr_t>> stacks_;            // stack id -> pcs, outermost last
  std::unordered_map<std::string, std::uint32_t> stack_ids_;   // pcs as bytes -> id

  std::mutex symbols_mu_;
  std::unordered_map<std::uintptr_t, std::vector<Frame>> by_pc_;
};

}  // namespace tricolor::internal
