// Scheme values and the heap objects behind them.
//
// A Value is one tagged word:
//
//   bits            meaning
//   ...xxxxx1       fixnum: a 63-bit integer in the upper bits (no allocation for integers)
//   ...xxx010       immediate constant: (), #t, #f, unspecified, unassigned, unbound, eof
//   ...xxx000 != 0  pointer to a HeapObj in the collected heap (payloads are 8-byte aligned)
//   0               "no value": what a zeroed slot holds; never reaches Scheme code
//
// A heap object stores a Value as a Slot: on tricolor a tricolor::TaggedMember (the tagged word
// itself, stored through the write barrier, which decodes the old and new words; the tracer decodes
// it the same way, so immediates never reach the collector as pointers), and on Boehm the tagged word
// itself (Boehm scans conservatively; an odd fixnum is never mistaken for an 8-byte-aligned object
// start, at worst for an interior pointer).
//
// Every heap type derives from HeapObj first, then Managed<T>: HeapObj (the Scheme type tag) sits at
// offset 0, so a HeapObj* is the payload address the collector handed out, which is what the
// tracer must be given. make_object<T>() checks that once per allocation in debug builds.
//
// Heap types obey tricolor's tracing rule: trace() reads only Fields/Slots and members that are set
// in the constructor before anything else and never change (lengths).
#pragma once
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "backend.hpp"

namespace scheme {

enum class Kind : std::uint32_t {
  kPair,
  kVector,
  kString,
  kSymbol,
  kSymbolEntry,
  kClosure,
  kPrimitive,
  kEnv,
  kCode,
  kGlobal,
};

struct HeapObj {
  explicit HeapObj(Kind k) : kind(k) {}
  const Kind kind;
};

class Value {
 public:
  constexpr Value() = default;

  static constexpr std::int64_t kFixnumMax = (std::int64_t{1} << 62) - 1;
  static constexpr std::int64_t kFixnumMin = -(std::int64_t{1} << 62);

  static constexpr Value from_bits(std::uintptr_t b) { return Value(b); }
  static Value object(const HeapObj* p) { return Value(reinterpret_cast<std::uintptr_t>(p)); }
  static constexpr Value fixnum(std::int64_t n) {
    return Value((static_cast<std::uintptr_t>(n) << 1) | 1u);
  }

  static constexpr Value nil() { return imm(0); }
  static constexpr Value t() { return imm(1); }
  static constexpr Value f() { return imm(2); }
  static constexpr Value boolean(bool b) { return b ? t() : f(); }
  static constexpr Value unspecified() { return imm(3); }
  // A local declared by an internal define or letrec, read before its definition ran.
  static constexpr Value unassigned() { return imm(4); }
  // A global cell that no define has filled.
  static constexpr Value unbound() { return imm(5); }
  static constexpr Value eof() { return imm(6); }

  constexpr std::uintptr_t bits() const { return bits_; }
  constexpr bool is_fixnum() const { return (bits_ & 1u) != 0; }
  constexpr std::int64_t as_fixnum() const { return static_cast<std::int64_t>(bits_) >> 1; }
  constexpr bool is_object() const { return (bits_ & 7u) == 0 && bits_ != 0; }
  HeapObj* object() const { return reinterpret_cast<HeapObj*>(bits_); }
  bool is(Kind k) const { return is_object() && object()->kind == k; }
  template <class T>
  T* as() const {
    assert(is(T::kKind));
    return static_cast<T*>(object());
  }
  constexpr bool is_nil() const { return bits_ == nil().bits_; }
  constexpr bool truthy() const { return bits_ != f().bits_; }
  constexpr bool empty() const { return bits_ == 0; }

  friend constexpr bool operator==(Value a, Value b) { return a.bits_ == b.bits_; }

 private:
  constexpr explicit Value(std::uintptr_t b) : bits_(b) {}
  static constexpr Value imm(unsigned n) { return Value((std::uintptr_t{n} << 3) | 2u); }

  std::uintptr_t bits_ = 0;
};

static_assert(Value::fixnum(-1).as_fixnum() == -1);
static_assert(Value::fixnum(Value::kFixnumMax).as_fixnum() == Value::kFixnumMax);
static_assert(Value::fixnum(Value::kFixnumMin).as_fixnum() == Value::kFixnumMin);
static_assert(!Value::nil().is_object() && !Value::nil().is_fixnum() && !Value::nil().empty());

// A Value-holding field of a heap object (see the file comment for why it is not a Value).
#if defined(SCHEME_BACKEND_BOEHM)
class Slot {
 public:
  Value get() const { return Value::from_bits(bits_); }
  void set(Value v) { bits_ = v.bits(); }
  void trace(gc::Tracer&, const char*) const {}

 private:
  std::uintptr_t bits_ = 0;
};
#else
// The tagged word itself, through tricolor's tagged barrier: decode() tells the collector which
// words are pointers (...000, non-zero) and which are immediates, so a Slot is one word, stored and
// read atomically (a two-word {pointer, immediate} pair could tear under the concurrent marker).
struct ValueDecode {
  static const void* decode(std::uintptr_t w) noexcept {
    return (w & 7u) == 0 ? reinterpret_cast<const void*>(w) : nullptr;
  }
};
class Slot {
 public:
  Value get() const { return Value::from_bits(word_.load()); }
  void set(Value v) { word_ = v.bits(); }
  void trace(gc::Tracer& t, const char* name) const { word_.trace(t, name); }

 private:
  tricolor::TaggedMember<ValueDecode> word_;
};
static_assert(sizeof(Slot) == sizeof(std::uintptr_t));
#endif

// Objects with a trailing array keep it right after the fixed part: sizeof(T) is a multiple of 8.
template <class Elem, class T>
Elem* trailing(T* self) {
  static_assert(sizeof(T) % alignof(Elem) == 0);
  return reinterpret_cast<Elem*>(reinterpret_cast<char*>(self) + sizeof(T));
}
template <class Elem, class T>
const Elem* trailing(const T* self) {
  return reinterpret_cast<const Elem*>(reinterpret_cast<const char*>(self) + sizeof(T));
}

struct Pair final : HeapObj, gc::Managed<Pair> {
  static constexpr Kind kKind = Kind::kPair;
  Pair(Value a, Value d) : HeapObj(kKind) {
    car.set(a);
    cdr.set(d);
  }
  void trace(gc::Tracer& t) const {
    car.trace(t, "car");
    cdr.trace(t, "cdr");
  }
  Slot car, cdr;
};

struct Vector final : HeapObj, gc::Managed<Vector> {
  static constexpr Kind kKind = Kind::kVector;
  // length first: trace() may run as soon as the constructor allocates, and reads it.
  Vector(std::size_t n, Value fill) : HeapObj(kKind), length(n) {
    Slot* s = items();
    for (std::size_t i = 0; i < n; ++i) new (&s[i]) Slot();
    if (!fill.empty())
      for (std::size_t i = 0; i < n; ++i) s[i].set(fill);
  }
  Slot* items() { return trailing<Slot>(this); }
  const Slot* items() const { return trailing<Slot>(this); }
  void trace(gc::Tracer& t) const {
    const Slot* s = items();
    for (std::size_t i = 0; i < length; ++i) s[i].trace(t, "items");
  }
  const std::size_t length;
};

struct String final : HeapObj, gc::Managed<String> {
  static constexpr Kind kKind = Kind::kString;
  static constexpr bool kPointerFree = true;
  explicit String(std::string_view s) : HeapObj(kKind), length(s.size()) {
    if (!s.empty()) std::memcpy(chars(), s.data(), s.size());
  }
  char* chars() { return trailing<char>(this); }
  std::string_view view() const { return {trailing<char>(this), length}; }
  void trace(gc::Tracer&) const {}
  const std::size_t length;
};

struct Global;

// Symbols are interned (symbol_table.hpp). A symbol with a global binding points at its cell, so
// that compiling a global reference is one load; the cell points back, which keeps every symbol that
// names a global alive even once the intern table is weak.
struct Symbol final : HeapObj, gc::Managed<Symbol> {
  static constexpr Kind kKind = Kind::kSymbol;
  Symbol(std::string_view s, std::uint64_t h) : HeapObj(kKind), length(s.size()), hash(h) {
    std::memcpy(trailing<char>(this), s.data(), s.size());
  }
  std::string_view name() const { return {trailing<char>(this), length}; }
  void trace(gc::Tracer& t) const { t.trace(global, "global"); }
  const std::size_t length;
  const std::uint64_t hash;
  gc::Field<Global> global;
};

struct Global final : HeapObj, gc::Managed<Global> {
  static constexpr Kind kKind = Kind::kGlobal;
  explicit Global(Symbol* s) : HeapObj(kKind), name(s) { value.set(Value::unbound()); }
  void trace(gc::Tracer& t) const {
    t.trace(name, "name");
    value.trace(t, "value");
  }
  gc::Field<Symbol> name;
  Slot value;
};

struct Env final : HeapObj, gc::Managed<Env> {
  static constexpr Kind kKind = Kind::kEnv;
  Env(std::uint32_t n, Env* up) : HeapObj(kKind), size(n), parent(up) {
    Slot* s = slots();
    for (std::uint32_t i = 0; i < n; ++i) new (&s[i]) Slot();
  }
  Slot* slots() { return trailing<Slot>(this); }
  const Slot* slots() const { return trailing<Slot>(this); }
  void trace(gc::Tracer& t) const {
    t.trace(parent, "parent");
    const Slot* s = slots();
    for (std::uint32_t i = 0; i < size; ++i) s[i].trace(t, "slots");
  }
  const std::uint32_t size;
  gc::Field<Env> parent;
};

// Compiled code: a tree of nodes. Op, a, b and count never change; the items are filled by the
// compiler right after allocation and never change afterwards. Meaning of a, b, items per op:
enum class Op : std::uint8_t {
  kConst,         // items[0] = the constant
  kLocalRef,      // a = frames up, b = slot
  kGlobalRef,     // items[0] = Global
  kLocalSet,      // a, b as kLocalRef; items[0] = value code
  kGlobalSet,     // items[0] = Global, items[1] = value code
  kGlobalDefine,  // items[0] = Global, items[1] = value code
  kIf,            // items[0..2] = test, then, else
  kLambda,        // a = required params, b = frame size (params, rest, internal defines);
                  // items[0] = body, items[1] = name (symbol or #f), items[2] = #t if rest param
  kSeq,           // items = expressions; the last is in tail position
  kCall,          // items[0] = operator, items[1..] = operands
  kAnd,           // items = expressions
  kOr,            // items = expressions
};

struct alignas(8) Code final : HeapObj, gc::Managed<Code> {
  static constexpr Kind kKind = Kind::kCode;
  Code(Op o, std::uint32_t x, std::uint32_t y, std::uint32_t n)
      : HeapObj(kKind), count(n), op(o), a(x), b(y) {
    Slot* s = trailing<Slot>(this);
    for (std::uint32_t i = 0; i < n; ++i) new (&s[i]) Slot();
  }
  Value item(std::size_t i) const { return trailing<Slot>(this)[i].get(); }
  void set_item(std::size_t i, Value v) { trailing<Slot>(this)[i].set(v); }
  Code* code_item(std::size_t i) const { return item(i).as<Code>(); }
  void trace(gc::Tracer& t) const {
    const Slot* s = trailing<Slot>(this);
    for (std::uint32_t i = 0; i < count; ++i) s[i].trace(t, "items");
  }
  const std::uint32_t count;
  const Op op;
  const std::uint32_t a;
  const std::uint32_t b;
};

struct Closure final : HeapObj, gc::Managed<Closure> {
  static constexpr Kind kKind = Kind::kClosure;
  Closure(Code* c, Env* e) : HeapObj(kKind), code(c), env(e) {}
  void trace(gc::Tracer& t) const {
    t.trace(code, "code");
    t.trace(env, "env");
  }
  gc::Field<Code> code;
  gc::Field<Env> env;
};

class VM;
struct Args;
using PrimFn = Value (*)(VM& vm, const Args& args);

// Primitives the machine runs itself, because they call Scheme procedures.
enum class Special : std::uint8_t { kNone, kApply, kCatchError };

struct Primitive final : HeapObj, gc::Managed<Primitive> {
  static constexpr Kind kKind = Kind::kPrimitive;
  static constexpr bool kPointerFree = true;
  static constexpr int kVariadic = -1;
  Primitive(const char* n, PrimFn f, int lo, int hi, Special sp)
      : HeapObj(kKind), name(n), fn(f), min_args(lo), max_args(hi), special(sp) {}
  void trace(gc::Tracer&) const {}
  const char* const name;  // static storage
  const PrimFn fn;
  const int min_args;
  const int max_args;
  const Special special;
};

// Allocates a heap object; every allocation in the interpreter goes through here or
// make_object_with_trailing. Arguments that are heap pointers must be rooted by the caller: the
// allocation may be a safepoint.
template <class T, class... A>
T* make_object(A&&... args) {
  T* p = gc::make<T>(std::forward<A>(args)...);
  assert(static_cast<void*>(static_cast<HeapObj*>(p)) == static_cast<void*>(p));
  return p;
}
template <class T, class... A>
T* make_object_with_trailing(std::size_t trailing_bytes, A&&... args) {
  T* p = gc::make_with_trailing<T>(trailing_bytes, std::forward<A>(args)...);
  assert(static_cast<void*>(static_cast<HeapObj*>(p)) == static_cast<void*>(p));
  return p;
}

}  // namespace scheme
