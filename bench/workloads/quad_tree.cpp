// quad-tree churn: build one long-lived quad tree of depth D, then in each of R rounds the mutator
// threads together allocate heap/7.5 bytes of short-lived depth-3 trees and then re-check the
// long-lived tree (each thread checks its share of the four subtrees). The long-lived tree hangs from
// a GlobalRoot so that every worker reaches it.
#include <stdexcept>
#include <string>

#include "common/workloads.hpp"
#include "workloads/table.hpp"

namespace bench {
namespace {

using namespace bench::quad_tree;
using gc::LocalRoot;
using gc::make;

struct QNode : gc::Managed<QNode> {
  gc::Field<QNode> kid[4];
  std::uint64_t check;
  void trace(gc::Tracer& t) const { t.trace_array(kid, 4); }
};
static_assert(sizeof(QNode) == 40, "4 pointers and a check word (tricolor: a 48-byte slot with the header)");

// Children first, each rooted while the next allocation runs; then the parent.
QNode* build(int depth, std::uint64_t (*tag)(int)) {
  if (depth == 0) {
    QNode* n = make<QNode>();
    n->check = tag(0);
    return n;
  }
  LocalRoot<QNode> k0(build(depth - 1, tag));
  LocalRoot<QNode> k1(build(depth - 1, tag));
  LocalRoot<QNode> k2(build(depth - 1, tag));
  LocalRoot<QNode> k3(build(depth - 1, tag));
  QNode* n = make<QNode>();
  n->kid[0] = k0.get();
  n->kid[1] = k1.get();
  n->kid[2] = k2.get();
  n->kid[3] = k3.get();
  n->check = tag(depth);
  return n;
}

// Counts the nodes and throws if a check value or the shape is wrong. It does not allocate, so it
// ticks the back end's poll; the nodes it holds raw pointers to stay reachable from a root meanwhile.
std::uint64_t walk(const QNode* n, int depth, std::uint64_t (*tag)(int), gc::WalkPoll& poll) {
  poll.tick();
  if (n->check != tag(depth)) throw std::runtime_error("quad-tree: a node's check value was overwritten");
  if (depth == 0) {
    for (const QNode* k : n->kid)
      if (k != nullptr) throw std::runtime_error("quad-tree: a leaf has children");
    return 1;
  }
  std::uint64_t c = 1;
  for (const QNode* k : n->kid) {
    if (k == nullptr) throw std::runtime_error("quad-tree: an inner node lost a child");
    c += walk(k, depth - 1, tag, poll);
  }
  return c;
}
std::uint64_t walk(const QNode* n, int depth, std::uint64_t (*tag)(int)) {
  gc::WalkPoll poll;
  return walk(n, depth, tag, poll);
}

}  // namespace

std::size_t quad_tree_live(const Options& o) {
  return peak_live(o.depth < 0 ? kDefaultDepth : o.depth, o.threads, gc::footprint<QNode>());
}

void quad_tree_run(const Options& o, Record& rec, gc::Runtime& rt) {
  const int depth = o.depth < 0 ? kDefaultDepth : o.depth;
  if (depth < 1) throw std::runtime_error("quad-tree: depth must be at least 1");
  gc::GlobalRoot<QNode> tree(rt, "quad-tree");
  tree = build(depth, live_check);
  rec.mark("long-lived tree built");
  const std::uint64_t per_round = churn_trees_per_round(depth, o.heap_multiple);
  rec.note("churn_trees_per_round", double(per_round));

  gc::Threads threads(rt);
  for (int t = 0; t < o.threads; ++t) {
    threads.spawn("churn", [&, t] {
      const std::uint64_t mine = per_round * (t + 1) / o.threads - per_round * t / o.threads;
      for (int round = 0; round < o.rounds; ++round) {
        std::uint64_t nodes = 0;
        for (std::uint64_t i = 0; i < mine; ++i) {
          LocalRoot<QNode> churn(build(kChurnDepth, churn_check));
          nodes += walk(churn, kChurnDepth, churn_check);
        }
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

}  // namespace bench
