// The process-wide table of traced types: id -> trace, destructor, name. Types register once, on
// first allocation (include/tricolor/object.hpp: type_id<T>()); entries are never removed, so readers
// need no lock. Capacity is fixed so that the table never moves.
#pragma once
#include "tricolor/object.hpp"

namespace tricolor::internal {

inline constexpr std::uint32_t kMaxTypes = 1u << 16;
std::uint32_t registered_type_count();
// Registers a type described at run time (the C API); name is copied.
std::uint32_t register_dynamic_type(const char* name, void (*trace)(const void*, Tracer&), void (*destroy)(void*),
                                    std::size_t size);

}  // namespace tricolor::internal
