// Special forms are compiled straight to Code, without rewriting them into other forms first: a
// rewrite would allocate new list structure that then needs rooting, and gives worse error messages.
//
// Scopes are compile-time only (C++ vectors of symbol pointers). A lambda's frame holds its
// parameters, then its rest parameter, then the names its body defines (internal defines behave as
// letrec*: their slots start "unassigned" and reading one before its define runs is an error).
#include "compiler.hpp"

#include <functional>
#include <string>
#include <vector>

namespace scheme {

namespace {

constexpr int kMaxNesting = 10000;  // C++ recursion in the compiler; the reader has the same limit

struct Scope {
  std::vector<Symbol*> names;
  const Scope* parent = nullptr;

  int index_of(const Symbol* s) const {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == s) return static_cast<int>(i);
    return -1;
  }
};

Value car(Value v) { return v.as<Pair>()->car.get(); }
Value cdr(Value v) { return v.as<Pair>()->cdr.get(); }

// Length of a proper list, or -1.
long list_length(Value v) {
  long n = 0;
  for (; v.is(Kind::kPair); v = cdr(v)) ++n;
  return v.is_nil() ? n : -1;
}

class Compiler {
 public:
  explicit Compiler(VM& vm) : vm_(vm) {}

  Value compile(Value x, const Scope* scope) {
    if (++depth_ > kMaxNesting) fail("expression nested too deeply", x);
    Value result = compile_inner(x, scope);
    --depth_;
    return result;
  }

 private:
  using BodyFn = std::function<Value(Scope&)>;

  [[noreturn]] void fail(const std::string& what, Value form) {
    std::string text = to_write_string(form);
    if (text.size() > 200) text = text.substr(0, 200) + "...";
    throw_error("syntax error: " + what + ": " + text);
  }

  bool is_keyword(Value head, Keyword k, const Scope* scope) const {
    if (head.bits() != Value::object(vm_.keyword(k)).bits()) return false;
    for (const Scope* s = scope; s != nullptr; s = s->parent)  // a local binding shadows a keyword
      if (s->index_of(head.as<Symbol>()) >= 0) return false;
    return true;
  }

  // Builds a node whose items are the top n values of the stack, and pops them.
  Value emit(Op op, std::uint32_t a, std::uint32_t b, std::size_t n) {
    Code* c = make_object_with_trailing<Code>(n * sizeof(Slot), op, a, b, static_cast<std::uint32_t>(n));
    const std::size_t base = vm_.height() - n;
    for (std::size_t i = 0; i < n; ++i) c->set_item(i, vm_.get(base + i));
    vm_.drop_to(base);
    return Value::object(c);
  }
  Value constant(Value v) {
    vm_.push(v);
    return emit(Op::kConst, 0, 0, 1);
  }

  Value compile_inner(Value x, const Scope* scope) {
    if (x.is(Kind::kSymbol)) return compile_ref(x.as<Symbol>(), scope);
    if (x.is_nil()) fail("empty combination", x);
    if (!x.is(Kind::kPair)) return constant(x);  // self-evaluating
    const long n = list_length(x);
    if (n < 0) fail("a form must be a proper list", x);
    const Value head = car(x);
    if (head.is(Kind::kSymbol)) {
      if (is_keyword(head, Keyword::kQuote, scope)) {
        if (n != 2) fail("quote: expected (quote datum)", x);
        return constant(car(cdr(x)));
      }
      if (is_keyword(head, Keyword::kIf, scope)) return compile_if(x, n, scope);
      if (is_keyword(head, Keyword::kDefine, scope)) return compile_define(x, n, scope);
      if (is_keyword(head, Keyword::kSet, scope)) return compile_set(x, n, scope);
      if (is_keyword(head, Keyword::kLambda, scope)) {
        if (n < 3) fail("lambda: expected (lambda params body ...)", x);
        return compile_lambda(car(cdr(x)), cdr(cdr(x)), scope, Value::f(), x);
      }
      if (is_keyword(head, Keyword::kBegin, scope)) return compile_sequence(cdr(x), scope);
      if (is_keyword(head, Keyword::kLet, scope)) return compile_let(x, n, scope);
      if (is_keyword(head, Keyword::kLetStar, scope)) {
        if (n < 3) fail("let*: expected (let* ((name value) ...) body ...)", x);
        check_bindings(car(cdr(x)), x);
        return compile_let_star(car(cdr(x)), cdr(cdr(x)), scope);
      }
      if (is_keyword(head, Keyword::kLetrec, scope) || is_keyword(head, Keyword::kLetrecStar, scope))
        return compile_letrec(x, n, scope);
      if (is_keyword(head, Keyword::kCond, scope)) return compile_cond(cdr(x), scope, x);
      if (is_keyword(head, Keyword::kAnd, scope)) return compile_junction(Op::kAnd, cdr(x), n - 1, scope);
      if (is_keyword(head, Keyword::kOr, scope)) return compile_junction(Op::kOr, cdr(x), n - 1, scope);
      if (is_keyword(head, Keyword::kWhen, scope) || is_keyword(head, Keyword::kUnless, scope)) {
        if (n < 3) fail("when/unless: expected (when test body ...)", x);
        const bool when = is_keyword(head, Keyword::kWhen, scope);
        vm_.push(compile(car(cdr(x)), scope));
        if (!when) vm_.push(constant(Value::unspecified()));
        vm_.push(compile_sequence(cdr(cdr(x)), scope));
        if (when) vm_.push(constant(Value::unspecified()));
        return emit(Op::kIf, 0, 0, 3);
      }
      if (is_keyword(head, Keyword::kElse, scope)) fail("else: only allowed in cond", x);
    }
    // A call: operator, then operands.
    for (Value p = x; p.is(Kind::kPair); p = cdr(p)) vm_.push(compile(car(p), scope));
    return emit(Op::kCall, 0, 0, static_cast<std::size_t>(n));
  }

  Value compile_ref(Symbol* s, const Scope* scope) {
    std::uint32_t depth = 0;
    for (const Scope* sc = scope; sc != nullptr; sc = sc->parent, ++depth) {
      const int i = sc->index_of(s);
      if (i >= 0) {
        vm_.push(Value::object(s));  // for the "used before its definition" message
        return emit(Op::kLocalRef, depth, static_cast<std::uint32_t>(i), 1);
      }
    }
    for (int k = 0; k < static_cast<int>(Keyword::kCount); ++k)
      if (s == vm_.keyword(static_cast<Keyword>(k))) fail("keyword used as a variable", Value::object(s));
    vm_.push(Value::object(vm_.global(s)));
    return emit(Op::kGlobalRef, 0, 0, 1);
  }

  Value compile_if(Value x, long n, const Scope* scope) {
    if (n != 3 && n != 4) fail("if: expected (if test then [else])", x);
    vm_.push(compile(car(cdr(x)), scope));
    vm_.push(compile(car(cdr(cdr(x))), scope));
    vm_.push(n == 4 ? compile(car(cdr(cdr(cdr(x)))), scope) : constant(Value::unspecified()));
    return emit(Op::kIf, 0, 0, 3);
  }

  // (define name value) or (define (name . params) body ...).
  Value compile_define(Value x, long n, const Scope* scope) {
    if (n < 2) fail("define: expected (define name value) or (define (name params ...) body ...)", x);
    Value target = car(cdr(x));
    Value name = target.is(Kind::kPair) ? car(target) : target;
    if (!name.is(Kind::kSymbol)) fail("define: the name must be a symbol", x);
    if (!target.is(Kind::kPair) && n != 3) fail("define: expected (define name value)", x);
    if (target.is(Kind::kPair) && n < 3) fail("define: the procedure has no body", x);
    Symbol* sym = name.as<Symbol>();
    auto value = [&] {
      return target.is(Kind::kPair) ? compile_lambda(cdr(target), cdr(cdr(x)), scope, name, x)
                                    : compile_named(car(cdr(cdr(x))), scope, name);
    };
    if (scope == nullptr) {
      vm_.push(Value::object(vm_.global(sym)));
      vm_.push(value());
      return emit(Op::kGlobalDefine, 0, 0, 2);
    }
    const int i = scope->index_of(sym);
    if (i < 0) fail("define: only allowed at top level or directly in a body", x);
    vm_.push(value());
    return emit(Op::kLocalSet, 0, static_cast<std::uint32_t>(i), 1);
  }

  // A lambda bound by define/let gets the name, for error messages.
  Value compile_named(Value x, const Scope* scope, Value name) {
    if (x.is(Kind::kPair) && car(x).is(Kind::kSymbol) && is_keyword(car(x), Keyword::kLambda, scope) &&
        list_length(x) >= 3)
      return compile_lambda(car(cdr(x)), cdr(cdr(x)), scope, name, x);
    return compile(x, scope);
  }

  Value compile_set(Value x, long n, const Scope* scope) {
    if (n != 3 || !car(cdr(x)).is(Kind::kSymbol)) fail("set!: expected (set! name value)", x);
    Symbol* s = car(cdr(x)).as<Symbol>();
    std::uint32_t depth = 0;
    for (const Scope* sc = scope; sc != nullptr; sc = sc->parent, ++depth) {
      const int i = sc->index_of(s);
      if (i >= 0) {
        vm_.push(compile(car(cdr(cdr(x))), scope));
        return emit(Op::kLocalSet, depth, static_cast<std::uint32_t>(i), 1);
      }
    }
    vm_.push(Value::object(vm_.global(s)));
    vm_.push(compile(car(cdr(cdr(x))), scope));
    return emit(Op::kGlobalSet, 0, 0, 2);
  }

  // A lambda whose frame starts with `params` (and a rest parameter when `rest`), whose body is
  // compiled by `body` in the new scope (which may add internal defines to the frame).
  Value lambda_node(std::vector<Symbol*> params, bool rest, const Scope* scope, Value name,
                    const BodyFn& body) {
    Scope inner{std::move(params), scope};
    const auto required = static_cast<std::uint32_t>(inner.names.size() - (rest ? 1 : 0));
    vm_.push(body(inner));
    vm_.push(name);
    vm_.push(Value::boolean(rest));
    return emit(Op::kLambda, required, static_cast<std::uint32_t>(inner.names.size()), 3);
  }

  Value compile_lambda(Value params, Value body, const Scope* scope, Value name, Value form) {
    std::vector<Symbol*> names;
    bool rest = false;
    Value p = params;
    for (; p.is(Kind::kPair); p = cdr(p)) {
      if (!car(p).is(Kind::kSymbol)) fail("lambda: a parameter must be a symbol", form);
      names.push_back(car(p).as<Symbol>());
    }
    if (p.is(Kind::kSymbol)) {
      names.push_back(p.as<Symbol>());
      rest = true;
    } else if (!p.is_nil()) {
      fail("lambda: malformed parameter list", form);
    }
    for (std::size_t i = 0; i < names.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (names[i] == names[j]) fail("lambda: duplicate parameter", form);
    return lambda_node(std::move(names), rest, scope, name,
                       [&](Scope& s) { return compile_body(body, s, form); });
  }

  // A lambda or let body: internal defines first become slots of the frame.
  Value compile_body(Value body, Scope& scope, Value form) {
    const long n = list_length(body);
    if (n <= 0) fail("empty body", form);
    for (Value p = body; p.is(Kind::kPair); p = cdr(p)) {
      Value f = car(p);
      if (!f.is(Kind::kPair) || !car(f).is(Kind::kSymbol) || !is_keyword(car(f), Keyword::kDefine, &scope) ||
          !cdr(f).is(Kind::kPair))
        continue;
      Value target = car(cdr(f));
      Value name = target.is(Kind::kPair) ? car(target) : target;
      if (name.is(Kind::kSymbol) && scope.index_of(name.as<Symbol>()) < 0)
        scope.names.push_back(name.as<Symbol>());
    }
    return compile_sequence(body, &scope);
  }

  Value compile_sequence(Value forms, const Scope* scope) {
    const long n = list_length(forms);
    if (n < 0) fail("begin: expected a proper list", forms);
    if (n == 0) return constant(Value::unspecified());
    if (n == 1) return compile(car(forms), scope);
    for (Value p = forms; p.is(Kind::kPair); p = cdr(p)) vm_.push(compile(car(p), scope));
    return emit(Op::kSeq, 0, 0, static_cast<std::size_t>(n));
  }

  Value compile_junction(Op op, Value forms, long n, const Scope* scope) {
    if (n == 0) return constant(Value::boolean(op == Op::kAnd));
    if (n == 1) return compile(car(forms), scope);
    for (Value p = forms; p.is(Kind::kPair); p = cdr(p)) vm_.push(compile(car(p), scope));
    return emit(op, 0, 0, static_cast<std::size_t>(n));
  }

  // Checks ((name value) ...) and returns the names.
  std::vector<Symbol*> check_bindings(Value bindings, Value form) {
    std::vector<Symbol*> names;
    if (list_length(bindings) < 0) fail("bindings must be a list of (name value)", form);
    for (Value p = bindings; p.is(Kind::kPair); p = cdr(p)) {
      Value b = car(p);
      if (list_length(b) != 2 || !car(b).is(Kind::kSymbol)) fail("a binding must be (name value)", form);
      names.push_back(car(b).as<Symbol>());
    }
    return names;
  }

  // (let ((n v) ...) body ...) is ((lambda (n ...) body ...) v ...);
  // (let loop ((n v) ...) body ...) is ((letrec ((loop (lambda (n ...) body ...))) loop) v ...).
  Value compile_let(Value x, long n, const Scope* scope) {
    if (n < 3) fail("let: expected (let ((name value) ...) body ...)", x);
    Value second = car(cdr(x));
    const bool named = second.is(Kind::kSymbol);
    if (named && n < 4) fail("let: expected (let name ((name value) ...) body ...)", x);
    Value bindings = named ? car(cdr(cdr(x))) : second;
    Value body = named ? cdr(cdr(cdr(x))) : cdr(cdr(x));
    std::vector<Symbol*> names = check_bindings(bindings, x);
    for (std::size_t i = 0; i < names.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (names[i] == names[j]) fail("let: duplicate name", x);
    if (!named) {
      vm_.push(lambda_node(names, false, scope, Value::f(), [&](Scope& s) { return compile_body(body, s, x); }));
    } else {
      vm_.push(lambda_node({second.as<Symbol>()}, false, scope, Value::f(), [&](Scope& s) {
        vm_.push(lambda_node(names, false, &s, second, [&](Scope& s2) { return compile_body(body, s2, x); }));
        vm_.push(emit(Op::kLocalSet, 0, 0, 1));
        vm_.push(Value::object(second.as<Symbol>()));
        vm_.push(emit(Op::kLocalRef, 0, 0, 1));
        return emit(Op::kSeq, 0, 0, 2);
      }));
      // The outer lambda took the name as a parameter to get a slot: call it with a placeholder.
      vm_.push(constant(Value::unassigned()));
      vm_.push(emit(Op::kCall, 0, 0, 2));
    }
    for (Value p = bindings; p.is(Kind::kPair); p = cdr(p)) vm_.push(compile(car(cdr(car(p))), scope));
    return emit(Op::kCall, 0, 0, names.size() + 1);
  }

  Value compile_let_star(Value bindings, Value body, const Scope* scope) {
    if (!bindings.is(Kind::kPair))
      return call_thunk(lambda_node({}, false, scope, Value::f(), [&](Scope& s) { return compile_body(body, s, body); }));
    Value first = car(bindings);
    vm_.push(lambda_node({car(first).as<Symbol>()}, false, scope, Value::f(),
                         [&](Scope& s) { return compile_let_star(cdr(bindings), body, &s); }));
    vm_.push(compile(car(cdr(first)), scope));
    return emit(Op::kCall, 0, 0, 2);
  }

  Value call_thunk(Value lambda) {
    vm_.push(lambda);
    return emit(Op::kCall, 0, 0, 1);
  }

  // (letrec ((n v) ...) body ...): a frame holding the names, filled in order, then the body.
  Value compile_letrec(Value x, long n, const Scope* scope) {
    if (n < 3) fail("letrec: expected (letrec ((name value) ...) body ...)", x);
    Value bindings = car(cdr(x));
    std::vector<Symbol*> names = check_bindings(bindings, x);
    return call_thunk(lambda_node({}, false, scope, Value::f(), [&](Scope& s) {
      for (Symbol* name : names)
        if (s.index_of(name) < 0) s.names.push_back(name);
      // Names the body defines join the frame before any value is compiled.
      std::size_t count = 0;
      Value body = cdr(cdr(x));
      for (Value p = bindings; p.is(Kind::kPair); p = cdr(p), ++count) {
        Symbol* name = car(car(p)).as<Symbol>();
        vm_.push(compile_named(car(cdr(car(p))), &s, Value::object(name)));
        vm_.push(emit(Op::kLocalSet, 0, static_cast<std::uint32_t>(s.index_of(name)), 1));
      }
      vm_.push(compile_body(body, s, x));
      return emit(Op::kSeq, 0, 0, count + 1);
    }));
  }

  // (cond (test expr ...) ... (else expr ...)) as nested ifs; a clause without expressions yields
  // the test's value (an or).
  Value compile_cond(Value clauses, const Scope* scope, Value form) {
    if (clauses.is_nil()) return constant(Value::unspecified());
    Value clause = car(clauses);
    if (list_length(clause) < 1) fail("cond: a clause must be (test expr ...)", form);
    Value test = car(clause);
    if (test.is(Kind::kSymbol) && is_keyword(test, Keyword::kElse, scope)) {
      if (!cdr(clauses).is_nil()) fail("cond: else must be the last clause", form);
      if (cdr(clause).is_nil()) fail("cond: else needs an expression", form);
      return compile_sequence(cdr(clause), scope);
    }
    vm_.push(compile(test, scope));
    if (cdr(clause).is_nil()) {
      vm_.push(compile_cond(cdr(clauses), scope, form));
      return emit(Op::kOr, 0, 0, 2);
    }
    vm_.push(compile_sequence(cdr(clause), scope));
    vm_.push(compile_cond(cdr(clauses), scope, form));
    return emit(Op::kIf, 0, 0, 3);
  }

  VM& vm_;
  int depth_ = 0;
};

}  // namespace

Value compile_toplevel(VM& vm, Value datum) {
  Compiler compiler(vm);
  const std::size_t h = vm.height();
  try {
    return compiler.compile(datum, nullptr);
  } catch (...) {
    vm.drop_to(h);  // children pushed by the nodes being built
    throw;
  } 
}

}  // namespace scheme
