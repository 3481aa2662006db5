// binary-trees (the Computer Language Benchmarks Game) on tricolor; the same steps and thread split
// as bench/boehm/binary_trees.cpp.
#include <stdexcept>
#include <string>

#include "common/workloads.hpp"
#include "tricolor/runtime.hpp"

namespace bench::tc {
namespace {

using namespace bench::binary_trees;
using tricolor::make;
using tricolor::Member;
using tricolor::Root;

struct TreeNode : tricolor::Object<TreeNode> {
  Member<TreeNode> left, right;
  void trace(tricolor::Tracer& t) const {
    t.trace(left);
    t.trace(right);
  }
};

// Children first, each rooted while the next allocation runs; then the parent.
TreeNode* bottom_up_tree(int depth) {
  if (depth <= 0) return make<TreeNode>();
  Root<TreeNode> l(bottom_up_tree(depth - 1));
  Root<TreeNode> r(bottom_up_tree(depth - 1));
  TreeNode* n = make<TreeNode>();
  n->left = l.get();
  n->right = r.get();
  return n;
}

// Does not allocate: polls for handshakes every few thousand nodes so a collection never waits for a
// whole walk of a large tree.
std::uint64_t item_check(const TreeNode* n, std::uint32_t& since_poll) {
  if (++since_poll == 4096) {
    since_poll = 0;
    tricolor::safepoint();
  }
  return n->left.get() == nullptr ? 1 : 1 + item_check(n->left, since_poll) + item_check(n->right, since_poll);
}
std::uint64_t item_check(const TreeNode* n) {
  std::uint32_t since_poll = 0;
  return item_check(n, since_poll);
}

void expect(std::uint64_t got, std::uint64_t want, const char* what) {
  if (got != want)
    throw std::runtime_error(std::string("binary-trees: wrong check for ") + what + ": " +
                             std::to_string(got) + " != " + std::to_string(want));
}

}  // namespace

std::size_t binary_trees_live(const Options& o) {
  return peak_live(max_depth(o.depth < 0 ? kDefaultDepth : o.depth), o.threads, footprint<TreeNode>());
}

void binary_trees_run(const Options& o, Record& rec, tricolor::Heap& heap) {
  const int max_d = max_depth(o.depth < 0 ? kDefaultDepth : o.depth);
  {
    Root<TreeNode> stretch(bottom_up_tree(max_d + 1));
    expect(item_check(stretch), binary_tree_nodes(max_d + 1), "the stretch tree");
  }
  Root<TreeNode> long_lived(bottom_up_tree(max_d));
  rec.mark("long-lived tree built");

  const int ndepths = (max_d - kMinDepth) / 2 + 1;
  std::vector<std::uint64_t> checks(std::size_t(ndepths) * o.threads, 0);
  Threads threads(heap);
  for (int t = 0; t < o.threads; ++t) {
    threads.spawn("binary-trees", [&, t] {
      for (int k = 0; k < ndepths; ++k) {
        const int d = kMinDepth + 2 * k;
        const std::uint64_t n = iterations(max_d, d);
        const std::uint64_t lo = n * t / o.threads, hi = n * (t + 1) / o.threads;
        std::uint64_t check = 0;
        for (std::uint64_t i = lo; i < hi; ++i) {
          Root<TreeNode> tree(bottom_up_tree(d));
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

}  // namespace bench::tc
