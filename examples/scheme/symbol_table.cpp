// Interning. The only allocations are the symbol, its chain node and, when the load factor passes 1,
// a new bucket array; each is made with everything else it needs already reachable (see intern()).
#include "symbol_table.hpp"

namespace scheme {

std::uint64_t SymbolTable::hash(std::string_view s) {
  // FNV-1a: symbol names are short and a table this small does not need a stronger hash.
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

Symbol* SymbolTable::find(std::string_view name, std::uint64_t h) const {
  if (buckets_ == nullptr) return nullptr;
  Value chain = buckets_->items()[h % buckets_->length].get();
  for (SymbolEntry* e = chain.is_object() ? chain.as<SymbolEntry>() : nullptr; e != nullptr;
       e = e->next) {
    Symbol* s = e->symbol;
    if (s->hash == h && s->name() == name) return s;
  }
  return nullptr;
}

void SymbolTable::grow() {
  const std::size_t n = buckets_ == nullptr ? 64 : buckets_->length * 2;
  // The old array stays reachable through buckets_ while the new one is allocated.
  gc::LocalRoot<Vector> fresh(make_object_with_trailing<Vector>(n * sizeof(Slot), n, Value::nil()));
  if (buckets_ != nullptr) {
    // Relink the existing nodes: no allocation, so raw pointers are fine in this loop.
    for (std::size_t i = 0; i < buckets_->length; ++i) {
      Value chain = buckets_->items()[i].get();
      SymbolEntry* e = chain.is_object() ? chain.as<SymbolEntry>() : nullptr;
      while (e != nullptr) {
        SymbolEntry* next = e->next;
        Slot& head = fresh->items()[e->symbol->hash % n];
        Value old = head.get();
        e->next = old.is_object() ? old.as<SymbolEntry>() : nullptr;
        head.set(Value::object(e));
        e = next;
      }
    }
  }
  buckets_ = fresh.get();
}

Symbol* SymbolTable::intern(std::string_view name) {
  const std::uint64_t h = hash(name);
  if (Symbol* s = find(name, h)) return s;
  if (buckets_ == nullptr || count_ >= buckets_->length) grow();
  // The new symbol is reachable only from this root until its entry is linked in.
  gc::LocalRoot<Symbol> sym(make_object_with_trailing<Symbol>(name.size(), name, h));
  Slot& head = buckets_->items()[h % buckets_->length];
  Value old = head.get();
  // `old` is reachable from the bucket; the allocation below cannot free it.
  SymbolEntry* e =
      make_object<SymbolEntry>(sym.get(), old.is_object() ? old.as<SymbolEntry>() : nullptr);
  buckets_->items()[h % buckets_->length].set(Value::object(e));
  ++count_;
  return sym.get();
}

}  // namespace scheme
