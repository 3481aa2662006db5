// GCBench (John Ellis and Pete Kovac, C++ port by Hans Boehm) on Boehm: a stretch tree, a long-lived
// tree and array, then trees of depth 4..16 built top-down (Populate) and bottom-up (MakeTree).
// gcbench-mt runs the whole benchmark in each of N registered threads at once.
#include <stdexcept>

#include "boehm/runtime.hpp"
#include "common/workloads.hpp"

namespace bench::boehm {
namespace {

using namespace bench::gcbench;

struct Node {
  Node* left;
  Node* right;
  int i, j;  // unused payload, as in the original
};

Node* new_node(Node* l = nullptr, Node* r = nullptr) {
  auto* n = static_cast<Node*>(alloc(sizeof(Node)));
  n->left = l;
  n->right = r;
  return n;
}

// Builds the tree top-down: children are hung on a node that is already in the tree.
void populate(int depth, Node* node) {
  if (depth <= 0) return;
  --depth;
  node->left = new_node();
  node->right = new_node();
  populate(depth, node->left);
  populate(depth, node->right);
}

// Builds the tree bottom-up: children first, then their parent.
Node* make_tree(int depth) {
  if (depth <= 0) return new_node();
  Node* l = make_tree(depth - 1);
  Node* r = make_tree(depth - 1);
  return new_node(l, r);
}

std::uint64_t count(const Node* n) { return n == nullptr ? 0 : 1 + count(n->left) + count(n->right); }

void time_construction(int depth) {
  const std::uint64_t iters = num_iters(depth);
  for (std::uint64_t i = 0; i < iters; ++i) {
    Node* temp = new_node();
    populate(depth, temp);
  }
  for (std::uint64_t i = 0; i < iters; ++i) {
    Node* temp = make_tree(depth);
    (void)temp;
  }
}

void one_gcbench() {
  // Stretch the heap with a tree that dies at once.
  if (count(make_tree(kStretchTreeDepth)) != binary_tree_nodes(kStretchTreeDepth))
    throw std::runtime_error("gcbench: stretch tree has the wrong size");

  Node* long_lived = new_node();
  populate(kLongLivedTreeDepth, long_lived);
  auto* array = static_cast<double*>(alloc_atomic(sizeof(double) * kArraySize));
  for (int i = 0; i < kArraySize / 2; ++i) array[i] = 1.0 / i;

  for (int d = kMinTreeDepth; d <= kMaxTreeDepth; d += 2) time_construction(d);

  if (array[1000] != 1.0 / 1000 || count(long_lived) != binary_tree_nodes(kLongLivedTreeDepth))
    throw std::runtime_error("gcbench: long-lived data was damaged");
}

}  // namespace

std::size_t gcbench_live(const Options& o) {
  const std::size_t array = (sizeof(double) * kArraySize + 4095) / 4096 * 4096;
  return std::size_t(o.threads) * peak_live(footprint(sizeof(Node)), array);
}

void gcbench_run(const Options& o, Record&) {
  if (o.threads == 1) {
    one_gcbench();
    return;
  }
  Threads threads;
  for (int t = 0; t < o.threads; ++t) threads.spawn(one_gcbench);
  threads.join();
}

}  // namespace bench::boehm
