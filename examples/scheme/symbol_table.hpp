// The symbol table: one Symbol per name, so that eq? on symbols is pointer equality and the compiler
// compares names by address.
//
// It is a chained hash table whose bucket array and chain nodes live in the collected heap; the
// table object itself is a root of the VM (traced by the VM's root callback, so assigning buckets_
// needs no barrier).
//
// Strong for now: every symbol ever read stays alive. Issue 6 wants it weak (a symbol that no code or
// data refers to may go), and the table is kept behind this interface so that the change stays here:
// SymbolEntry::symbol becomes a tricolor::Weak<Symbol>, lookup skips cleared entries and insert
// unlinks them. Nothing outside relies on the table keeping a symbol alive: a symbol that names a
// global is held by its Global cell, which the VM holds.
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
  gc::Field<Symbol> symbol;
  gc::Field<SymbolEntry> next;
};

class SymbolTable {
 public:
  // May allocate (a safepoint): heap pointers the caller holds must be rooted.
  Symbol* intern(std::string_view name);
  std::size_t size() const { return count_; }
  // Called from the owner's root callback.
  void trace(gc::Tracer& t) const { t.trace(buckets_, "symbol table"); }

 private:
  static std::uint64_t hash(std::string_view s);
  Symbol* find(std::string_view name, std::uint64_t h) const;
  void grow();

  Vector* buckets_ = nullptr;  // of SymbolEntry chains; a root, not a heap field
  std::size_t count_ = 0;
};

}  // namespace scheme
