#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "tricolor/internal/check.hpp"

namespace tricolor::internal {

void fatal(const char* file, int line, const char* fmt, ...) {
  std::fflush(stdout);
  std::fputs("tricolor: fatal: ", stderr);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "\n  (checked at %s:%d)\n", file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace tricolor::internal
