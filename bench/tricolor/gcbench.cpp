// GCBench (John Ellis and Pete Kovac, C++ port by Hans Boehm) on tricolor; the same steps as
// bench/boehm/gcbench.cpp. gcbench-mt runs the whole benchmark in each of N attached threads.
#include <stdexcept>

#include "common/workloads.hpp"
#include "tricolor/runtime.hpp"

namespace bench::tc {
namespace {

using namespace bench::gcbench;
using tricolor::make;
using tricolor::Member;
using tricolor::Root;

struct Node : tricolor::Object<Node> {
  Member<Node> left, right;
  int i = 0, j = 0;  // unused payload, as in the original
  void trace(tricolor::Tracer& t) const {
    t.trace(left);
    t.trace(right);
  }
};

// Builds the tree top-down. `node` is reachable from the caller's Root through fields nobody
// overwrites, so it stays valid across the allocations below (see runtime.hpp); each new child is
// stored into it before the next allocation.
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
  Root<Node> l(make_tree(depth - 1));
  Root<Node> r(make_tree(depth - 1));
  Node* n = make<Node>();
  n->left = l.get();
  n->right = r.get();
  return n;
}

// The walk does not allocate, so it polls for handshakes itself: a collection that starts meanwhile
// must not wait for the whole walk.
std::uint64_t count(const Node* n, std::uint64_t& since_poll) {
  if (n == nullptr) return 0;
  if (++since_poll == 4096) {
    since_poll = 0;
    tricolor::safepoint();
  }
  return 1 + count(n->left, since_poll) + count(n->right, since_poll);
}
std::uint64_t count(const Node* n) {
  std::uint64_t since_poll = 0;
  return count(n, since_poll);
}

void time_construction(int depth) {
  const std::uint64_t iters = num_iters(depth);
  for (std::uint64_t i = 0; i < iters; ++i) {
    Root<Node> temp(make<Node>());
    populate(depth, temp);
  }
  for (std::uint64_t i = 0; i < iters; ++i) {
    Root<Node> temp(make_tree(depth));
  }
}

void one_gcbench() {
  {
    Root<Node> stretch(make_tree(kStretchTreeDepth));
    if (count(stretch) != binary_tree_nodes(kStretchTreeDepth))
      throw std::runtime_error("gcbench: stretch tree has the wrong size");
  }
  Root<Node> long_lived(make<Node>());
  populate(kLongLivedTreeDepth, long_lived);
  Root<double> array(tricolor::make_buffer_of<double>(kArraySize));
  for (int i = 0; i < kArraySize / 2; ++i) array.get()[i] = 1.0 / i;

  for (int d = kMinTreeDepth; d <= kMaxTreeDepth; d += 2) time_construction(d);

  if (array.get()[1000] != 1.0 / 1000 || count(long_lived) != binary_tree_nodes(kLongLivedTreeDepth))
    throw std::runtime_error("gcbench: long-lived data was damaged");
}

}  // namespace

std::size_t gcbench_live(const Options& o) {
  return std::size_t(o.threads) *
         peak_live(footprint<Node>(), large_footprint(sizeof(double) * kArraySize));
}

void gcbench_run(const Options& o, Record&, tricolor::Heap& heap) {
  if (o.threads == 1) {
    one_gcbench();
    return;
  }
  Threads threads(heap);
  for (int t = 0; t < o.threads; ++t) threads.spawn("gcbench", one_gcbench);
  threads.join();
}

}  // namespace bench::tc
