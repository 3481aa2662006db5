// A reachability walk from every root of a heap, breadth first, with parent links: the one walker
// that the verifier, LeakCheck, retainers() and path queries share. Because it is breadth first from
// all roots at once, the parent chain of a node is a shortest path (in edges) from some root.
//
// Invariant: the world is stopped (or the heap quiescent) for the whole of run() and for as long as
// nodes() and roots() are read: nodes point at objects and roots at threads' RootNodes and names.
//
// Ephemerons: the verifier asks "is it marked" of a key, because marking decided liveness
// (kMarkedKeys). Outside a cycle the mark bits are clear, so the introspection tools compute it here
// instead (kReachableKeys): a value is followed once the walk has reached its key, iterated to a
// fixpoint like process_weak_references does.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tricolor/leak_check.hpp"
#include "tricolor/tracer.hpp"

namespace tricolor::internal {

class HeapImpl;
struct ThreadState;

class HeapWalk {
 public:
  static constexpr std::size_t kRoot = SIZE_MAX;

  struct Node {
    const void* obj;
    std::size_t parent;  // index into nodes(), or kRoot
    const char* field;   // field name in the parent, or what a root callback named; may be null
    std::size_t index;   // array index in the field, or Tracer::kNoIndex
    std::uint32_t root;  // index into roots() of the root this path starts at
  };
  // One root, described without building strings (the verifier walks after every test cycle).
  struct RootInfo {
    RootKind kind;
    const char* name;            // the Root's, Global's or callback's name; may be null
    const ThreadState* thread;   // thread roots and thread callbacks; null otherwise
    std::string description() const;  // "thread #1 \"main\" Root \"list\"", "Global \"cache\"", ...
    std::string thread_name() const;
  };
  enum class Ephemerons { kMarkedKeys, kReachableKeys };
  struct Options {
    Ephemerons ephemerons = Ephemerons::kMarkedKeys;
    // Roots for which this returns true are not walked (LeakCheck's ignore_root).
    std::function<bool(const RootInfo&)> skip_root;
    // Called for every strong edge, including those to objects already visited (retainers()).
    // parent is kRoot for a root's edge; then root names it.
    std::function<void(std::size_t parent, std::uint32_t root, const void* child, const char* field,
                       std::size_t index)>
        on_edge;
  };

  explicit HeapWalk(HeapImpl& h) : h_(h) {}
  // Walks from every root. on_object(obj) is called once per reached object, in breadth-first order;
  // returning false leaves that object's fields unvisited (the walk does not pass through it).
  void run(const std::function<bool(const void* obj)>& on_object) { run(on_object, Options{}); }
  void run(const std::function<bool(const void* obj)>& on_object, const Options& options);

  const std::vector<Node>& nodes() const { return nodes_; }
  const std::deque<RootInfo>& roots() const { return roots_; }
  // The node of obj, or kRoot when the walk did not reach it.
  std::size_t find(const void* obj) const {
    auto it = index_.find(obj);
    return it == index_.end() ? kRoot : it->second;
  }
  // "Global \"cache\" -> Cache @0x1000.table -> Table @0x2000" (the verifier's format).
  std::string path_to(std::size_t node) const;
  // The same path as structured steps, for reports.
  RetentionPath retention_path(std::size_t node) const;
  // A path that is only the root (no steps yet).
  RetentionPath root_path(std::uint32_t root) const;

 private:
  HeapImpl& h_;
  std::vector<Node> nodes_;
  std::deque<RootInfo> roots_;  // a deque: nodes keep indices, reports keep references
  std::unordered_map<const void*, std::size_t> index_;
};

}  // namespace tricolor::internal
