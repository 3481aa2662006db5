// What the C API (capi/) needs of introspection, and nothing more: the counterpart of
// gc/capi_support.hpp for the tools' side. Declared here, beside its definition, so that the core
// declares nothing the core does not define (core <- introspection <- C API, README "Layout").
#pragma once

namespace tricolor::internal {

class HeapImpl;

// h runs in find-leak mode (Config::find_leak), where release() checks that its argument is an
// object of the heap (introspect/leak_check.cpp).
bool find_leak_mode(HeapImpl& h);

}  // namespace tricolor::internal
