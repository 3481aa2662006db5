// Heap verification: with the world stopped after marking, re-trace everything reachable from the
// roots into a private visited set; any reachable object whose mark bit is clear is a collector bug.
// The report names the object's type and address and the path from its root, then aborts.
// Enabled by Config::verify (TRICOLOR_VERIFY=1); every test heap turns it on.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "tricolor/tracer.hpp"

namespace tricolor::internal {

class HeapImpl;

// A reachability walk shared by the verifier and path queries: calls visit(obj, parent_index) for
// each object once, breadth first, and keeps parent links so a path to any visited object can be
// printed.
class HeapWalk {
 public:
  struct Node {
    const void* obj;
    std::size_t parent;     // index into nodes(), or kRoot
    const char* field;      // field name in the parent, or the root's description
    std::size_t index;      // array index in the field, or Tracer::kNoIndex
  };
  static constexpr std::size_t kRoot = SIZE_MAX;

  explicit HeapWalk(HeapImpl& h) : h_(h) {}
  // Walks from every root of the heap. World must be stopped (or the heap quiescent).
  void run(const std::function<bool(const void* obj)>& on_object);
  const std::vector<Node>& nodes() const { return nodes_; }
  std::string path_to(std::size_t node) const;

 private:
  HeapImpl& h_;
  std::vector<Node> nodes_;
  std::vector<std::string> root_names_;
};

}  // namespace tricolor::internal
