// The sized quad tree of common/workloads.hpp (sized_tree): built children first, each child rooted
// while its siblings and the parent are allocated; walked with the back end's poll (the walk does not
// allocate). Used by mark-scaling and rss-return.
#pragma once
#include <cstdint>
#include <stdexcept>

#include "backends/backend.hpp"
#include "common/workloads.hpp"

namespace bench {

struct SNode : gc::Managed<SNode> {
  gc::Field<SNode> kid[4];
  std::uint64_t check;
  void trace(gc::Tracer& t) const { t.trace_array(kid, 4); }
};
static_assert(sizeof(SNode) == 40, "4 pointers and a check word (tricolor: a 48-byte slot with the header)");

// A tree of exactly n nodes (null for n == 0). The caller must root the result before its next
// allocation.
inline SNode* build_sized(std::uint64_t n, std::uint64_t tag) {
  using sized_tree::kid_nodes;
  if (n == 0) return nullptr;
  gc::LocalRoot<SNode> k0(build_sized(kid_nodes(n, 0), tag));
  gc::LocalRoot<SNode> k1(build_sized(kid_nodes(n, 1), tag));
  gc::LocalRoot<SNode> k2(build_sized(kid_nodes(n, 2), tag));
  gc::LocalRoot<SNode> k3(build_sized(kid_nodes(n, 3), tag));
  SNode* s = gc::make<SNode>();
  s->kid[0] = k0.get();
  s->kid[1] = k1.get();
  s->kid[2] = k2.get();
  s->kid[3] = k3.get();
  s->check = sized_tree::check(tag, n);
  return s;
}

// Checks every node of a tree that should have n nodes; throws on a wrong check value or shape.
inline void walk_sized(const SNode* s, std::uint64_t n, std::uint64_t tag, gc::WalkPoll& poll) {
  poll.tick();
  if (s == nullptr) {
    if (n != 0) throw std::runtime_error("sized tree: a subtree is missing");
    return;
  }
  if (n == 0) throw std::runtime_error("sized tree: an extra subtree");
  if (s->check != sized_tree::check(tag, n)) throw std::runtime_error("sized tree: a node's check value was overwritten");
  for (int k = 0; k < 4; ++k) walk_sized(s->kid[k], sized_tree::kid_nodes(n, k), tag, poll);
}
inline void walk_sized(const SNode* s, std::uint64_t n, std::uint64_t tag) {
  gc::WalkPoll poll;
  walk_sized(s, n, tag, poll);
}

}  // namespace bench
