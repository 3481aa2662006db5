// binary-trees (the Computer Language Benchmarks Game) on Boehm: a stretch tree, a long-lived tree,
// then for each depth 4, 6, .. max, 2^(max - depth + 4) trees built bottom-up and checked. The
// iterations of each depth are split evenly over the threads, as the parallel entries do.
#include <stdexcept>
#include <string>

#include "boehm/runtime.hpp"
#include "common/workloads.hpp"

namespace bench::boehm {
namespace {

using namespace bench::binary_trees;

struct TreeNode {
  TreeNode* left;
  TreeNode* right;
};

TreeNode* bottom_up_tree(int depth) {
  auto* n = static_cast<TreeNode*>(alloc(sizeof(TreeNode)));
  if (depth > 0) {
    n->left = bottom_up_tree(depth - 1);
    n->right = bottom_up_tree(depth - 1);
  }
  return n;
}

std::uint64_t item_check(const TreeNode* n) {
  return n->left == nullptr ? 1 : 1 + item_check(n->left) + item_check(n->right);
}

void expect(std::uint64_t got, std::uint64_t want, const char* what) {
  if (got != want)
    throw std::runtime_error(std::string("binary-trees: wrong check for ") + what + ": " +
                             std::to_string(got) + " != " + std::to_string(want));
}

}  // namespace

std::size_t binary_trees_live(const Options& o) {
  return peak_live(max_depth(o.depth < 0 ? kDefaultDepth : o.depth), o.threads,
                   footprint(sizeof(TreeNode)));
}

void binary_trees_run(const Options& o, Record& rec) {
  const int max_d = max_depth(o.depth < 0 ? kDefaultDepth : o.depth);
  expect(item_check(bottom_up_tree(max_d + 1)), binary_tree_nodes(max_d + 1), "the stretch tree");

  TreeNode* long_lived = bottom_up_tree(max_d);
  rec.mark("long-lived tree built");

  const int ndepths = (max_d - kMinDepth) / 2 + 1;
  std::vector<std::uint64_t> checks(std::size_t(ndepths) * o.threads, 0);
  Threads threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.spawn([&, t] {
      for (int k = 0; k < ndepths; ++k) {
        const int d = kMinDepth + 2 * k;
        const std::uint64_t n = iterations(max_d, d);
        const std::uint64_t lo = n * t / o.threads, hi = n * (t + 1) / o.threads;
        std::uint64_t check = 0;
        for (std::uint64_t i = lo; i < hi; ++i) check += item_check(bottom_up_tree(d));
        checks[std::size_t(k) * o.threads + t] = check;
      }
    });
  }
  threads.join();
  for (int k = 0; k < ndepths; ++k) {
    const int d = kMinDepth + 2 * k;
    std::uint64_t sum = 0;
    for (int t = 0; t < o.threads; ++t) sum += checks[std::size_t(k) * o.threads + t];
    expect(sum, iterations(max_d, d) * binary_tree_nodes(d), "a depth's trees");
  }
  expect(item_check(long_lived), binary_tree_nodes(max_d), "the long-lived tree");
}

}  // namespace bench::boehm
