#include "gc/type_registry.hpp"

#include <cxxabi.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace tricolor::internal {

namespace {
TypeInfo g_types[kMaxTypes];
// release on registration / acquire on lookup in debug checks: an id is only handed out after its
// entry is written. Objects carry ids to other threads through the heap, whose handshakes order them.
std::atomic<std::uint32_t> g_count{0};
std::mutex g_mu;

std::uint32_t add(TypeInfo info) {
  std::lock_guard lock(g_mu);
  const std::uint32_t id = g_count.load(std::memory_order_relaxed);
  TC_CHECK(id < kMaxTypes, "tricolor: more than %u object types registered", kMaxTypes);
  g_types[id] = info;
  g_count.store(id + 1, std::memory_order_release);
  return id;
}

const char* copy_name(const char* n) {
  char* c = static_cast<char*>(std::malloc(std::strlen(n) + 1));
  std::strcpy(c, n);
  return c;
}
}  // namespace

std::uint32_t register_type(const std::type_info& ti, void (*trace)(const void*, Tracer&), void (*destroy)(void*),
                            std::size_t size) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(ti.name(), nullptr, nullptr, &status);
  const char* name = copy_name(status == 0 && demangled ? demangled : ti.name());
  std::free(demangled);
  return add({name, trace, destroy, size});
}

std::uint32_t register_dynamic_type(const char* name, void (*trace)(const void*, Tracer&), void (*destroy)(void*),
                                    std::size_t size) {
  return add({copy_name(name ? name : "<unnamed>"), trace, destroy, size});
}

const TypeInfo& type_info(std::uint32_t id) {
  TC_DCHECK(id < g_count.load(std::memory_order_acquire), "tricolor: object header with unknown type id %u", id);
  return g_types[id];
}

std::uint32_t registered_type_count() { return g_count.load(std::memory_order_acquire); }

std::uint32_t buffer_type_id() {
  static const std::uint32_t id = register_dynamic_type("tricolor::Buffer", nullptr, nullptr, 0);
  return id;
}

}  // namespace tricolor::internal
