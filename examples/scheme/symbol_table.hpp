// The symbol table: one Symbol per name, so that eq? on symbols is pointer equality and the compiler
// compares names by address.
//
// A chained hash table whose bucket array and chain nodes live in the collected heap; the table
// object itself is a root of the VM (traced by the VM's root callback, so assigning buckets_ needs no
// barrier).
//
// Weak (on tricolor): a chain node refers to its symbol through a tricolor::Weak, so a symbol that no
// code, data or global binding refers to any more is collected, and its node reads null from then on.
// Invariants:
//   - A symbol is interned at most once while it lives: lookup and insertion both read the weak
//     references, and reading one while the collector marks keeps the target alive for that cycle.
//   - Cleared nodes are unlinked lazily, by insertion into their bucket and by grow(); count_ counts
//     nodes, live or cleared, so the load factor is an upper bound.
//   - Nothing else relies on the table keeping a symbol alive: a symbol that names a global is held by
//     its Global cell (which the VM holds); keywords are VM roots.
// On Boehm, gc::Weak is a strong pointer and the table keeps every symbol.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "value.hpp"

namespace scheme {

struct SymbolEntry final : HeapObj, gc::Managed<SymbolEntry> {
  static constexpr Kind kKind = Kind::kSymbolEntry;
  SymbolEntry(Symbol* s, SymbolEntry* n) : HeapObj(kKind), symbol(s), next(n) {}
  void trace(gc::Tracer& t) const {
    t.trace(symbol, "symbol");
    t.trace(next, "next");
  }
  gc::Weak<Symbol> symbol;
  gc::Field<SymbolEntry> next;
};

class SymbolTable {
 public:
  // May allocate (a safepoint): heap pointers the caller holds must be rooted. The result is not
  // rooted, and may be held only weakly: root it before the next allocation.
  Symbol* intern(std::string_view name);
  // Live symbols (walks the table; for tests and statistics).
  std::size_t live_count() const;
  // Called from the owner's root callback.
  void trace(gc::Tracer& t) const { t.trace(buckets_, "symbol table"); }

 private:
  static std::uint64_t hash(std::string_view s);
  Symbol* find(std::string_view name, std::uint64_t h);
  void grow();

  Vector* buckets_ = nullptr;  // of SymbolEntry chains; a root, not a heap field
  std::size_t count_ = 0;
};

}  // namespace scheme
