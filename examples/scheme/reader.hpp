// The reader: text to data. Lists are built from the value stack (each element is pushed as it is
// read, and the list is consed from the end once the closing parenthesis is seen), so that every
// element read so far stays rooted while the next one allocates.
//
// Supported: integers, symbols, strings ("\n \t \\ \""), #t/#f, '(quote), lists with dotted tails,
// [ ] as parentheses, vectors #( ), comments ; #| |# and #; (datum comment).
#pragma once
#include <cstddef>
#include <string_view>

#include "vm.hpp"

namespace scheme {

class Reader {
 public:
  Reader(VM& vm, std::string_view text) : vm_(vm), text_(text) {}

  // The next datum, or Value::eof() at the end of the text. Throws ReadError. The result is not
  // rooted: the caller pushes it (or hands it to eval_toplevel) before allocating.
  Value read();
  // How much of the text has been consumed.
  std::size_t position() const { return pos_; }

 private:
  Value read_datum(int depth);
  Value read_sequence(int depth, char close, bool vector);
  Value read_string();
  Value read_atom();
  void skip_atmosphere();
  [[noreturn]] void fail(const std::string& what, bool incomplete = false) const;
  bool at_end() const { return pos_ >= text_.size(); }

  VM& vm_;
  std::string_view text_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace scheme
