// Interning. The only allocations are the symbol and, when the table is 3/4 used, a new slot array;
// each is made with everything else it needs already reachable (see intern()).
#include "symbol_table.hpp"

namespace scheme {

SymbolTable::SymbolTable(gc::Runtime& runtime)
    : pruner_(std::make_unique<gc::WeakCallback>(runtime, &SymbolTable::prune, this)) {}

std::uint64_t SymbolTable::hash(std::string_view s) {
  // FNV-1a: symbol names are short and a table this small does not need a stronger hash.
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Runs on the collector's thread with the world stopped, right after weak clearing: every live slot
// whose key was just cleared becomes a tombstone. Plain accesses: no mutator runs, and the resumption
// of the world orders these writes before the interpreter's next read.
void SymbolTable::prune(void* self) {
  auto& table = *static_cast<SymbolTable*>(self);
  SymbolSlots* s = table.slots_;
  if (s == nullptr) return;
  std::uint8_t* states = s->states();
  const gc::Weak<Symbol>* keys = s->keys();
  for (std::size_t i = 0; i < s->capacity; ++i)
    if (states[i] == SymbolSlots::kLive && keys[i].peek() == nullptr) {
      states[i] = SymbolSlots::kTombstone;
      --table.live_;
    }
}

// Linear probing from the hash; tombstones are skipped, an empty slot ends the chain.
std::size_t SymbolTable::find(std::string_view name, std::uint64_t h) const {
  if (slots_ == nullptr) return kNotFound;
  const std::size_t mask = slots_->capacity - 1;
  const std::uint8_t* states = slots_->states();
  const gc::Weak<Symbol>* keys = slots_->keys();
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    if (states[i] == SymbolSlots::kEmpty) return kNotFound;
    if (states[i] != SymbolSlots::kLive) continue;
    // A comparison only: peek, no read barrier.
    const Symbol* k = keys[i].peek();
    if (k != nullptr && k->hash == h && k->name() == name) return i;
  }
}

// Into the first tombstone or empty slot of s's chain. No allocation.
void SymbolTable::insert(Symbol* s) {
  const std::size_t mask = slots_->capacity - 1;
  std::uint8_t* states = slots_->states();
  std::size_t i = s->hash & mask;
  while (states[i] == SymbolSlots::kLive) i = (i + 1) & mask;
  if (states[i] == SymbolSlots::kEmpty) ++used_;
  slots_->keys()[i] = s;
  states[i] = SymbolSlots::kLive;
  ++live_;
}

void SymbolTable::rehash() {
  std::size_t n = 64;
  while (n * 3 < (live_ + 1) * 8) n *= 2;  // the new array is at most 3/8 used
  // The old array stays reachable through slots_ while the new one is allocated (a collection here
  // may prune it: live_ can only drop).
  gc::LocalRoot<SymbolSlots> fresh(make_object_with_trailing<SymbolSlots>(SymbolSlots::trailing_bytes(n), n));
  SymbolSlots* old = slots_;
  slots_ = fresh.get();
  live_ = used_ = 0;
  if (old == nullptr) return;
  // No allocation in this loop. get(), not peek(): the key is copied into a new array, which a cycle
  // that is marking already counts as scanned (allocated black), so it must be held strongly.
  for (std::size_t i = 0; i < old->capacity; ++i)
    if (old->states()[i] == SymbolSlots::kLive)
      if (Symbol* s = old->keys()[i].get()) insert(s);
}

Symbol* SymbolTable::intern(std::string_view name) {
  const std::uint64_t h = hash(name);
  if (const std::size_t i = find(name, h); i != kNotFound) return slots_->keys()[i].get();
  if (slots_ == nullptr || (used_ + 1) * 4 > slots_->capacity * 3) rehash();
  // Only this root holds the new symbol until it is in the table (and then only weakly). A collection
  // in this allocation may turn slots into tombstones; used_ does not change, so there is still room.
  gc::LocalRoot<Symbol> sym(make_object_with_trailing<Symbol>(name.size(), name, h));
  insert(sym.get());
  return sym.get();
}

std::size_t SymbolTable::live_count() const {
  std::size_t n = 0;
  if (slots_ == nullptr) return 0;
  for (std::size_t i = 0; i < slots_->capacity; ++i)
    if (slots_->states()[i] == SymbolSlots::kLive && slots_->keys()[i].peek() != nullptr) ++n;
  return n;
}

}  // namespace scheme
