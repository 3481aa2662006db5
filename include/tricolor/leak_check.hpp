// Leak checking and heap introspection. In a collected heap a leak is an object that is still
// reachable but no longer used: a cache with lazy expiry that only grows, a closure left in a
// listener list, a forgotten Global. These tools find such objects and say what keeps them alive.
//
//   tricolor::LeakCheck scope(heap);          // remembers where the scope starts
//   run_the_code_under_test();
//   REQUIRE_THAT(scope.check(), tricolor::NoLeaks());   // tricolor/leak_check_catch2.hpp
//
// What a scope reports (the rule, exactly). A LeakCheck S is opened on an attached thread T of heap H;
// opening it stops the world for a moment and gives every thread of H a fresh allocation epoch, so
// "allocated inside S" is exact for every thread, whatever it was doing. check() runs a full
// collection, stops the world, and walks everything reachable from H's roots. It reports a reachable
// object X when either
//   (a) T allocated X after S opened, or
//   (b) another thread allocated X after S opened, and X is reachable only through objects of kind (a)
//       (S's own leaks keep it alive; without them it would be garbage).
// Objects other threads allocate and keep alive by their own means (their Roots, Globals, objects
// allocated before S) are never blamed on S, nor is anything allocated before S opened, nor anything
// unreachable. Objects of an ignored type are not reported and the walk does not pass through them
// (what only they keep alive is ignored too); ignored roots are not walked.
//
// Each reported group (one per type) has the count and bytes (heap bytes: the size-class slot with its
// header, or a large object's pages), the shortest retention path of its first few objects (the root
// kind and name, then every field from the root to the object), and, with allocation sites on
// (Config::alloc_sites, TRICOLOR_ALLOC_SITES), the symbolised stacks that allocated them.
//
// Heap introspection (methods of Heap, declared in heap.hpp):
//   heap.snapshot()              per-type live counts and bytes after a full collection; diff, JSON
//   heap.path_to(obj)            the shortest retention path of obj ("why is this alive")
//   heap.retainers(obj)          every root and object that references obj directly
//   heap.heap_profile()          a pprof heap profile (profile.proto) of the sampled allocations
//   heap.take_found_leaks()      find-leak mode: objects that died without tricolor::release()
//
// All of these stop the world while they read the heap (a walk or a span scan); none runs on the
// allocation fast path. Results hold object addresses for reference only: an address in a report is
// not a root and may be reused after the next collection.
#pragma once
#include "tricolor/internal/api.hpp"
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tricolor {

class Heap;

enum class RootKind : std::uint8_t {
  kThreadRoot,      // a Root<T> on a thread's stack
  kThreadCallback,  // a thread's root callback (Mutator::add_roots)
  kGlobal,          // a Global<T>
  kHeapCallback,    // a heap-wide root callback (Heap::add_roots)
  kFinalizerQueue,  // an unreachable object waiting for its finalizer
};
TRICOLOR_API const char* to_string(RootKind k);

// One edge of a retention path: the previous object's (or the root's) `field`, at `index` for
// arrays, refers to `object` of type `type`.
struct PathStep {
  std::string field;                // empty for the root's own edge, "?" for an unnamed field
  std::size_t index = SIZE_MAX;     // trace_array index, SIZE_MAX for plain fields
  std::string type;
  const void* object = nullptr;
};

struct TRICOLOR_API RetentionPath {
  RootKind root_kind = RootKind::kThreadRoot;
  std::string root_name;    // the Root's / Global's / callback's name ("" when unnamed)
  std::string root_thread;  // thread roots and callbacks: "#1 \"main\""; empty otherwise
  std::string root;         // the root as a whole: "thread #1 \"main\" Root \"list\"", "Global \"cache\""
  std::vector<PathStep> steps;  // steps.front() is what the root holds, steps.back() the object asked about
  // `Global "cache" -> Cache.table -> Table.slots[3] -> Entry`
  std::string to_string() const;
};

// An object that references another directly (Heap::retainers), with its own path.
struct Retainer {
  bool is_root = false;         // the reference is the root itself (then path.steps is empty)
  const void* object = nullptr;  // the referring object (null for a root)
  std::string type;             // its type
  std::string field;            // the field that holds the reference
  std::size_t index = SIZE_MAX;
  RetentionPath path;           // how the referring object (or the root) is reached
};

// A symbolised allocation stack: frames innermost first, each "function  file:line" (or
// "module+0xoffset" without symbols), tricolor's own allocation frames removed.
struct TRICOLOR_API AllocSite {
  std::vector<std::string> frames;
  std::size_t count = 0;  // objects of the group allocated here (sampled ones only)
  std::string to_string(std::size_t max_frames = 8, const char* indent = "") const;
};

struct LeakedObject {
  const void* object = nullptr;
  RetentionPath path;  // empty steps for find-leak reports (the object was unreachable)
};

struct LeakGroup {
  std::string type;
  std::size_t count = 0;
  std::size_t bytes = 0;
  std::vector<LeakedObject> examples;  // the first few, shortest paths first
  std::vector<AllocSite> sites;        // most frequent first; empty when sites are off
  std::size_t sampled = 0;             // how many of `count` have a recorded site
};

struct TRICOLOR_API LeakReport {
  std::string title;  // what produced it: "tricolor::LeakCheck", "tricolor find-leak"
  std::string what;   // what its objects are: "allocated in the scope and still reachable"
  std::vector<LeakGroup> groups;  // by bytes, largest first
  std::size_t objects = 0;
  std::size_t bytes = 0;
  std::size_t ignored = 0;  // reachable objects of the scope skipped by ignore_type / ignore_root

  bool empty() const { return objects == 0; }
  const LeakGroup* find(std::string_view type) const;
  std::size_t count(std::string_view type) const;
  std::string to_string() const;
};

// ---- LeakCheck

class TRICOLOR_API LeakCheck {
 public:
  // Opens the scope on the calling thread, which must be attached to heap.
  explicit LeakCheck(Heap& heap);
  // A scope that was never check()ed checks itself here and, if it finds leaks, stops the program
  // with the report (unless an exception is unwinding: the test has failed already).
  ~LeakCheck();
  LeakCheck(const LeakCheck&) = delete;
  LeakCheck& operator=(const LeakCheck&) = delete;

  // Allowances, for intentional caches. Patterns are globs where '*' matches any run of characters.
  // ignore_type: objects whose type name matches are not reported, and what only they keep alive is
  // not reported either. ignore_root: roots whose name or description ("Global \"cache\"", "thread
  // #2 \"io\" Root \"buf\"") matches are not walked.
  LeakCheck& ignore_type(std::string glob);
  LeakCheck& ignore_root(std::string glob);
  // How many retention paths to print per type (default 3).
  LeakCheck& max_paths_per_type(std::size_t n);

  // Runs a full collection and reports what the scope left reachable (see the rule above). May be
  // called more than once; each call reports everything allocated since the scope opened.
  LeakReport check();

 private:
  Heap& heap_;
  std::uint32_t start_epoch_;
  std::uint64_t thread_ordinal_;
  void* thread_;
  int uncaught_;
  bool checked_ = false;
  std::size_t max_paths_ = 3;
  std::vector<std::string> ignored_types_;
  std::vector<std::string> ignored_roots_;
};

// Find-leak mode (Config::find_leak, TRICOLOR_FIND_LEAK): declares that the program is done with
// obj. A released object is freed when it becomes unreachable, as usual; a tracked object that
// becomes unreachable without having been released is reported by Heap::take_found_leaks() (and on
// stderr when the heap is destroyed with reports nobody took). No effect when the mode is off.
// obj must be an object of the calling thread's heap.
TRICOLOR_API void release(const void* obj);

// ---- Snapshots

struct TypeCount {
  std::string type;
  std::size_t count = 0;
  std::size_t bytes = 0;
};

struct TypeDelta {
  std::string type;
  std::int64_t count = 0;
  std::int64_t bytes = 0;
};

struct TRICOLOR_API SnapshotDiff {
  std::vector<TypeDelta> types;  // the types whose count or bytes changed, largest |bytes| first
  std::int64_t objects = 0;
  std::int64_t bytes = 0;
  std::uint64_t cycle = 0;        // the later snapshot's cycle (HeapSnapshot::cycle)
  std::uint64_t since_cycle = 0;  // the earlier snapshot's cycle
  std::int64_t count(std::string_view type) const;
  // {"cycle":N,"since_cycle":N,"objects":N,"bytes":N,"types":[{"type":"T","count":N,"bytes":N},...]}
  std::string to_json() const;
  std::string to_string(std::size_t max_rows = 20) const;
};

// Every allocated object of the heap right after a full collection and sweep, per type. Objects
// that other threads allocate between the collection and the (brief) stop are counted too.
struct TRICOLOR_API HeapSnapshot {
  std::vector<TypeCount> types;  // largest bytes first
  std::size_t objects = 0;
  std::size_t bytes = 0;
  std::uint64_t cycle = 0;  // Stats::cycles when it was taken

  const TypeCount* find(std::string_view type) const;
  std::size_t count(std::string_view type) const;
  std::size_t bytes_of(std::string_view type) const;
  // {"cycle":N,"objects":N,"bytes":N,"types":[{"type":"T","count":N,"bytes":N},...]}
  std::string to_json() const;
  std::string to_string(std::size_t max_rows = 20) const;
};

// after - before, per type.
TRICOLOR_API SnapshotDiff diff(const HeapSnapshot& before, const HeapSnapshot& after);

}  // namespace tricolor
