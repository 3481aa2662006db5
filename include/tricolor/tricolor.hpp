// tricolor: a concurrent, precise mark-sweep garbage collector for C++.
#pragma once
#include "tricolor/internal/api.hpp"
#include "tricolor/config.hpp"
#include "tricolor/heap.hpp"
#include "tricolor/leak_check.hpp"
#include "tricolor/member.hpp"
#include "tricolor/mutator.hpp"
#include "tricolor/object.hpp"
#include "tricolor/roots.hpp"
#include "tricolor/tagged.hpp"
#include "tricolor/tracer.hpp"
#include "tricolor/weak.hpp"
