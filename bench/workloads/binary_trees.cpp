// binary-trees (the Computer Language Benchmarks Game): a stretch tree, a long-lived tree, then for
// each depth 4, 6, .. max, 2^(max - depth + 4) trees built bottom-up and checked. The iterations of
// each depth are split evenly over the threads, as the parallel entries do.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/workloads.hpp"
#include "workloads/table.hpp"

namespace bench {
namespace {

using namespace bench::binary_trees;
using gc::LocalRoot;
using gc::make;

struct TreeNode : gc::Managed<TreeNode> {
  gc::Field<TreeNode> left, right;
  void trace(gc::Tracer& t) const {
    t.trace(left);
    t.trace(right);
  }
};

// The allocation order each collector's version has always used, kept so that the figures stay
// comparable with earlier runs: on tricolor children first, each rooted while the next allocation
// runs, then the parent; on Boehm the parent first, its children hung on it as they are built
// (nothing needs rooting: Boehm scans the stack). The order matters: Boehm building children first
// took 15-20% less CPU (depth 16, one thread, five interleaved runs each way), so unifying it is a
// change of what Boehm's column measures, to be made on purpose.
constexpr bool kParentFirst = std::string_view(gc::kName) == "boehm";

TreeNode* bottom_up_tree(int depth) {
  if constexpr (kParentFirst) {
    TreeNode* n = make<TreeNode>();
    if (depth > 0) {
      n->left = bottom_up_tree(depth - 1);
      n->right = bottom_up_tree(depth - 1);
    }
    return n;
  } else {
    if (depth <= 0) return make<TreeNode>();
    LocalRoot<TreeNode> l(bottom_up_tree(depth - 1));
    LocalRoot<TreeNode> r(bottom_up_tree(depth - 1));
    TreeNode* n = make<TreeNode>();
    n->left = l.get();
    n->right = r.get();
    return n;
  }
}

// Does not allocate: ticks the back end's poll, so a collection never waits for a whole walk.
std::uint64_t item_check(const TreeNode* n, gc::WalkPoll& poll) {
  poll.tick();
  return n->left == nullptr ? 1 : 1 + item_check(n->left, poll) + item_check(n->right, poll);
}
std::uint64_t item_check(const TreeNode* n) {
  gc::WalkPoll poll;
  return item_check(n, poll);
}

void expect(std::uint64_t got, std::uint64_t want, const char* what) {
  if (got != want)
    throw std::runtime_error(std::string("binary-trees: wrong check for ") + what + ": " +
                             std::to_string(got) + " != " + std::to_string(want));
}

// In a frame of its own, so that no stack slot keeps the stretch tree alive afterwards (Boehm scans
// stacks conservatively).
[[gnu::noinline]] void stretch(int max_d) {
  LocalRoot<TreeNode> tree(bottom_up_tree(max_d + 1));
  expect(item_check(tree), binary_tree_nodes(max_d + 1), "the stretch tree");
}

}  // namespace

std::size_t binary_trees_live(const Options& o) {
  return peak_live(max_depth(o.depth < 0 ? kDefaultDepth : o.depth), o.threads, gc::footprint<TreeNode>());
}

void binary_trees_run(const Options& o, Record& rec, gc::Runtime& rt) {
  const int max_d = max_depth(o.depth < 0 ? kDefaultDepth : o.depth);
  stretch(max_d);
  LocalRoot<TreeNode> long_lived(bottom_up_tree(max_d));
  rec.mark("long-lived tree built");

  const int ndepths = (max_d - kMinDepth) / 2 + 1;
  std::vector<std::uint64_t> checks(std::size_t(ndepths) * o.threads, 0);
  gc::Threads threads(rt);
  for (int t = 0; t < o.threads; ++t) {
    threads.spawn("binary-trees", [&, t] {
      for (int k = 0; k < ndepths; ++k) {
        const int d = kMinDepth + 2 * k;
        const std::uint64_t n = iterations(max_d, d);
        const std::uint64_t lo = n * t / o.threads, hi = n * (t + 1) / o.threads;
        std::uint64_t check = 0;
        for (std::uint64_t i = lo; i < hi; ++i) {
          LocalRoot<TreeNode> tree(bottom_up_tree(d));
          check += item_check(tree);
        }
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

}  // namespace bench
