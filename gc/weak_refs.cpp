// Weak references and ephemerons, processed at mark termination with the world stopped.
#include "gc/heap_impl.hpp"

namespace tricolor::internal {

void HeapImpl::process_weak_references() {
  weak_slots_.clear();
  ephemerons_.clear();
  marker.take_weak(weak_slots_, ephemerons_);
}

}  // namespace tricolor::internal
