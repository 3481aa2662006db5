// The evaluator loop and the VM's roots. See vm.hpp for the rooting discipline.
//
// Continuation frames on the value stack, bottom to top (M = a fixnum marker: frame kind | index << 8):
//   if:              env node M
//   begin/and/or:    env node M(i)          i = index of the expression being evaluated
//   set!/define:     env node M
//   call:            env node v0 .. vk-1 M(k)   v0 = operator, then operands, evaluated left to right
//   catch-error:     M                      its position is also in catches_
// A frame is pushed only to evaluate a subexpression that is not in tail position, and popped before
// the expression in tail position is entered: a procedure body entered by a tail call finds the same
// frame beneath it as its caller did.
#include "vm.hpp"

#include <cstdio>
#include <cstring>
#include <string>

#include "compiler.hpp"

namespace scheme {

namespace {

enum Frame : std::int64_t { kIfFrame = 1, kSeqFrame, kAndFrame, kOrFrame, kSetFrame, kCallFrame, kCatchFrame };

Value marker(Frame f, std::size_t index = 0) {
  return Value::fixnum(static_cast<std::int64_t>(f) | static_cast<std::int64_t>(index) << 8);
}
Frame marker_kind(Value m) { return static_cast<Frame>(m.as_fixnum() & 0xff); }
std::size_t marker_index(Value m) { return static_cast<std::size_t>(m.as_fixnum() >> 8); }

Env* env_of(Value v) { return v.is_object() ? v.as<Env>() : nullptr; }

constexpr const char* kKeywordNames[] = {
    "quote", "lambda", "define", "if", "set!", "begin", "let", "let*", "letrec", "letrec*",
    "cond", "else", "and", "or", "when", "unless",
};
static_assert(std::size(kKeywordNames) == static_cast<std::size_t>(Keyword::kCount));

}  // namespace

void throw_error(const std::string& message) { throw SchemeError(message); }

VM::VM(gc::Runtime& runtime) : runtime_(runtime), symbols_(runtime) {
  capacity_ = 1024;
  stack_ = static_cast<Value*>(gc::alloc_root_array(capacity_ * sizeof(Value)));
  std::memset(static_cast<void*>(stack_), 0, capacity_ * sizeof(Value));
  node_ = env_ = val_ = globals_ = Value::nil();
  // Registered before the first allocation: everything the VM holds from here on is a root.
  roots_ = std::make_unique<gc::RootRegistration>(runtime, &VM::trace_roots, this, "scheme vm", this,
                                                  this + 1);
  for (std::size_t i = 0; i < std::size(kKeywordNames); ++i)
    keywords_[i] = Value::object(symbols_.intern(kKeywordNames[i]));
}

VM::~VM() {
  flush();
  symbols_.close();  // before the table stops being a root: its pruner reads the slot array
  roots_.reset();
  gc::free_root_array(stack_);
}

// Runs at this thread's handshake (or on its behalf while it is blocked): the thread is stopped, so
// it reads the stack and registers without synchronisation.
void VM::trace_roots(gc::Tracer& t, void* self) {
  const VM& vm = *static_cast<const VM*>(self);
  auto visit = [&t](Value v, const char* name) {
    if (v.is_object()) {
      const HeapObj* p = v.object();
      t.trace(p, name);
    }
  };
  for (std::size_t i = 0; i < vm.sp_; ++i) visit(vm.stack_[i], "value stack");
  visit(vm.node_, "register node");
  visit(vm.env_, "register env");
  visit(vm.val_, "register val");
  visit(vm.globals_, "globals");
  for (Value k : vm.keywords_) visit(k, "keywords");
  vm.symbols_.trace(t);
}

void VM::grow_stack() {
  if (capacity_ >= kMaxStack)
    throw_error("recursion too deep: the value stack reached " + std::to_string(kMaxStack) + " slots");
  const std::size_t n = capacity_ * 2;
  // No heap allocation happens between the copy and the swap, so there is no safepoint at which the
  // collector could see the new array half-filled (on Boehm the new array is uncollectable memory,
  // scanned from the moment it exists, and the old one stays scanned until freed).
  auto* fresh = static_cast<Value*>(gc::alloc_root_array(n * sizeof(Value)));
  std::memcpy(static_cast<void*>(fresh), stack_, sp_ * sizeof(Value));
  std::memset(static_cast<void*>(fresh + sp_), 0, (n - sp_) * sizeof(Value));
  Value* old = stack_;
  stack_ = fresh;
  capacity_ = n;
  gc::free_root_array(old);
}

Global* VM::global(Symbol* s) {
  if (Global* g = s->global) return g;
  gc::LocalRoot<Symbol> sym(s);
  gc::LocalRoot<Global> g(make_object<Global>(sym.get()));
  globals_ = cons(Value::object(g.get()), globals_);  // g is rooted while cons allocates
  sym->global = g.get();
  return g.get();
}

void VM::define_primitive(const char* name, PrimFn fn, int min_args, int max_args, Special special) {
  gc::LocalRoot<Primitive> p(make_object<Primitive>(name, fn, min_args, max_args, special));
  Global* g = global(intern(name));
  g->value.set(Value::object(p.get()));
}

void VM::flush() {
  if (out_.empty()) return;
  std::fwrite(out_.data(), 1, out_.size(), stdout);
  std::fflush(stdout);
  out_.clear();
}

Value VM::eval_toplevel(Value datum) {
  const std::size_t h = height();
  push(datum);
  Value code = compile_toplevel(*this, datum);
  drop_to(h);
  return run(code);
}

Value VM::run(Value code) {
  const std::size_t base = sp_;
  const std::size_t catch_base = catches_.size();
  node_ = code;
  env_ = Value::nil();
  bool start_with_eval = true;
  auto reset = [&] {
    drop_to(base);
    catches_.resize(catch_base);
    node_ = env_ = val_ = Value::nil();
  };
  for (;;) {
    std::string message;
    try {
      execute(base, start_with_eval);
      Value result = val_;
      node_ = env_ = val_ = Value::nil();
      return result;  // not rooted any more: the caller uses it before allocating, or roots it
    } catch (const SchemeError& e) {
      message = e.what();
    } catch (const gc::OutOfMemory&) {
      message = "out of memory: the heap limit is reached";
    }
    if (catches_.size() == catch_base) {
      reset();
      throw SchemeError(message);
    }
    // Unwind to the innermost catch-error frame (its marker goes too) and return the message to it.
    drop_to(catches_.back());
    catches_.pop_back();
    node_ = env_ = Value::nil();
    try {
      val_ = make_string(message);
    } catch (const gc::OutOfMemory&) {
      reset();
      throw SchemeError(message);
    }
    start_with_eval = false;
  }
}

Value VM::local_ref(const Code* c) const {
  Env* e = env_of(env_);
  for (std::uint32_t d = c->a; d > 0; --d) e = e->parent;
  Value v = e->slots()[c->b].get();
  if (v == Value::unassigned()) [[unlikely]]
    throw_error(std::string(c->item(0).as<Symbol>()->name()) + ": used before its definition");
  return v;
}

Value VM::global_ref(const Code* c) const {
  Global* g = c->item(0).as<Global>();
  Value v = g->value.get();
  if (v == Value::unbound()) [[unlikely]]
    throw_error("unbound variable: " + std::string(g->name->name()));
  return v;
}

bool VM::try_simple(const Code* c, Value& out) const {
  switch (c->op) {
    case Op::kConst: out = c->item(0); return true;
    case Op::kLocalRef: out = local_ref(c); return true;
    case Op::kGlobalRef: out = global_ref(c); return true;
    default: return false;
  }
}

void VM::assign(const Code* c, Value v) {
  switch (c->op) {
    case Op::kLocalSet: {
      Env* e = env_of(env_);
      for (std::uint32_t d = c->a; d > 0; --d) e = e->parent;
      e->slots()[c->b].set(v);
      break;
    }
    case Op::kGlobalSet: {
      Global* g = c->item(0).as<Global>();
      if (g->value.get() == Value::unbound())
        throw_error("set!: unbound variable: " + std::string(g->name->name()));
      g->value.set(v);
      break;
    }
    case Op::kGlobalDefine: c->item(0).as<Global>()->value.set(v); break;
    default: break;
  }
}

void VM::arity_error(Value f, std::size_t argc) const {
  std::string name;
  std::string expected;
  if (f.is(Kind::kClosure)) {
    const Code* lambda = f.as<Closure>()->code;
    name = lambda->item(1).is(Kind::kSymbol) ? std::string(lambda->item(1).as<Symbol>()->name())
                                              : std::string("#<procedure>");
    expected = (lambda->item(2).truthy() ? "at least " : "") + std::to_string(lambda->a);
  } else {
    const Primitive* p = f.as<Primitive>();
    name = p->name;
    if (p->max_args == Primitive::kVariadic) expected = "at least " + std::to_string(p->min_args);
    else if (p->min_args == p->max_args) expected = std::to_string(p->min_args);
    else expected = std::to_string(p->min_args) + " to " + std::to_string(p->max_args);
  }
  const bool one = expected.size() >= 1 && expected.back() == '1' &&
                   (expected.size() == 1 || expected[expected.size() - 2] == ' ');
  throw_error(name + ": expected " + expected + " argument" + (one ? "" : "s") + ", got " +
              std::to_string(argc));
}

void VM::execute(std::size_t base, bool start_with_eval) {
  const Code* c;
  std::size_t fb;    // call frame base: [env node f args...]
  std::size_t argc;  // for apply
  if (!start_with_eval) goto ret;

eval:
  c = node_.as<Code>();
  switch (c->op) {
    case Op::kConst:
    case Op::kLocalRef:
    case Op::kGlobalRef:
      try_simple(c, val_);
      goto ret;
    case Op::kLocalSet:
    case Op::kGlobalSet:
    case Op::kGlobalDefine: {
      const Code* value = c->code_item(c->op == Op::kLocalSet ? 0 : 1);
      if (try_simple(value, val_)) {
        assign(c, val_);
        val_ = Value::unspecified();
        goto ret;
      }
      push(env_);
      push(node_);
      push(marker(kSetFrame));
      node_ = Value::object(value);
      goto eval;
    }
    case Op::kIf: {
      Value test;
      if (try_simple(c->code_item(0), test)) {
        node_ = c->item(test.truthy() ? 1 : 2);
        goto eval;
      }
      push(env_);
      push(node_);
      push(marker(kIfFrame));
      node_ = c->item(0);
      goto eval;
    }
    case Op::kLambda:
      // node_ and env_ keep the code and environment alive while the closure is allocated.
      val_ = Value::object(make_object<Closure>(const_cast<Code*>(c), env_of(env_)));
      goto ret;
    case Op::kSeq:
    case Op::kAnd:
    case Op::kOr: {
      push(env_);
      push(node_);
      push(marker(c->op == Op::kSeq ? kSeqFrame : c->op == Op::kAnd ? kAndFrame : kOrFrame, 0));
      node_ = c->item(0);
      goto eval;
    }
    case Op::kCall: {
      fb = push(env_);
      push(node_);
      std::size_t i = 0;
      for (; i < c->count; ++i) {
        Value v;
        if (!try_simple(c->code_item(i), v)) break;
        push(v);
      }
      if (i < c->count) {
        push(marker(kCallFrame, i));
        node_ = c->item(i);
        goto eval;
      }
      argc = c->count - 1;
      goto apply;
    }
  }
  throw_error("internal error: unknown code");

ret:
  if (sp_ == base) return;
  {
    const Value m = stack_[sp_ - 1];
    const Frame kind = marker_kind(m);
    if (kind == kCatchFrame) {
      catches_.pop_back();
      drop_to(sp_ - 1);
      goto ret;
    }
    if (kind == kCallFrame) {
      std::size_t i = marker_index(m) + 1;
      stack_[sp_ - 1] = val_;  // the value replaces the marker
      fb = sp_ - i - 2;
      env_ = stack_[fb];
      node_ = stack_[fb + 1];
      c = node_.as<Code>();
      for (; i < c->count; ++i) {
        Value v;
        if (!try_simple(c->code_item(i), v)) break;
        push(v);
      }
      if (i < c->count) {
        push(marker(kCallFrame, i));
        node_ = c->item(i);
        goto eval;
      }
      argc = c->count - 1;
      goto apply;
    }
    // The other frames are [env node M].
    env_ = stack_[sp_ - 3];
    node_ = stack_[sp_ - 2];
    c = node_.as<Code>();
    switch (kind) {
      case kIfFrame:
        drop_to(sp_ - 3);
        node_ = c->item(val_.truthy() ? 1 : 2);
        goto eval;
      case kSetFrame:
        assign(c, val_);
        drop_to(sp_ - 3);
        val_ = Value::unspecified();
        goto ret;
      case kSeqFrame:
      case kAndFrame:
      case kOrFrame: {
        if ((kind == kAndFrame && !val_.truthy()) || (kind == kOrFrame && val_.truthy())) {
          drop_to(sp_ - 3);
          goto ret;
        }
        const std::size_t next = marker_index(m) + 1;
        if (next + 1 == c->count) {
          drop_to(sp_ - 3);  // the last expression is in tail position
        } else {
          stack_[sp_ - 1] = marker(kind, next);
        }
        node_ = c->item(next);
        goto eval;
      }
      default:
        throw_error("internal error: bad frame");
    }
  }

apply:
  // Stack: [fb] env, node, f, args (argc of them). Applying pops the whole frame.
  for (;;) {
    const Value f = stack_[fb + 2];
    if (f.is(Kind::kClosure)) {
      const Closure* closure = f.as<Closure>();
      const Code* lambda = closure->code;
      const bool rest = lambda->item(2).truthy();
      if (argc < lambda->a || (!rest && argc > lambda->a)) arity_error(f, argc);
      // closure (and so its code and env) stays on the stack while the frame is allocated.
      Env* e = make_object_with_trailing<Env>(lambda->b * sizeof(Slot), lambda->b, static_cast<Env*>(closure->env));
      env_ = Value::object(e);  // the caller's env is no longer needed: its frame (if any) saved it
      Slot* slots = e->slots();
      for (std::uint32_t i = 0; i < lambda->a; ++i) slots[i].set(stack_[fb + 3 + i]);
      std::uint32_t next = lambda->a;
      if (rest) {
        slots[next].set(Value::nil());
        for (std::size_t j = argc; j > lambda->a; --j)  // e, via env_, roots the list being built
          slots[next].set(cons(stack_[fb + 2 + j], slots[next].get()));
        ++next;
      }
      for (; next < lambda->b; ++next) slots[next].set(Value::unassigned());
      node_ = lambda->item(0);
      drop_to(fb);
      // Loops in Scheme are calls; polling here bounds the time to a handshake even in loops whose
      // allocations all stay on the fast path.
      gc::safepoint();
      goto eval;
    }
    if (!f.is(Kind::kPrimitive)) throw_error("not a procedure: " + to_write_string(f));
    const Primitive* p = f.as<Primitive>();
    if (argc < static_cast<std::size_t>(p->min_args) ||
        (p->max_args != Primitive::kVariadic && argc > static_cast<std::size_t>(p->max_args)))
      arity_error(f, argc);
    switch (p->special) {
      case Special::kNone:
        val_ = p->fn(*this, Args{*this, fb + 3, argc});
        drop_to(fb);
        goto ret;
      case Special::kApply: {
        // (apply f a ... list): spread the list, drop `apply`, and apply f.
        Value list = stack_[sp_ - 1];
        drop_to(sp_ - 1);
        --argc;
        for (; list.is(Kind::kPair); list = list.as<Pair>()->cdr.get()) {
          push(list.as<Pair>()->car.get());  // pushes do not allocate in the heap: list stays valid
          ++argc;
        }
        if (!list.is_nil()) throw_error("apply: last argument is not a proper list");
        std::memmove(static_cast<void*>(stack_ + fb + 2), stack_ + fb + 3, argc * sizeof(Value));
        drop_to(sp_ - 1);
        --argc;  // f is no longer an argument
        continue;
      }
      case Special::kCatchError: {
        // (catch-error thunk): [env node catch-error thunk] becomes [M - - thunk]; the thunk is
        // applied with the catch marker beneath it.
        stack_[fb] = marker(kCatchFrame);
        catches_.push_back(fb);
        stack_[fb + 1] = Value::nil();
        stack_[fb + 2] = Value::nil();
        fb += 1;
        argc = 0;
        continue;
      }
    }
  }
}

}  // namespace scheme
