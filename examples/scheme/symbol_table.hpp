// The symbol table: one Symbol per name, so that eq? on symbols is pointer equality and the compiler
// compares names by address.
//
// An open-addressing weak table (docs/embedding.md, "Weak tables"). Its slot array is one heap object
// of immutable capacity (a weak key and a state byte per slot); the table object itself is a root of
// the VM (traced by the VM's root callback, so assigning slots_ needs no barrier). Growing copies the
// live keys into a new array; the old one becomes garbage.
//
// Weak (on tricolor): a slot refers to its symbol through a tricolor::Weak, so a symbol that no code,
// data or global binding refers to any more is collected, and the collector clears the slot. A
// cleared slot must not read as empty: that would cut the probe chains running through it, and a
// later lookup of a live symbol further along would miss it and intern a second symbol of that name.
// So each slot has a state, empty / live / tombstone, and a weak callback (prune), run by the
// collector right after weak clearing with the world stopped, turns every live slot whose key was
// cleared into a tombstone. Invariants:
//   - A slot's key is non-null if and only if its state is live (prune restores this each cycle before
//     any mutator runs again).
//   - live_ counts live slots, used_ live slots and tombstones; used_ stays at most 3/4 of the
//     capacity, so a probe always meets an empty slot. A rehash keeps only live keys and sizes the new
//     array for them (load at most 3/8): the array shrinks when most symbols died, which keeps the
//     heap bounded however many symbols a program interns and drops.
//   - Lookups compare keys with Weak::peek (no read barrier: the key is only compared, it does not
//     escape); the key that intern() returns is read with Weak::get, which keeps it alive through a
//     cycle that is marking.
// On Boehm, gc::Weak is a strong pointer, no slot is ever cleared, and the table keeps every symbol.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "value.hpp"

namespace scheme {

struct SymbolSlots final : HeapObj, gc::Managed<SymbolSlots> {
  static constexpr Kind kKind = Kind::kSymbolEntry;
  enum : std::uint8_t { kEmpty = 0, kLive = 1, kTombstone = 2 };
  static std::size_t trailing_bytes(std::size_t n) { return n * (sizeof(gc::Weak<Symbol>) + 1); }
  // capacity first: trace() reads it. Nothing here allocates.
  explicit SymbolSlots(std::size_t n) : HeapObj(kKind), capacity(n) {
    for (std::size_t i = 0; i < n; ++i) new (&keys()[i]) gc::Weak<Symbol>();
    std::memset(states(), kEmpty, n);
  }
  gc::Weak<Symbol>* keys() { return trailing<gc::Weak<Symbol>>(this); }
  const gc::Weak<Symbol>* keys() const { return trailing<gc::Weak<Symbol>>(this); }
  std::uint8_t* states() { return reinterpret_cast<std::uint8_t*>(keys() + capacity); }
  const std::uint8_t* states() const { return reinterpret_cast<const std::uint8_t*>(keys() + capacity); }
  void trace(gc::Tracer& t) const {
    const gc::Weak<Symbol>* k = keys();
    for (std::size_t i = 0; i < capacity; ++i) t.trace(k[i], "symbol");
  }
  const std::size_t capacity;  // a power of two
};

class SymbolTable {
 public:
  explicit SymbolTable(gc::Runtime& runtime);
  // May allocate (a safepoint): heap pointers the caller holds must be rooted. The result is not
  // rooted, and may be held only weakly: root it before the next allocation.
  Symbol* intern(std::string_view name);
  // Live symbols (walks the table; for tests and statistics).
  std::size_t live_count() const;
  // The slot array's capacity (for tests: it must shrink once symbols die).
  std::size_t capacity() const { return slots_ != nullptr ? slots_->capacity : 0; }
  // Called from the owner's root callback.
  void trace(gc::Tracer& t) const { t.trace(slots_, "symbol table"); }
  // Stops pruning: call before the table stops being a root (the VM's teardown).
  void close() { pruner_.reset(); }

 private:
  static constexpr std::size_t kNotFound = SIZE_MAX;
  static std::uint64_t hash(std::string_view s);
  static void prune(void* self);
  std::size_t find(std::string_view name, std::uint64_t h) const;
  void insert(Symbol* s);
  void rehash();

  SymbolSlots* slots_ = nullptr;  // a root, not a heap field
  std::size_t live_ = 0;
  std::size_t used_ = 0;
  std::unique_ptr<gc::WeakCallback> pruner_;
};

}  // namespace scheme
