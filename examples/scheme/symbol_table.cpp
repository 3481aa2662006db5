// Interning. The only allocations are the symbol, its chain node and, when the load factor passes 1,
// a new bucket array; each is made with everything else it needs already reachable (see intern()).
#include "symbol_table.hpp"

namespace scheme {

namespace {

SymbolEntry* entry(Value v) { return v.is_object() ? v.as<SymbolEntry>() : nullptr; }

}  // namespace

std::uint64_t SymbolTable::hash(std::string_view s) {
  // FNV-1a: symbol names are short and a table this small does not need a stronger hash.
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Also unlinks the bucket's cleared nodes: no allocation, so the raw pointers are safe here.
Symbol* SymbolTable::find(std::string_view name, std::uint64_t h) {
  if (buckets_ == nullptr) return nullptr;
  Slot& head = buckets_->items()[h % buckets_->length];
  SymbolEntry* prev = nullptr;
  for (SymbolEntry* e = entry(head.get()); e != nullptr; e = e->next) {
    Symbol* s = e->symbol.get();
    if (s == nullptr) {
      if (prev == nullptr) head.set(e->next ? Value::object(e->next) : Value::nil());
      else prev->next = static_cast<SymbolEntry*>(e->next);
      --count_;
      continue;
    }
    if (s->hash == h && s->name() == name) return s;
    prev = e;
  }
  return nullptr;
}

void SymbolTable::grow() {
  const std::size_t n = buckets_ == nullptr ? 64 : buckets_->length * 2;
  // The old array stays reachable through buckets_ while the new one is allocated.
  gc::LocalRoot<Vector> fresh(make_object_with_trailing<Vector>(n * sizeof(Slot), n, Value::nil()));
  std::size_t live = 0;
  if (buckets_ != nullptr) {
    // Relink the nodes that still have a symbol: no allocation in this loop.
    for (std::size_t i = 0; i < buckets_->length; ++i) {
      SymbolEntry* e = entry(buckets_->items()[i].get());
      while (e != nullptr) {
        SymbolEntry* next = e->next;
        if (Symbol* s = e->symbol.get()) {
          Slot& head = fresh->items()[s->hash % n];
          e->next = entry(head.get());
          head.set(Value::object(e));
          ++live;
        }
        e = next;
      }
    }
  }
  buckets_ = fresh.get();
  count_ = live;
}

Symbol* SymbolTable::intern(std::string_view name) {
  const std::uint64_t h = hash(name);
  if (Symbol* s = find(name, h)) return s;
  if (buckets_ == nullptr || count_ >= buckets_->length) grow();
  // Only this root holds the new symbol until its node is linked in (and then only weakly).
  gc::LocalRoot<Symbol> sym(make_object_with_trailing<Symbol>(name.size(), name, h));
  const std::size_t b = h % buckets_->length;
  // The old chain head is reachable from the bucket: the allocation below cannot free it.
  SymbolEntry* e = make_object<SymbolEntry>(sym.get(), entry(buckets_->items()[b].get()));
  buckets_->items()[b].set(Value::object(e));
  ++count_;
  return sym.get();
}

std::size_t SymbolTable::live_count() const {
  std::size_t n = 0;
  if (buckets_ == nullptr) return 0;
  for (std::size_t i = 0; i < buckets_->length; ++i)
    for (SymbolEntry* e = entry(buckets_->items()[i].get()); e != nullptr; e = e->next)
      if (e->symbol.get() != nullptr) ++n;
  return n;
}

}  // namespace scheme
