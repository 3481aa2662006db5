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

}  // namespace bench
