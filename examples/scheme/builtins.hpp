// The global environment a program starts with: primitives (builtins.cpp) and the prelude, a few
// procedures written in Scheme.
#pragma once
#include "vm.hpp"

namespace scheme {

void install_builtins(VM& vm);

}  // namespace scheme
