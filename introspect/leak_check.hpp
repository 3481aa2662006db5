// The heap's leak-checking state, the heap's observer (gc/heap_observer.hpp): allocation epochs (which thread allocated an object, and whether
// before or after a LeakCheck opened), allocation sites, and find-leak mode. Everything here costs
// nothing until used: the allocation fast path is untouched, and the slow path and the sweeper each
// read one flag that is constant for the heap's life.
//
// Epochs. ObjectHeader::epoch is copied from ThreadFast::alloc_epoch, which only this file changes,
// and only with the world stopped (or under threads_mu, for a thread attaching). Every change hands
// out a new value from one counter and records which thread (by ordinal) it went to, so an epoch
// says both "when" (values only grow) and "who". Until the first LeakCheck every thread uses 0.
// LeakCheck's rule (include/tricolor/leak_check.hpp) reads nothing else.
//
// Find-leak mode (Config::find_leak): objects of tracked types are expected to be released with
// tricolor::release(). The sweeper shows this file every dead object (on_dead); a released one is
// forgotten, an unreleased one is counted as found, per (type, allocation stack).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gc/heap_observer.hpp"
#include "gc/span.hpp"
#include "introspect/alloc_sites.hpp"
#include "tricolor/config.hpp"
#include "tricolor/leak_check.hpp"

namespace tricolor::internal {

class HeapImpl;
struct ThreadState;

// Glob with '*' only (type names are full of characters fnmatch treats specially: [] in arrays).
bool glob_match(std::string_view pattern, std::string_view text);

class LeakState final : public HeapObserver {
 public:
  LeakState(HeapImpl& h, const Config& c);
  ~LeakState() override;  // reports find-leak results nobody took
  LeakState(const LeakState&) = delete;
  LeakState& operator=(const LeakState&) = delete;

  AllocSites sites;

  // --- HeapObserver
  // Allocations while sampling sites; deaths while sampling or in find-leak mode.
  Interests interests() const override { return {sites.enabled(), observe_deaths_}; }
  void on_allocation(ThreadCache& c, const Span* s, const void* slot, std::size_t bytes) override {
    sites.note_allocation(c, s, slot, bytes);
  }
  void on_dead(Span* s, std::size_t word, std::uint64_t dead) override;
  // A thread attaching (threads_mu held): a fresh epoch once epochs are in use, else 0.
  std::uint32_t on_thread_attached(std::uint64_t ordinal) override;
  void on_phase(Phase) override {}

  // --- epochs
  // World stopped: gives every thread a fresh epoch, `self` first; returns self's.
  std::uint32_t refresh_epochs(ThreadState* self);
  // epoch -> owning thread ordinal (0: none), a copy.
  std::vector<std::uint64_t> epoch_owners();

  // --- find-leak mode
  bool find_leak() const { return !find_leak_globs_.empty(); }
  void release(const void* obj);
  LeakReport take_found_leaks();

  // --- type filters shared by the reports
  bool type_matches(std::uint32_t type_id, const std::vector<std::string>& globs);

 private:
  bool tracked(std::uint32_t type_id);  // fl_mu_ held

  HeapImpl& h_;
  const bool observe_deaths_;
  const std::vector<std::string> find_leak_globs_;

  std::mutex epoch_mu_;
  std::vector<std::uint64_t> owners_{0};  // index: epoch; owners_[0] = 0 (before any scope)

  std::mutex fl_mu_;
  std::unordered_set<const void*> released_;
  std::vector<std::int8_t> tracked_;  // by type id: 0 unknown, 1 tracked, -1 not
  struct Found {
    std::size_t objects = 0;
    std::size_t bytes = 0;
  };
  std::unordered_map<std::uint64_t, Found> found_;  // (type << 32 | stack) -> totals
};

// The leak state of a heap built by tricolor::Heap (introspect/heap_tools.cpp installs it as the
// heap's observer).
LeakState& leak_state(HeapImpl& h);

// Report helpers shared by LeakCheck, find-leak and the snapshot.
std::string format_bytes(std::size_t bytes);
std::vector<AllocSite> symbolize_sites(AllocSites& sites, const std::unordered_map<std::uint32_t, std::size_t>& counts);

}  // namespace tricolor::internal
