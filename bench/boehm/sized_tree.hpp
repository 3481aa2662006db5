// The sized quad tree of common/workloads.hpp (sized_tree) on Boehm: nodes from GC_MALLOC, children
// built first (the order of the tricolor version). Used by mark-scaling and rss-return.
#pragma once
#include <cstdint>
#include <stdexcept>

#include "boehm/runtime.hpp"
#include "common/workloads.hpp"

namespace bench::boehm {

struct SNode {
  SNode* kid[4];
  std::uint64_t check;
};

// A tree of exactly n nodes (null for n == 0).
inline SNode* build_sized(std::uint64_t n, std::uint64_t tag) {
  using sized_tree::kid_nodes;
  if (n == 0) return nullptr;
  SNode* kids[4];
  for (int k = 0; k < 4; ++k) kids[k] = build_sized(kid_nodes(n, k), tag);
  auto* s = static_cast<SNode*>(alloc(sizeof(SNode)));
  for (int k = 0; k < 4; ++k) s->kid[k] = kids[k];
  s->check = sized_tree::check(tag, n);
  return s;
}

// Checks every node of a tree that should have n nodes; throws on a wrong check value or shape.
inline void walk_sized(const SNode* s, std::uint64_t n, std::uint64_t tag) {
  if (s == nullptr) {
    if (n != 0) throw std::runtime_error("sized tree: a subtree is missing");
    return;
  }
  if (n == 0) throw std::runtime_error("sized tree: an extra subtree");
  if (s->check != sized_tree::check(tag, n)) throw std::runtime_error("sized tree: a node's check value was overwritten");
  for (int k = 0; k < 4; ++k) walk_sized(s->kid[k], sized_tree::kid_nodes(n, k), tag);
}

}  // namespace bench::boehm
