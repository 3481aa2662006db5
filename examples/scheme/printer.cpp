// display and write. Printing never allocates in the heap, so it walks raw pointers freely. A budget
// on the number of values printed bounds the output for cyclic structures (set-cdr! can make them);
// nesting is bounded too, because the printer recurses on the C++ stack for cars.
#include <string>

#include "vm.hpp"

namespace scheme {

namespace {

class Printer {
 public:
  Printer(std::string& out, bool write, long budget) : out_(out), write_(write), budget_(budget) {}

  void print(Value v, int depth) {
    if (--budget_ < 0) {
      if (budget_ == -1) out_ += "...";
      return;
    }
    if (v.is_fixnum()) {
      out_ += std::to_string(v.as_fixnum());
    } else if (!v.is_object()) {
      print_immediate(v);
    } else if (depth > kMaxDepth) {
      out_ += "...";
    } else {
      print_object(v, depth);
    }
  }

 private:
  static constexpr int kMaxDepth = 1000;

  void print_immediate(Value v) {
    if (v == Value::nil()) out_ += "()";
    else if (v == Value::t()) out_ += "#t";
    else if (v == Value::f()) out_ += "#f";
    else if (v == Value::unspecified()) out_ += "#<unspecified>";
    else if (v == Value::eof()) out_ += "#<eof>";
    else out_ += "#<unassigned>";
  }

  void print_object(Value v, int depth) {
    switch (v.object()->kind) {
      case Kind::kPair: {
        out_ += '(';
        print(v.as<Pair>()->car.get(), depth + 1);
        Value rest = v.as<Pair>()->cdr.get();
        for (; rest.is(Kind::kPair) && budget_ >= 0; rest = rest.as<Pair>()->cdr.get()) {
          out_ += ' ';
          print(rest.as<Pair>()->car.get(), depth + 1);
        }
        if (!rest.is_nil() && budget_ >= 0) {
          out_ += " . ";
          print(rest, depth + 1);
        }
        out_ += ')';
        break;
      }
      case Kind::kVector: {
        const Vector* vec = v.as<Vector>();
        out_ += "#(";
        for (std::size_t i = 0; i < vec->length && budget_ >= 0; ++i) {
          if (i > 0) out_ += ' ';
          print(vec->items()[i].get(), depth + 1);
        }
        out_ += ')';
        break;
      }
      case Kind::kString:
        if (!write_) {
          out_ += v.as<String>()->view();
        } else {
          out_ += '"';
          for (char c : v.as<String>()->view()) {
            if (c == '"' || c == '\\') out_ += '\\';
            if (c == '\n') out_ += "\\n";
            else if (c == '\t') out_ += "\\t";
            else out_ += c;
          }
          out_ += '"';
        }
        break;
      case Kind::kSymbol: out_ += v.as<Symbol>()->name(); break;
      case Kind::kClosure: {
        Value name = v.as<Closure>()->code->item(1);
        out_ += "#<procedure";
        if (name.is(Kind::kSymbol)) {
          out_ += ' ';
          out_ += name.as<Symbol>()->name();
        }
        out_ += '>';
        break;
      }
      case Kind::kPrimitive:
        out_ += "#<primitive ";
        out_ += v.as<Primitive>()->name;
        out_ += '>';
        break;
      default: out_ += "#<internal>"; break;
    }
  }

  std::string& out_;
  bool write_;
  long budget_;
};

}  // namespace

void print(std::string& out, Value v, bool write) { Printer(out, write, 1000000).print(v, 0); }

std::string to_write_string(Value v) {
  // For messages: a few dozen values are enough to recognise the culprit.
  std::string s;
  Printer(s, true, 40).print(v, 0);
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  return s;
}

}  // namespace scheme
