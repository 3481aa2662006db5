// quad-tree churn on Boehm: build one long-lived quad tree of depth D, then in each of R rounds the
// mutator threads together allocate heap/7.5 bytes of short-lived depth-3 trees and then re-check
// the long-lived tree (each thread checks its share of the four subtrees).
#include <stdexcept>
#include <string>

#include "boehm/runtime.hpp"
#include "common/workloads.hpp"

namespace bench::boehm {
namespace {

using namespace bench::quad_tree;

struct QNode {
  QNode* kid[4];
  std::uint64_t check;
};

// Children first, then the parent (the same order as the tricolor version, which must root children).
QNode* build(int depth, std::uint64_t (*tag)(int)) {
  QNode* kids[4] = {};
  if (depth > 0)
    for (QNode*& k : kids) k = build(depth - 1, tag);
  auto* n = static_cast<QNode*>(alloc(sizeof(QNode)));
  for (int i = 0; i < 4; ++i) n->kid[i] = kids[i];
  n->check = tag(depth);
  return n;
}

// Counts the nodes and throws if a check value or the shape is wrong.
std::uint64_t walk(const QNode* n, int depth, std::uint64_t (*tag)(int)) {
  if (n->check != tag(depth)) throw std::runtime_error("quad-tree: a node's check value was overwritten");
  if (depth == 0) {
    for (const QNode* k : n->kid)
      if (k != nullptr) throw std::runtime_error("quad-tree: a leaf has children");
    return 1;
  }
  std::uint64_t c = 1;
  for (const QNode* k : n->kid) {
    if (k == nullptr) throw std::runtime_error("quad-tree: an inner node lost a child");
    c += walk(k, depth - 1, tag);
  }
  return c;
}

}  // namespace

std::size_t quad_tree_live(const Options& o) {
  return peak_live(o.depth < 0 ? kDefaultDepth : o.depth, o.threads, footprint(sizeof(QNode)));
}

void quad_tree_run(const Options& o, Record& rec) {
  const int depth = o.depth < 0 ? kDefaultDepth : o.depth;
  if (depth < 1) throw std::runtime_error("quad-tree: depth must be at least 1");
  QNode* tree = build(depth, live_check);
  rec.mark("long-lived tree built");
  const std::uint64_t per_round = churn_trees_per_round(depth, o.heap_multiple);
  rec.note("churn_trees_per_round", double(per_round));

  Threads threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.spawn([&, t] {
      const std::uint64_t mine = per_round * (t + 1) / o.threads - per_round * t / o.threads;
      for (int round = 0; round < o.rounds; ++round) {
        std::uint64_t nodes = 0;
        for (std::uint64_t i = 0; i < mine; ++i) nodes += walk(build(kChurnDepth, churn_check), kChurnDepth, churn_check);
        if (nodes != mine * quad_tree_nodes(kChurnDepth)) throw std::runtime_error("quad-tree: churn count");
        for (int k = t; k < 4; k += o.threads)
          if (walk(tree->kid[k], depth - 1, live_check) != quad_tree_nodes(depth - 1))
            throw std::runtime_error("quad-tree: the long-lived tree lost nodes");
      }
    });
  }
  threads.join();
  if (walk(tree, depth, live_check) != quad_tree_nodes(depth))
    throw std::runtime_error("quad-tree: the long-lived tree lost nodes");
}

}  // namespace bench::boehm
