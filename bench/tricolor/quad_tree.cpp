// quad-tree churn on tricolor; the same steps and thread split as bench/boehm/quad_tree.cpp. The
// long-lived tree hangs from a Global so that every worker reaches it.
#include <stdexcept>
#include <string>

#include "common/workloads.hpp"
#include "tricolor/runtime.hpp"

namespace bench::tc {
namespace {

using namespace bench::quad_tree;
using tricolor::make;
using tricolor::Member;
using tricolor::Root;

struct QNode : tricolor::Object<QNode> {
  Member<QNode> kid[4];
  std::uint64_t check = 0;
  void trace(tricolor::Tracer& t) const { t.trace_array(kid, 4); }
};
static_assert(sizeof(QNode) == 40, "4 Members and a check word: a 48-byte slot with the header");

// Children first, each rooted while the next allocation runs; then the parent.
QNode* build(int depth, std::uint64_t (*tag)(int)) {
  if (depth == 0) {
    QNode* n = make<QNode>();
    n->check = tag(0);
    return n;
  }
  Root<QNode> k0(build(depth - 1, tag));
  Root<QNode> k1(build(depth - 1, tag));
  Root<QNode> k2(build(depth - 1, tag));
  Root<QNode> k3(build(depth - 1, tag));
  QNode* n = make<QNode>();
  n->kid[0] = k0.get();
  n->kid[1] = k1.get();
  n->kid[2] = k2.get();
  n->kid[3] = k3.get();
  n->check = tag(depth);
  return n;
}

// Counts the nodes and throws if a check value or the shape is wrong. It does not allocate, so it
// polls for handshakes every few thousand nodes; the nodes it holds raw pointers to stay reachable
// from a Root or the Global meanwhile.
std::uint64_t walk(const QNode* n, int depth, std::uint64_t (*tag)(int), std::uint32_t& since_poll) {
  if (++since_poll == 4096) {
    since_poll = 0;
    tricolor::safepoint();
  }
  if (n->check != tag(depth)) throw std::runtime_error("quad-tree: a node's check value was overwritten");
  if (depth == 0) {
    for (const auto& k : n->kid)
      if (k.get() != nullptr) throw std::runtime_error("quad-tree: a leaf has children");
    return 1;
  }
  std::uint64_t c = 1;
  for (const auto& k : n->kid) {
    if (k.get() == nullptr) throw std::runtime_error("quad-tree: an inner node lost a child");
    c += walk(k, depth - 1, tag, since_poll);
  }
  return c;
}
std::uint64_t walk(const QNode* n, int depth, std::uint64_t (*tag)(int)) {
  std::uint32_t since_poll = 0;
  return walk(n, depth, tag, since_poll);
}

}  // namespace

std::size_t quad_tree_live(const Options& o) {
  return peak_live(o.depth < 0 ? kDefaultDepth : o.depth, o.threads, footprint<QNode>());
}

void quad_tree_run(const Options& o, Record& rec, tricolor::Heap& heap) {
  const int depth = o.depth < 0 ? kDefaultDepth : o.depth;
  if (depth < 1) throw std::runtime_error("quad-tree: depth must be at least 1");
  tricolor::Global<QNode> tree(heap, nullptr, "quad-tree");
  tree = build(depth, live_check);
  rec.mark("long-lived tree built");
  const std::uint64_t per_round = churn_trees_per_round(depth, o.heap_multiple);
  rec.note("churn_trees_per_round", double(per_round));

  Threads threads(heap);
  for (int t = 0; t < o.threads; ++t) {
    threads.spawn("churn", [&, t] {
      const std::uint64_t mine = per_round * (t + 1) / o.threads - per_round * t / o.threads;
      for (int round = 0; round < o.rounds; ++round) {
        std::uint64_t nodes = 0;
        for (std::uint64_t i = 0; i < mine; ++i) {
          Root<QNode> churn(build(kChurnDepth, churn_check));
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

}  // namespace bench::tc
