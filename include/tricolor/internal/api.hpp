// The first include of every C++ header of tricolor: the language check, the export macro and the
// version macros.
#pragma once

// The C++ API uses concepts, [[likely]] and other C++20 features. Stop at once with one message
// instead of a page of errors from the headers below; C and older C++ can use the C API.
#if !defined(__cplusplus) || __cplusplus < 202002L
#error "tricolor's C++ API needs C++20 (-std=c++20); C and older C++ can use the C API, <tricolor/tricolor.h>"
#include <tricolor/internal/stop-here-C++20-required>  // ends the compile: nothing below can build
#endif

#include "tricolor/export.h"
#include "tricolor/version.h"
