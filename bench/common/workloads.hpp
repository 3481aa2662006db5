// The parameters of the macro workloads, shared by the tricolor and Boehm versions so that both do
// exactly the same work: tree shapes, iteration counts, and the peak live data from which each heap
// limit is derived.
//
// Live data is counted in each collector's own footprint (the slot a node really occupies: tricolor
// adds an 8-byte header and rounds to a size class; Boehm rounds to 16-byte granules and, with
// interior pointers on as Debian builds it, adds one byte first). "Heap = 2.5x live" then means
// 2.5x of what that collector itself must keep, which is the same pressure for both.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace bench {

// Nodes in a complete binary tree of the given depth (a single node has depth 0).
constexpr std::uint64_t binary_tree_nodes(int depth) { return (std::uint64_t{2} << depth) - 1; }
// Nodes in a complete quad tree of the given depth.
constexpr std::uint64_t quad_tree_nodes(int depth) {
  return ((std::uint64_t{1} << (2 * (depth + 1))) - 1) / 3;
}
static_assert(quad_tree_nodes(0) == 1 && quad_tree_nodes(1) == 5 && quad_tree_nodes(3) == 85);
static_assert(binary_tree_nodes(0) == 1 && binary_tree_nodes(2) == 7);

// GCBench (Ellis, Kovac, Boehm), with its original constants.
namespace gcbench {
inline constexpr int kStretchTreeDepth = 18;
inline constexpr int kLongLivedTreeDepth = 16;
inline constexpr int kArraySize = 500'000;
inline constexpr int kMinTreeDepth = 4;
inline constexpr int kMaxTreeDepth = 16;

// Trees built per depth: enough that every depth allocates about twice the stretch tree.
constexpr std::uint64_t num_iters(int depth) {
  return 2 * binary_tree_nodes(kStretchTreeDepth) / binary_tree_nodes(depth);
}
// Peak live bytes of one GCBench instance: the stretch tree alone, or later the long-lived tree, the
// array and one temporary tree of the deepest size.
constexpr std::size_t peak_live(std::size_t node_bytes, std::size_t array_bytes) {
  return std::max<std::size_t>(binary_tree_nodes(kStretchTreeDepth) * node_bytes,
                               binary_tree_nodes(kLongLivedTreeDepth) * node_bytes + array_bytes +
                                   binary_tree_nodes(kMaxTreeDepth) * node_bytes);
}
}  // namespace gcbench

// binary-trees (the Computer Language Benchmarks Game), depth loop split over threads.
namespace binary_trees {
inline constexpr int kMinDepth = 4;
inline constexpr int kDefaultDepth = 19;   // the standard run is 21 (--full)
constexpr int max_depth(int n) { return std::max(kMinDepth + 2, n); }
constexpr std::uint64_t iterations(int max_depth, int depth) {
  return std::uint64_t{1} << (max_depth - depth + kMinDepth);
}
// The stretch tree alone, or later the long-lived tree plus one tree of the largest depth per thread.
constexpr std::size_t peak_live(int max_depth, int threads, std::size_t node_bytes) {
  return std::max<std::size_t>(
      binary_tree_nodes(max_depth + 1) * node_bytes,
      (1 + static_cast<std::size_t>(threads)) * binary_tree_nodes(max_depth) * node_bytes);
}
}  // namespace binary_trees

// quad-tree churn: a long-lived quad tree, then rounds of short-lived depth-3 trees.
namespace quad_tree {
inline constexpr int kDefaultDepth = 10;   // the standard run is 11 (~270 MB live, --full)
inline constexpr int kChurnDepth = 3;
// Each round allocates heap/7.5 bytes of churn trees, heap = multiple x live. Counted in nodes, not
// bytes, so both collectors build the same number of trees whatever their node footprint.
inline std::uint64_t churn_trees_per_round(int depth, double heap_multiple) {
  const double m = heap_multiple > 0 ? heap_multiple : 2.5;
  const double nodes = m * static_cast<double>(quad_tree_nodes(depth)) / 7.5;
  return static_cast<std::uint64_t>(nodes / static_cast<double>(quad_tree_nodes(kChurnDepth))) + 1;
}
// Check values, so that a node freed too early and reused by a churn tree is noticed.
constexpr std::uint64_t live_check(int depth) { return 0x4c49564500000000ull | unsigned(depth); }
constexpr std::uint64_t churn_check(int depth) { return 0x4348524e00000000ull | unsigned(depth); }
constexpr std::size_t peak_live(int depth, int threads, std::size_t node_bytes) {
  return (quad_tree_nodes(depth) + static_cast<std::size_t>(threads) * quad_tree_nodes(kChurnDepth)) *
         node_bytes;
}
}  // namespace quad_tree

// A quad tree of exactly n nodes, as balanced as it can be: the root's n - 1 descendants are split
// as evenly as possible over its four subtrees, recursively. Used where the live heap is given in
// bytes rather than as a depth (mark-scaling, rss-return). Every node's check value is the tag
// mixed with the size of the subtree it roots, so a node freed early and reused is noticed.
namespace sized_tree {
// Nodes in subtree k (0..3) of a tree of n nodes.
constexpr std::uint64_t kid_nodes(std::uint64_t n, int k) {
  if (n <= 1) return 0;
  const std::uint64_t rest = n - 1;
  return rest / 4 + (std::uint64_t(k) < rest % 4 ? 1 : 0);
}
static_assert(kid_nodes(5, 0) == 1 && kid_nodes(6, 0) == 2 && kid_nodes(6, 1) == 1 && kid_nodes(1, 3) == 0);
constexpr std::uint64_t check(std::uint64_t tag, std::uint64_t n) { return tag ^ (n * 0x9e3779b97f4a7c15ull); }
inline constexpr std::uint64_t kBigTag = 0x4249470000000000ull;     // rss-return: the tree that is dropped
inline constexpr std::uint64_t kSmallTag = 0x534d4c0000000000ull;   // rss-return: the tree that stays
inline constexpr std::uint64_t kScaleTag = 0x5343414c00000000ull;   // mark-scaling
// Nodes whose footprint adds up to about `mb` MiB (at least one).
inline std::uint64_t nodes_for_mb(double mb, std::size_t node_bytes) {
  const double n = mb * 1048576.0 / double(node_bytes);
  return n < 1 ? 1 : static_cast<std::uint64_t>(n);
}
}  // namespace sized_tree

// Marking throughput against the number of marker threads: one live quad tree of about live_mb MiB
// (nothing else in the heap, no automatic collections while it is built), then a warm-up and
// `collections` timed full collections; one process per marker count (tools/report.py).
namespace mark_scaling {
inline constexpr double kDefaultLiveMb = 200;   // --full: 1024 (scaled down by tools/report.py to fit memory)
inline constexpr int kDefaultCollections = 4;
}  // namespace mark_scaling

// Memory back to the OS: grow the live heap to live_mb MiB of tree data (plus a small_mb tree that
// stays), drop the big tree, and sample RSS every 10 ms until it is below 2x the remaining live data
// or limit_s has passed. Modes after the drop:
//   idle     nothing: the program sleeps (only the collector's own threads can act);
//   collect  one explicit full collection (heap.collect() / GC_gcollect()), then sleep;
//   churn    no explicit collection; the main thread allocates churn_mb_s MiB/s of short-lived
//            depth-3 quad trees in 1 ms ticks (the collector must notice the drop by itself).
namespace rss_return {
inline constexpr double kDefaultLiveMb = 300;   // --full: 1024
inline constexpr double kDefaultSmallMb = 10;
inline constexpr double kDefaultLimitS = 10;
inline constexpr double kDefaultChurnMbS = 32;
inline constexpr std::uint64_t kSampleNs = 10'000'000;
inline constexpr std::uint64_t kChurnTickNs = 1'000'000;
inline constexpr int kChurnDepth = 3;
inline constexpr std::uint64_t kChurnTag = 0x4348524e00000000ull;
}  // namespace rss_return

}  // namespace bench
