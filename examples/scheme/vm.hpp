// The virtual machine: value stack, registers and the evaluator loop.
//
// Rooting discipline (the one rule every line of the interpreter follows): any allocation may be a
// safepoint at which the collector runs, so every heap value the interpreter still needs after an
// allocation is in one of the VM's roots at that moment:
//   - the value stack (push/get/set by index; indices survive the stack's reallocation),
//   - the registers node_, env_, val_,
//   - the symbol table and the list of global cells,
//   - or is reachable from one of those.
// Objects do not move, so a raw pointer to an object that is rooted that way stays valid; a raw
// pointer to an object that is not must not be held across an allocation.
//
// On tricolor all of that is traced by one root callback registered with Mutator::add_roots, which
// runs at this thread's handshake: the stack and registers are written without barriers. On Boehm the
// VM object and the stack are scanned conservatively, so popped slots are cleared (drop_to).
//
// Evaluation is a loop over compiled code (compiler.hpp) with explicit continuation frames on the
// value stack instead of C++ recursion: a procedure call in tail position pushes no frame, so tail
// calls run in constant space, and deep non-tail recursion is bounded by kMaxStack, not the C stack.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "backend.hpp"
#include "symbol_table.hpp"
#include "value.hpp"

namespace scheme {

// An error in the Scheme program (not in the interpreter): caught at top level, or by catch-error.
class SchemeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The reader found malformed text: the rest of the input cannot be trusted. `incomplete` means the
// text ended inside a datum (the REPL reads another line).
class ReadError : public SchemeError {
 public:
  ReadError(const std::string& what, bool incomplete) : SchemeError(what), incomplete(incomplete) {}
  bool incomplete;
};

[[noreturn]] void throw_error(const std::string& message);

// A primitive's arguments: stack slots [base, base + count). Valid during the primitive's call; they
// stay rooted while it allocates.
struct Args {
  VM& vm;
  std::size_t base;
  std::size_t count;
  Value operator[](std::size_t i) const;
};

enum class Keyword : std::uint8_t {
  kQuote, kLambda, kDefine, kIf, kSet, kBegin, kLet, kLetStar, kLetrec, kLetrecStar,
  kCond, kElse, kAnd, kOr, kWhen, kUnless,
  kCount,
};

class VM {
 public:
  explicit VM(gc::Runtime& runtime);
  ~VM();
  VM(const VM&) = delete;
  VM& operator=(const VM&) = delete;

  // Value stack.
  std::size_t push(Value v) {
    if (sp_ == capacity_) [[unlikely]]
      grow_stack();
    stack_[sp_] = v;
    return sp_++;
  }
  Value get(std::size_t i) const { return stack_[i]; }
  void set(std::size_t i, Value v) { stack_[i] = v; }
  std::size_t height() const { return sp_; }
  void drop_to(std::size_t h) {
    if constexpr (gc::kScansStaleSlots)
      for (std::size_t i = h; i < sp_; ++i) stack_[i] = Value();
    sp_ = h;
  }

  // Compiles and runs one top-level datum, which the caller keeps rooted. Throws SchemeError.
  Value eval_toplevel(Value datum);

  // Allocation helpers. Arguments that are heap values must be rooted.
  Value cons(Value a, Value d) { return Value::object(make_object<Pair>(a, d)); }
  Value make_string(std::string_view s) {
    return Value::object(make_object_with_trailing<String>(s.size(), s));
  }
  Value make_vector(std::size_t n, Value fill) {
    return Value::object(make_object_with_trailing<Vector>(n * sizeof(Slot), n, fill));
  }
  Symbol* intern(std::string_view name) { return symbols_.intern(name); }
  std::size_t live_symbols() const { return symbols_.live_count(); }
  std::size_t symbol_capacity() const { return symbols_.capacity(); }
  // The global cell for s, created unbound on first use. s must be rooted.
  Global* global(Symbol* s);
  Symbol* keyword(Keyword k) const { return keywords_[static_cast<int>(k)].as<Symbol>(); }
  void define_primitive(const char* name, PrimFn fn, int min_args, int max_args,
                        Special special = Special::kNone);

  // Output of display/write, flushed at exit, before errors and when large.
  std::string& out() { return out_; }
  void flush();

  gc::Runtime& runtime() { return runtime_; }
  std::vector<std::string>& command_line() { return command_line_; }

  static constexpr std::size_t kMaxStack = std::size_t{1} << 22;  // slots: 32 MiB

 private:
  static void trace_roots(gc::Tracer& t, void* self);
  void grow_stack();
  Value run(Value code);
  void execute(std::size_t base, bool start_with_eval);
  bool try_simple(const Code* c, Value& out) const;
  Value local_ref(const Code* c) const;
  Value global_ref(const Code* c) const;
  void assign(const Code* c, Value v);
  [[noreturn]] void arity_error(Value f, std::size_t argc) const;

  gc::Runtime& runtime_;
  Value* stack_ = nullptr;
  std::size_t sp_ = 0;
  std::size_t capacity_ = 0;
  // Machine registers: the code being evaluated, its environment (nil at top level), the last value.
  Value node_, env_, val_;
  Value globals_;  // list of every Global cell: keeps bindings (and their symbols) alive
  Value keywords_[static_cast<int>(Keyword::kCount)];
  SymbolTable symbols_;
  // Stack positions of the active catch-error frames, innermost last.
  std::vector<std::size_t> catches_;
  std::string out_;
  std::vector<std::string> command_line_;
  std::unique_ptr<gc::RootRegistration> roots_;
};

inline Value Args::operator[](std::size_t i) const { return vm.get(base + i); }

// printer.cpp
void print(std::string& out, Value v, bool write);
// The written form of v, shortened for error messages.
std::string to_write_string(Value v);

}  // namespace scheme
