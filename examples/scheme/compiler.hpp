// The compiler: turns a datum (read by reader.hpp) into a tree of Code nodes (value.hpp) with
// variables resolved to frame/slot pairs or global cells, so that the evaluator never looks a name up.
//
// Code lives in the collected heap like every other value: a closure keeps its code alive, and code
// that no closure or running frame refers to is collected. The compiler builds a node from its
// children by pushing each compiled child on the VM's value stack (they stay rooted while the next
// child allocates) and popping them into the new node. The datum being compiled is rooted by the
// caller, so the compiler may hold raw pointers into it (symbols, subforms) throughout.
#pragma once
#include "vm.hpp"

namespace scheme {

// Compiles one top-level form. Throws SchemeError ("syntax error: ...") for malformed forms.
// The result is not rooted: the caller roots or runs it before allocating.
Value compile_toplevel(VM& vm, Value datum);

}  // namespace scheme
