// See reader.hpp. The reader recurses on the C++ stack for nested data, bounded by kMaxNesting.
#include "reader.hpp"

#include <string>

namespace scheme {

namespace {

constexpr int kMaxNesting = 10000;

bool is_delimiter(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '(' || c == ')' ||
         c == '[' || c == ']' || c == '"' || c == ';' || c == '\'';
}

}  // namespace

void Reader::fail(const std::string& what, bool incomplete) const {
  throw ReadError("syntax error: line " + std::to_string(line_) + ": " + what, incomplete);
}

void Reader::skip_atmosphere() {
  while (!at_end()) {
    const char c = text_[pos_];
    if (c == '\n') {
      ++line_;
      ++pos_;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
      ++pos_;
    } else if (c == ';') {
      while (!at_end() && text_[pos_] != '\n') ++pos_;
    } else if (c == '#' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '|') {
      const int start = line_;
      pos_ += 2;
      int nesting = 1;
      while (nesting > 0) {
        if (pos_ + 1 >= text_.size()) {
          line_ = start;
          fail("unterminated #| comment", true);
        }
        if (text_[pos_] == '|' && text_[pos_ + 1] == '#') {
          --nesting;
          pos_ += 2;
        } else if (text_[pos_] == '#' && text_[pos_ + 1] == '|') {
          ++nesting;
          pos_ += 2;
        } else {
          if (text_[pos_] == '\n') ++line_;
          ++pos_;
        }
      }
    } else if (c == '#' && pos_ + 1 < text_.size() && text_[pos_ + 1] == ';') {
      pos_ += 2;
      const std::size_t h = vm_.height();
      read_datum(1);  // discarded: nothing allocated for it is kept
      vm_.drop_to(h);
    } else {
      return;
    }
  }
}

Value Reader::read() {
  const std::size_t h = vm_.height();
  try {
    skip_atmosphere();
    if (at_end()) return Value::eof();
    return read_datum(0);
  } catch (...) {
    vm_.drop_to(h);
    throw;
  }
}

Value Reader::read_datum(int depth) {
  if (depth > kMaxNesting) fail("data nested too deeply");
  skip_atmosphere();
  if (at_end()) fail("unexpected end of input", true);
  const char c = text_[pos_];
  switch (c) {
    case '(':
    case '[':
      ++pos_;
      return read_sequence(depth, c == '(' ? ')' : ']', false);
    case ')':
    case ']':
      fail(std::string("unexpected '") + c + "'");
    case '"':
      ++pos_;
      return read_string();
    case '\'': {
      ++pos_;
      const std::size_t i = vm_.push(read_datum(depth + 1));
      vm_.set(i, vm_.cons(vm_.get(i), Value::nil()));
      Value quoted = vm_.cons(Value::object(vm_.keyword(Keyword::kQuote)), vm_.get(i));
      vm_.drop_to(i);
      return quoted;
    }
    case '`':
    case ',':
      fail("quasiquote is not supported");
    case '#':
      if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '(') {
        pos_ += 2;
        return read_sequence(depth, ')', true);
      }
      if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '\\') fail("characters are not supported");
      return read_atom();
    default:
      return read_atom();
  }
}

Value Reader::read_sequence(int depth, char close, bool vector) {
  const int start_line = line_;
  const std::size_t base = vm_.height();
  Value tail = Value::nil();
  for (;;) {
    skip_atmosphere();
    if (at_end()) {
      line_ = start_line;
      fail(std::string(vector ? "unterminated vector" : "unterminated list") + " (missing '" + close + "')",
           true);
    }
    const char c = text_[pos_];
    if (c == ')' || c == ']') {
      if (c != close) fail(std::string("expected '") + close + "', found '" + c + "'");
      ++pos_;
      break;
    }
    if (c == '.' && pos_ + 1 < text_.size() && is_delimiter(text_[pos_ + 1]) && !vector) {
      if (vm_.height() == base) fail("'.' with nothing before it");
      ++pos_;
      tail = read_datum(depth + 1);
      skip_atmosphere();
      if (at_end() || text_[pos_] != close) fail("expected one datum after '.'", at_end());
      ++pos_;
      break;
    }
    vm_.push(read_datum(depth + 1));
  }
  const std::size_t n = vm_.height() - base;
  if (vector) {
    Value v = vm_.make_vector(n, Value::nil());  // the elements are still on the stack
    Slot* items = v.as<Vector>()->items();
    for (std::size_t i = 0; i < n; ++i) items[i].set(vm_.get(base + i));
    vm_.drop_to(base);
    return v;
  }
  const std::size_t acc = vm_.push(tail);
  for (std::size_t i = acc; i > base; --i) vm_.set(acc, vm_.cons(vm_.get(i - 1), vm_.get(acc)));
  Value list = vm_.get(acc);
  vm_.drop_to(base);
  return list;
}

Value Reader::read_string() {
  const int start_line = line_;
  std::string s;
  for (;;) {
    if (at_end()) {
      line_ = start_line;
      fail("unterminated string", true);
    }
    char c = text_[pos_++];
    if (c == '"') break;
    if (c == '\n') ++line_;
    if (c == '\\') {
      if (at_end()) continue;
      const char e = text_[pos_++];
      switch (e) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case '\\': c = '\\'; break;
        case '"': c = '"'; break;
        default: fail(std::string("unknown string escape \\") + e);
      }
    }
    s.push_back(c);
  }
  return vm_.make_string(s);
}

Value Reader::read_atom() {
  const std::size_t start = pos_;
  while (!at_end() && !is_delimiter(text_[pos_])) ++pos_;
  const std::string_view tok = text_.substr(start, pos_ - start);
  if (tok == "#t" || tok == "#true") return Value::t();
  if (tok == "#f" || tok == "#false") return Value::f();
  if (tok[0] == '#') fail("unknown syntax " + std::string(tok));
  // An integer: optional sign, then digits only.
  std::size_t i = (tok[0] == '+' || tok[0] == '-') ? 1 : 0;
  if (i < tok.size() && tok.find_first_not_of("0123456789", i) == std::string_view::npos) {
    const bool negative = tok[0] == '-';
    std::int64_t n = 0;
    for (; i < tok.size(); ++i) {
      // Accumulate negatively so that kFixnumMin parses too.
      if (__builtin_mul_overflow(n, 10, &n) || __builtin_sub_overflow(n, tok[i] - '0', &n) ||
          n < Value::kFixnumMin)
        fail("integer literal out of range: " + std::string(tok));
    }
    if (!negative) {
      if (n < -Value::kFixnumMax) fail("integer literal out of range: " + std::string(tok));
      n = -n;
    }
    return Value::fixnum(n);
  }
  return Value::object(vm_.intern(tok));
}

}  // namespace scheme
