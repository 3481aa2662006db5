// Checks in three strengths. None of them may have side effects in their condition.
//   TC_CHECK       misuse that would corrupt the heap: on in every build; the message names the misuse
//                  and says how to fix it.
//   TC_DCHECK      a precondition on a hot path: on with -Ddebug_checks (debug builds by default).
//   TC_DCHECK_SLOW a check that walks a whole structure: debug checks only, and only where a test asks.
#pragma once
#include "tricolor/internal/api.hpp"

namespace tricolor::internal {
[[noreturn, gnu::cold, gnu::format(printf, 3, 4)]] TRICOLOR_API void fatal(const char* file, int line,
                                                             const char* fmt, ...);
}  // namespace tricolor::internal

#define TC_CHECK(cond, ...)                                                  \
  do {                                                                       \
    if (!(cond)) [[unlikely]]                                                \
      ::tricolor::internal::fatal(__FILE__, __LINE__, __VA_ARGS__);          \
  } while (0)

#if defined(TRICOLOR_DEBUG_CHECKS) && TRICOLOR_DEBUG_CHECKS
#define TC_DCHECK(cond, ...) TC_CHECK(cond, __VA_ARGS__)
#define TC_DCHECK_IS_ON 1
#else
#define TC_DCHECK(cond, ...) \
  do {                       \
    if (false) {             \
      (void)(cond);          \
    }                        \
  } while (0)
#define TC_DCHECK_IS_ON 0
#endif
#define TC_DCHECK_SLOW(cond, ...) TC_DCHECK(cond, __VA_ARGS__)
