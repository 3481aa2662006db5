// Primitive procedures, and the prelude (procedures written in Scheme).
//
// A primitive receives its arguments as value-stack slots (Args), which stay rooted for the whole
// call. Raw pointers into arguments stay valid across allocations for that reason (objects do not
// move); a primitive that builds a result across several allocations keeps the partial result in a
// slot it pushes (the `acc` pattern below), never in a C++ local alone.
#include "builtins.hpp"

#include <cinttypes>
#include <string>

#include "reader.hpp"

namespace scheme {

namespace {

using std::int64_t;

[[noreturn]] void type_error(const char* who, const char* expected, Value got) {
  throw_error(std::string(who) + ": expected " + expected + ", got " + to_write_string(got));
}

int64_t integer(const Args& a, std::size_t i, const char* who) {
  const Value v = a[i];
  if (!v.is_fixnum()) type_error(who, "an integer", v);
  return v.as_fixnum();
}

[[noreturn]] void overflow(const char* who) {
  throw_error(std::string(who) + ": integer overflow (integers are 63-bit)");
}

Value make_integer(int64_t n, const char* who) {
  if (n > Value::kFixnumMax || n < Value::kFixnumMin) overflow(who);
  return Value::fixnum(n);
}

template <class T>
T* object_arg(const Args& a, std::size_t i, const char* who, const char* expected) {
  const Value v = a[i];
  if (!v.is(T::kKind)) type_error(who, expected, v);
  return v.as<T>();
}
Pair* pair_arg(const Args& a, std::size_t i, const char* who) { return object_arg<Pair>(a, i, who, "a pair"); }
Vector* vector_arg(const Args& a, std::size_t i, const char* who) {
  return object_arg<Vector>(a, i, who, "a vector");
}
String* string_arg(const Args& a, std::size_t i, const char* who) {
  return object_arg<String>(a, i, who, "a string");
}

std::size_t index_arg(const Args& a, std::size_t i, std::size_t length, const char* who) {
  const int64_t k = integer(a, i, who);
  if (k < 0 || static_cast<std::uint64_t>(k) >= length)
    throw_error(std::string(who) + ": index " + std::to_string(k) + " out of range for length " +
                std::to_string(length));
  return static_cast<std::size_t>(k);
}

Value car(Value v) { return v.as<Pair>()->car.get(); }
Value cdr(Value v) { return v.as<Pair>()->cdr.get(); }

// Length of a proper list, or -1 for an improper or cyclic one (set-cdr! can make cycles; the slow
// pointer moves every other step and meets the fast one inside a cycle).
long proper_length(Value list) {
  long n = 0;
  Value slow = list;
  Value fast = list;
  for (;;) {
    if (!fast.is(Kind::kPair)) break;
    fast = cdr(fast);
    ++n;
    if (!fast.is(Kind::kPair)) break;
    fast = cdr(fast);
    ++n;
    slow = cdr(slow);
    if (fast == slow) return -1;
    if (n % 65536 == 0) gc::safepoint();  // a long walk that does not allocate
  }
  return fast.is_nil() ? n : -1;
}

// Length of a proper list, or an error naming `who`.
std::size_t list_length(Value list, const char* who) {
  const long n = proper_length(list);
  if (n < 0) type_error(who, "a proper list", list);
  return static_cast<std::size_t>(n);
}

// --- numbers

Value add(VM&, const Args& a) {
  int64_t acc = 0;
  for (std::size_t i = 0; i < a.count; ++i)
    if (__builtin_add_overflow(acc, integer(a, i, "+"), &acc)) overflow("+");
  return make_integer(acc, "+");
}
Value subtract(VM&, const Args& a) {
  int64_t acc = integer(a, 0, "-");
  if (a.count == 1) return make_integer(-acc, "-");
  for (std::size_t i = 1; i < a.count; ++i)
    if (__builtin_sub_overflow(acc, integer(a, i, "-"), &acc)) overflow("-");
  return make_integer(acc, "-");
}
Value multiply(VM&, const Args& a) {
  int64_t acc = 1;
  for (std::size_t i = 0; i < a.count; ++i)
    if (__builtin_mul_overflow(acc, integer(a, i, "*"), &acc)) overflow("*");
  return make_integer(acc, "*");
}
int64_t divisor(const Args& a, const char* who) {
  const int64_t d = integer(a, 1, who);
  if (d == 0) throw_error(std::string(who) + ": division by zero");
  return d;
}
Value quotient(VM&, const Args& a) {
  const int64_t d = divisor(a, "quotient");
  return make_integer(integer(a, 0, "quotient") / d, "quotient");
}
Value remainder(VM&, const Args& a) {
  const int64_t d = divisor(a, "remainder");
  return Value::fixnum(integer(a, 0, "remainder") % d);
}
Value modulo(VM&, const Args& a) {
  const int64_t d = divisor(a, "modulo");
  int64_t m = integer(a, 0, "modulo") % d;
  if (m != 0 && (m < 0) != (d < 0)) m += d;
  return Value::fixnum(m);
}

template <class Cmp>
Value compare(const Args& a, const char* who, Cmp cmp) {
  bool result = true;
  int64_t prev = integer(a, 0, who);
  for (std::size_t i = 1; i < a.count; ++i) {
    const int64_t next = integer(a, i, who);  // every argument is type-checked
    result = result && cmp(prev, next);
    prev = next;
  }
  return Value::boolean(result);
}
Value num_eq(VM&, const Args& a) { return compare(a, "=", [](int64_t x, int64_t y) { return x == y; }); }
Value num_lt(VM&, const Args& a) { return compare(a, "<", [](int64_t x, int64_t y) { return x < y; }); }
Value num_gt(VM&, const Args& a) { return compare(a, ">", [](int64_t x, int64_t y) { return x > y; }); }
Value num_le(VM&, const Args& a) { return compare(a, "<=", [](int64_t x, int64_t y) { return x <= y; }); }
Value num_ge(VM&, const Args& a) { return compare(a, ">=", [](int64_t x, int64_t y) { return x >= y; }); }
Value zero_p(VM&, const Args& a) { return Value::boolean(integer(a, 0, "zero?") == 0); }
Value positive_p(VM&, const Args& a) { return Value::boolean(integer(a, 0, "positive?") > 0); }
Value negative_p(VM&, const Args& a) { return Value::boolean(integer(a, 0, "negative?") < 0); }
Value even_p(VM&, const Args& a) { return Value::boolean(integer(a, 0, "even?") % 2 == 0); }
Value odd_p(VM&, const Args& a) { return Value::boolean(integer(a, 0, "odd?") % 2 != 0); }
Value abs_(VM&, const Args& a) {
  const int64_t n = integer(a, 0, "abs");
  return make_integer(n < 0 ? -n : n, "abs");
}
Value min_(VM&, const Args& a) {
  int64_t m = integer(a, 0, "min");
  for (std::size_t i = 1; i < a.count; ++i) m = std::min(m, integer(a, i, "min"));
  return Value::fixnum(m);
}
Value max_(VM&, const Args& a) {
  int64_t m = integer(a, 0, "max");
  for (std::size_t i = 1; i < a.count; ++i) m = std::max(m, integer(a, i, "max"));
  return Value::fixnum(m);
}
Value number_p(VM&, const Args& a) { return Value::boolean(a[0].is_fixnum()); }

// --- pairs and lists

Value cons_(VM& vm, const Args& a) { return vm.cons(a[0], a[1]); }
Value car_(VM&, const Args& a) { return pair_arg(a, 0, "car")->car.get(); }
Value cdr_(VM&, const Args& a) { return pair_arg(a, 0, "cdr")->cdr.get(); }
Value cadr_(VM&, const Args& a) {
  Value d = pair_arg(a, 0, "cadr")->cdr.get();
  if (!d.is(Kind::kPair)) type_error("cadr", "a list of at least 2 elements", a[0]);
  return car(d);
}
Value cddr_(VM&, const Args& a) {
  Value d = pair_arg(a, 0, "cddr")->cdr.get();
  if (!d.is(Kind::kPair)) type_error("cddr", "a list of at least 2 elements", a[0]);
  return cdr(d);
}
Value caddr_(VM&, const Args& a) {
  Value d = pair_arg(a, 0, "caddr")->cdr.get();
  if (!d.is(Kind::kPair) || !cdr(d).is(Kind::kPair)) type_error("caddr", "a list of at least 3 elements", a[0]);
  return car(cdr(d));
}
Value set_car(VM&, const Args& a) {
  pair_arg(a, 0, "set-car!")->car.set(a[1]);
  return Value::unspecified();
}
Value set_cdr(VM&, const Args& a) {
  pair_arg(a, 0, "set-cdr!")->cdr.set(a[1]);
  return Value::unspecified();
}
Value list_(VM& vm, const Args& a) {
  const std::size_t acc = vm.push(Value::nil());
  for (std::size_t i = a.count; i > 0; --i) vm.set(acc, vm.cons(a[i - 1], vm.get(acc)));
  return vm.get(acc);
}
Value length_(VM&, const Args& a) {
  return Value::fixnum(static_cast<int64_t>(list_length(a[0], "length")));
}
Value append_(VM& vm, const Args& a) {
  if (a.count == 0) return Value::nil();
  const std::size_t acc = vm.push(a[a.count - 1]);
  for (std::size_t k = a.count - 1; k > 0; --k) {
    list_length(a[k - 1], "append");
    const std::size_t mark = vm.height();
    for (Value p = a[k - 1]; p.is(Kind::kPair); p = cdr(p)) vm.push(car(p));
    for (std::size_t i = vm.height(); i > mark; --i) vm.set(acc, vm.cons(vm.get(i - 1), vm.get(acc)));
    vm.drop_to(mark);
  }
  return vm.get(acc);
}
Value reverse_(VM& vm, const Args& a) {
  list_length(a[0], "reverse");
  const std::size_t acc = vm.push(Value::nil());
  // p walks the argument, which is rooted, so it stays valid while cons allocates.
  for (Value p = a[0]; p.is(Kind::kPair); p = cdr(p)) vm.set(acc, vm.cons(car(p), vm.get(acc)));
  return vm.get(acc);
}
Value list_tail_(VM&, const Args& a) {
  Value p = a[0];
  for (int64_t k = integer(a, 1, "list-tail"); k > 0; --k) {
    if (!p.is(Kind::kPair)) throw_error("list-tail: index out of range");
    p = cdr(p);
  }
  return p;
}
Value list_ref_(VM&, const Args& a) {
  Value p = a[0];
  for (int64_t k = integer(a, 1, "list-ref"); k > 0 && p.is(Kind::kPair); --k) p = cdr(p);
  if (!p.is(Kind::kPair) || integer(a, 1, "list-ref") < 0) throw_error("list-ref: index out of range");
  return car(p);
}

bool equal(Value x, Value y, int depth) {
  if (depth > 10000) throw_error("equal?: structure nested too deeply");
  for (;;) {
    if (x == y) return true;
    if (!x.is_object() || !y.is_object() || x.object()->kind != y.object()->kind) return false;
    switch (x.object()->kind) {
      case Kind::kString: return x.as<String>()->view() == y.as<String>()->view();
      case Kind::kVector: {
        const Vector* u = x.as<Vector>();
        const Vector* v = y.as<Vector>();
        if (u->length != v->length) return false;
        for (std::size_t i = 0; i < u->length; ++i)
          if (!equal(u->items()[i].get(), v->items()[i].get(), depth + 1)) return false;
        return true;
      }
      case Kind::kPair:
        if (!equal(car(x), car(y), depth + 1)) return false;
        x = cdr(x);  // loop on the cdr: long lists do not deepen the recursion
        y = cdr(y);
        break;
      default: return false;
    }
  }
}

Value eq_p(VM&, const Args& a) { return Value::boolean(a[0] == a[1]); }
Value equal_p(VM&, const Args& a) { return Value::boolean(equal(a[0], a[1], 0)); }
Value not_(VM&, const Args& a) { return Value::boolean(!a[0].truthy()); }

template <bool kEqual>
Value member_(VM&, const Args& a) {
  for (Value p = a[1]; p.is(Kind::kPair); p = cdr(p))
    if (kEqual ? equal(a[0], car(p), 0) : a[0] == car(p)) return p;
  return Value::f();
}
template <bool kEqual>
Value assoc_(VM&, const Args& a) {
  for (Value p = a[1]; p.is(Kind::kPair); p = cdr(p)) {
    Value entry = car(p);
    if (entry.is(Kind::kPair) && (kEqual ? equal(a[0], car(entry), 0) : a[0] == car(entry))) return entry;
  }
  return Value::f();
}

// --- predicates

Value null_p(VM&, const Args& a) { return Value::boolean(a[0].is_nil()); }
Value pair_p(VM&, const Args& a) { return Value::boolean(a[0].is(Kind::kPair)); }
Value list_p(VM&, const Args& a) { return Value::boolean(proper_length(a[0]) >= 0); }
Value symbol_p(VM&, const Args& a) { return Value::boolean(a[0].is(Kind::kSymbol)); }
Value string_p(VM&, const Args& a) { return Value::boolean(a[0].is(Kind::kString)); }
Value vector_p(VM&, const Args& a) { return Value::boolean(a[0].is(Kind::kVector)); }
Value procedure_p(VM&, const Args& a) {
  return Value::boolean(a[0].is(Kind::kClosure) || a[0].is(Kind::kPrimitive));
}
Value boolean_p(VM&, const Args& a) { return Value::boolean(a[0] == Value::t() || a[0] == Value::f()); }

// --- vectors

constexpr int64_t kMaxVectorLength = int64_t{1} << 28;

Value vector_(VM& vm, const Args& a) {
  Value v = vm.make_vector(a.count, Value::nil());
  Slot* items = v.as<Vector>()->items();
  for (std::size_t i = 0; i < a.count; ++i) items[i].set(a[i]);
  return v;
}
Value make_vector_(VM& vm, const Args& a) {
  const int64_t n = integer(a, 0, "make-vector");
  if (n < 0 || n > kMaxVectorLength)
    throw_error("make-vector: length " + std::to_string(n) + " is negative or too large");
  return vm.make_vector(static_cast<std::size_t>(n), a.count > 1 ? a[1] : Value::fixnum(0));
}
Value vector_ref_(VM&, const Args& a) {
  Vector* v = vector_arg(a, 0, "vector-ref");
  return v->items()[index_arg(a, 1, v->length, "vector-ref")].get();
}
Value vector_set_(VM&, const Args& a) {
  Vector* v = vector_arg(a, 0, "vector-set!");
  v->items()[index_arg(a, 1, v->length, "vector-set!")].set(a[2]);
  return Value::unspecified();
}
Value vector_length_(VM&, const Args& a) {
  return Value::fixnum(static_cast<int64_t>(vector_arg(a, 0, "vector-length")->length));
}
Value vector_fill_(VM&, const Args& a) {
  Vector* v = vector_arg(a, 0, "vector-fill!");
  for (std::size_t i = 0; i < v->length; ++i) v->items()[i].set(a[1]);
  return Value::unspecified();
}
Value vector_to_list(VM& vm, const Args& a) {
  Vector* v = vector_arg(a, 0, "vector->list");  // rooted as an argument: valid across the conses
  const std::size_t acc = vm.push(Value::nil());
  for (std::size_t i = v->length; i > 0; --i) vm.set(acc, vm.cons(v->items()[i - 1].get(), vm.get(acc)));
  return vm.get(acc);
}
Value list_to_vector(VM& vm, const Args& a) {
  const std::size_t n = list_length(a[0], "list->vector");
  Value v = vm.make_vector(n, Value::nil());
  Slot* items = v.as<Vector>()->items();
  std::size_t i = 0;
  for (Value p = a[0]; p.is(Kind::kPair); p = cdr(p)) items[i++].set(car(p));
  return v;
}

// --- strings and symbols

Value string_length_(VM&, const Args& a) {
  return Value::fixnum(static_cast<int64_t>(string_arg(a, 0, "string-length")->length));
}
Value string_append_(VM& vm, const Args& a) {
  std::string s;
  for (std::size_t i = 0; i < a.count; ++i) s += string_arg(a, i, "string-append")->view();
  return vm.make_string(s);
}
Value string_eq(VM&, const Args& a) {
  return Value::boolean(string_arg(a, 0, "string=?")->view() == string_arg(a, 1, "string=?")->view());
}
Value substring_(VM& vm, const Args& a) {
  String* s = string_arg(a, 0, "substring");
  const int64_t start = integer(a, 1, "substring");
  const int64_t end = a.count > 2 ? integer(a, 2, "substring") : static_cast<int64_t>(s->length);
  if (start < 0 || end < start || end > static_cast<int64_t>(s->length))
    throw_error("substring: range out of bounds");
  // The view points into the argument, which stays rooted while the new string is allocated.
  return vm.make_string(s->view().substr(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start)));
}
Value symbol_to_string(VM& vm, const Args& a) {
  return vm.make_string(object_arg<Symbol>(a, 0, "symbol->string", "a symbol")->name());
}
Value string_to_symbol(VM& vm, const Args& a) {
  return Value::object(vm.intern(string_arg(a, 0, "string->symbol")->view()));
}
Value number_to_string(VM& vm, const Args& a) {
  return vm.make_string(std::to_string(integer(a, 0, "number->string")));
}
Value string_to_number(VM& vm, const Args& a) {
  const std::string text(string_arg(a, 0, "string->number")->view());
  Reader reader(vm, text);
  try {
    Value v = reader.read();
    if (v.is_fixnum() && reader.position() == text.size()) return v;
  } catch (const SchemeError&) {
  }
  return Value::f();
}

// --- output, errors, system

Value display_(VM& vm, const Args& a) {
  print(vm.out(), a[0], false);
  if (vm.out().size() > (64u << 10)) vm.flush();
  return Value::unspecified();
}
Value write_(VM& vm, const Args& a) {
  print(vm.out(), a[0], true);
  if (vm.out().size() > (64u << 10)) vm.flush();
  return Value::unspecified();
}
Value newline_(VM& vm, const Args&) {
  vm.out() += '\n';
  return Value::unspecified();
}
Value error_(VM&, const Args& a) {
  std::string message;
  if (a[0].is(Kind::kString)) message = std::string(a[0].as<String>()->view());
  else message = to_write_string(a[0]);
  for (std::size_t i = 1; i < a.count; ++i) message += " " + to_write_string(a[i]);
  throw_error(message);
}
Value command_line_(VM& vm, const Args&) {
  const std::vector<std::string>& args = vm.command_line();
  const std::size_t acc = vm.push(Value::nil());
  for (std::size_t i = args.size(); i > 0; --i) {
    const std::size_t s = vm.push(vm.make_string(args[i - 1]));
    vm.set(acc, vm.cons(vm.get(s), vm.get(acc)));
    vm.drop_to(s);
  }
  return vm.get(acc);
}
// Returns the bytes live after a full collection (Boehm: an estimate, it scans conservatively).
Value collect_garbage(VM& vm, const Args&) {
  vm.runtime().collect();
  return Value::fixnum(static_cast<int64_t>(vm.runtime().stats().live_bytes));
}

Value symbol_table_size(VM& vm, const Args&) {
  return Value::fixnum(static_cast<int64_t>(vm.live_symbols()));
}

// The symbol table's slot capacity: it shrinks again once interned symbols have died.
Value symbol_table_capacity(VM& vm, const Args&) {
  return Value::fixnum(static_cast<int64_t>(vm.symbol_capacity()));
}

// Procedures that take procedures are simplest in Scheme itself: the evaluator stays the only code
// that calls closures.
constexpr const char* kPrelude = R"scheme(
(define (map f l . ls)
  (define (map1 f l)
    (let loop ((l l) (acc '()))
      (if (pair? l) (loop (cdr l) (cons (f (car l)) acc)) (reverse acc))))
  (define (any-null? ls)
    (cond ((null? ls) #f) ((pair? (car ls)) (any-null? (cdr ls))) (else #t)))
  (if (null? ls)
      (map1 f l)
      (let loop ((ls (cons l ls)) (acc '()))
        (if (any-null? ls)
            (reverse acc)
            (loop (map1 cdr ls) (cons (apply f (map1 car ls)) acc))))))
(define (for-each f l . ls)
  (if (null? ls)
      (let loop ((l l)) (when (pair? l) (f (car l)) (loop (cdr l))))
      (begin (apply map f l ls) (if #f #f))))
(define (filter keep? l)
  (let loop ((l l) (acc '()))
    (cond ((null? l) (reverse acc))
          ((keep? (car l)) (loop (cdr l) (cons (car l) acc)))
          (else (loop (cdr l) acc)))))
(define (fold-left f acc l)
  (if (pair? l) (fold-left f (f acc (car l)) (cdr l)) acc))
)scheme";

}  // namespace

void install_builtins(VM& vm) {
  constexpr int V = Primitive::kVariadic;
  struct Entry {
    const char* name;
    PrimFn fn;
    int min, max;
  };
  static constexpr Entry kEntries[] = {
      {"+", add, 0, V}, {"-", subtract, 1, V}, {"*", multiply, 0, V},
      {"quotient", quotient, 2, 2}, {"remainder", remainder, 2, 2}, {"modulo", modulo, 2, 2},
      {"=", num_eq, 1, V}, {"<", num_lt, 1, V}, {">", num_gt, 1, V}, {"<=", num_le, 1, V},
      {">=", num_ge, 1, V}, {"zero?", zero_p, 1, 1}, {"positive?", positive_p, 1, 1},
      {"negative?", negative_p, 1, 1}, {"even?", even_p, 1, 1}, {"odd?", odd_p, 1, 1},
      {"abs", abs_, 1, 1}, {"min", min_, 1, V}, {"max", max_, 1, V},
      {"number?", number_p, 1, 1}, {"integer?", number_p, 1, 1},
      {"cons", cons_, 2, 2}, {"car", car_, 1, 1}, {"cdr", cdr_, 1, 1}, {"cadr", cadr_, 1, 1},
      {"cddr", cddr_, 1, 1}, {"caddr", caddr_, 1, 1}, {"set-car!", set_car, 2, 2},
      {"set-cdr!", set_cdr, 2, 2}, {"list", list_, 0, V}, {"length", length_, 1, 1},
      {"append", append_, 0, V}, {"reverse", reverse_, 1, 1}, {"list-tail", list_tail_, 2, 2},
      {"list-ref", list_ref_, 2, 2}, {"memq", member_<false>, 2, 2}, {"member", member_<true>, 2, 2},
      {"assq", assoc_<false>, 2, 2}, {"assoc", assoc_<true>, 2, 2},
      {"eq?", eq_p, 2, 2}, {"eqv?", eq_p, 2, 2}, {"equal?", equal_p, 2, 2}, {"not", not_, 1, 1},
      {"null?", null_p, 1, 1}, {"pair?", pair_p, 1, 1}, {"list?", list_p, 1, 1},
      {"symbol?", symbol_p, 1, 1}, {"string?", string_p, 1, 1}, {"vector?", vector_p, 1, 1},
      {"procedure?", procedure_p, 1, 1}, {"boolean?", boolean_p, 1, 1},
      {"vector", vector_, 0, V}, {"make-vector", make_vector_, 1, 2},
      {"vector-ref", vector_ref_, 2, 2}, {"vector-set!", vector_set_, 3, 3},
      {"vector-length", vector_length_, 1, 1}, {"vector-fill!", vector_fill_, 2, 2},
      {"vector->list", vector_to_list, 1, 1}, {"list->vector", list_to_vector, 1, 1},
      {"string-length", string_length_, 1, 1}, {"string-append", string_append_, 0, V},
      {"string=?", string_eq, 2, 2}, {"substring", substring_, 2, 3},
      {"symbol->string", symbol_to_string, 1, 1}, {"string->symbol", string_to_symbol, 1, 1},
      {"number->string", number_to_string, 1, 1}, {"string->number", string_to_number, 1, 1},
      {"display", display_, 1, 1}, {"write", write_, 1, 1}, {"newline", newline_, 0, 0},
      {"error", error_, 1, V}, {"command-line", command_line_, 0, 0},
      {"collect-garbage", collect_garbage, 0, 0}, {"symbol-table-size", symbol_table_size, 0, 0},
      {"symbol-table-capacity", symbol_table_capacity, 0, 0},
  };
  for (const Entry& e : kEntries) vm.define_primitive(e.name, e.fn, e.min, e.max);
  vm.define_primitive("apply", nullptr, 2, V, Special::kApply);
  vm.define_primitive("catch-error", nullptr, 1, 1, Special::kCatchError);

  Reader reader(vm, kPrelude);
  for (Value d = reader.read(); !(d == Value::eof()); d = reader.read()) vm.eval_toplevel(d);
}

}  // namespace scheme
