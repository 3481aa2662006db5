// Where the tools plug into the core: tricolor::Heap builds its HeapImpl with the leak state
// (allocation sites, find-leak mode, LeakCheck's epochs) as the heap's observer
// (gc/heap_observer.hpp). The core knows the interface only; this file is the one place that knows
// both sides. Heap's other members are in gc/api.cpp and, for the tools' own API, in this folder.
#include <memory>

#include "gc/heap_impl.hpp"
#include "introspect/leak_check.hpp"

namespace tricolor {

Heap::Heap(Config config)
    : impl_(new internal::HeapImpl(internal::checked_config(config.apply_env()), [](internal::HeapImpl& h) {
        return std::make_unique<internal::LeakState>(h, h.config);
      })) {}

}  // namespace tricolor
