// GCBench (John Ellis and Pete Kovac, C++ port by Hans Boehm): a stretch tree, a long-lived tree and
// array, then trees of depth 4..16 built top-down (Populate) and bottom-up (MakeTree). gcbench-mt
// runs the whole benchmark in each of N worker threads at once.
#include <stdexcept>

#include "common/workloads.hpp"
#include "workloads/table.hpp"

namespace bench {
namespace {

using namespace bench::gcbench;
using gc::LocalRoot;
using gc::make;

struct Node : gc::Managed<Node> {
  gc::Field<Node> left, right;
  int i, j;  // unused payload, as in the original (zero: make<T>() returns zeroed nodes)
  void trace(gc::Tracer& t) const {
    t.trace(left);
    t.trace(right);
  }
};

// Builds the tree top-down: children are hung on a node that is already in the tree. `node` is
// reachable from the caller's root through fields nobody overwrites, so it stays valid across the
// allocations below; each new child is stored into it before the next allocation.
void populate(int depth, Node* node) {
  if (depth <= 0) return;
  --depth;
  node->left = make<Node>();
  node->right = make<Node>();
  populate(depth, node->left);
  populate(depth, node->right);
}

// Builds the tree bottom-up: both children are rooted while their parent is allocated.
Node* make_tree(int depth) {
  if (depth <= 0) return make<Node>();
  LocalRoot<Node> l(make_tree(depth - 1));
  LocalRoot<Node> r(make_tree(depth - 1));
  Node* n = make<Node>();
  n->left = l.get();
  n->right = r.get();
  return n;
}

// The walk does not allocate: it ticks the back end's poll, so that a collection that starts
// meanwhile need not wait for the whole walk.
std::uint64_t count(const Node* n, gc::WalkPoll& poll) {
  if (n == nullptr) return 0;
  poll.tick();
  return 1 + count(n->left, poll) + count(n->right, poll);
}
std::uint64_t count(const Node* n) {
  gc::WalkPoll poll;
  return count(n, poll);
}

void time_construction(int depth) {
  const std::uint64_t iters = num_iters(depth);
  for (std::uint64_t i = 0; i < iters; ++i) {
    LocalRoot<Node> temp(make<Node>());
    populate(depth, temp);
  }
  for (std::uint64_t i = 0; i < iters; ++i) {
    LocalRoot<Node> temp(make_tree(depth));
  }
}

// Stretches the heap with a tree that dies at once; in a frame of its own, so that no stack slot
// keeps the tree alive afterwards (Boehm scans stacks conservatively).
[[gnu::noinline]] void stretch_heap() {
  LocalRoot<Node> stretch(make_tree(kStretchTreeDepth));
  if (count(stretch) != binary_tree_nodes(kStretchTreeDepth))
    throw std::runtime_error("gcbench: stretch tree has the wrong size");
}

void one_gcbench() {
  stretch_heap();
  LocalRoot<Node> long_lived(make<Node>());
  populate(kLongLivedTreeDepth, long_lived);
  LocalRoot<double> array(gc::make_pointer_free<double>(kArraySize));
  for (int i = 0; i < kArraySize / 2; ++i) array.get()[i] = 1.0 / i;

  for (int d = kMinTreeDepth; d <= kMaxTreeDepth; d += 2) time_construction(d);

  if (array.get()[1000] != 1.0 / 1000 || count(long_lived) != binary_tree_nodes(kLongLivedTreeDepth))
    throw std::runtime_error("gcbench: long-lived data was damaged");
}

}  // namespace

std::size_t gcbench_live(const Options& o) {
  return std::size_t(o.threads) * peak_live(gc::footprint<Node>(), gc::large_footprint(sizeof(double) * kArraySize));
}

void gcbench_run(const Options& o, Record&, gc::Runtime& rt) {
  if (o.threads == 1) {
    one_gcbench();
    return;
  }
  gc::Threads threads(rt);
  for (int t = 0; t < o.threads; ++t) threads.spawn("gcbench", one_gcbench);
  threads.join();
}

}  // namespace bench
