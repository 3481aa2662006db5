// libFuzzer harness: the input is a heap configuration followed by a sequence of API operations on
// one thread (allocate small, variable-size and large objects and pointer-free buffers; link and
// unlink fields; push, pop and set Roots; set and clear Globals; set and read Weak references;
// collect; safepoint), each checked against a shadow model of the object graph.
//
// The model knows every object by id and which ids are reachable from the roots. Invariants checked:
//  1. A reachable object is intact (id, check value, payload pattern, buffer pattern) whenever read.
//  2. No object is destroyed while the model says it is reachable (destructors log their ids; the log
//     is checked after every operation), and none twice.
//  3. After collect() (a full cycle that started after the call; this thread is blocked throughout, so
//     marking sees exactly the model's graph): the number of live objects equals the reachable count,
//     and every weak reference to an unreachable object reads null.
//  4. A Weak to a reachable object never reads null; one to an object already known dead never reads
//     non-null. A Weak that still reads an unreachable object may resurrect it (stored in a Root): the
//     object and everything it references must then be intact (the read barrier's job).
//  5. The verifier is on: it aborts on any reachable object left unmarked by a cycle.
// Each input gets a fresh heap, so a crash reproduces from the input alone (up to thread timing: the
// collector's own threads run concurrently with the operations).
//
// Input layout (tests/fuzz/make_corpus.py writes it): byte 0 and 1 configure the heap (see
// config_from); then each operation is an opcode byte followed by its argument bytes (kArgs). Missing
// bytes read as zero.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include "tricolor/tricolor.hpp"

using namespace tricolor;

namespace {

[[noreturn]] void fail(const char* what, std::uint64_t id) {
  std::fprintf(stderr, "api_fuzz: model violation: %s (object id %llu)\n", what, static_cast<unsigned long long>(id));
  std::abort();
}

// Destructor log: destructors run on whichever thread sweeps (this one, the controller or the
// background sweeper).
std::mutex g_log_mu;
std::vector<std::uint64_t> g_destroyed_ids;
std::atomic<long> g_live{0};

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 31;
  x *= 0x7FB5D329728EA185ull;
  x ^= x >> 27;
  return x | 1;  // never 0: a zeroed (freed, reused) slot does not pass
}

unsigned char pattern(std::uint64_t seed, std::size_t i) { return static_cast<unsigned char>(mix(seed + i / 8) >> (i % 8)); }

struct FNode : Object<FNode> {
  static constexpr int kEdges = 4;
  FNode(std::uint64_t ident, std::size_t payload_bytes) : id(ident), check(mix(ident)), bytes(payload_bytes) {
    for (std::size_t i = 0; i < bytes; ++i) payload[i] = pattern(id, i);
    g_live.fetch_add(1, std::memory_order_relaxed);
  }
  ~FNode() {
    if (check != mix(id)) fail("destructor found the object corrupted (freed twice?)", id);
    check = 0;
    {
      std::lock_guard lock(g_log_mu);
      g_destroyed_ids.push_back(id);
    }
    g_live.fetch_sub(1, std::memory_order_relaxed);
  }
  void trace(Tracer& t) const {
    t.trace_array(edges, kEdges, "edges");
    t.trace(weak, "weak");
    t.trace(buffer, "buffer");
  }
  void verify() const {
    if (check != mix(id)) fail("check value corrupted: a reachable object was freed or overwritten", id);
    // Sample the payload: every byte of a small one, 64 spread over a big one.
    const std::size_t step = bytes <= 64 ? 1 : bytes / 64;
    for (std::size_t i = 0; i < bytes; i += step)
      if (payload[i] != pattern(id, i)) fail("payload corrupted", id);
    if (const unsigned char* b = buffer.get()) {
      const std::size_t bstep = buffer_len <= 64 ? 1 : buffer_len / 64;
      for (std::size_t i = 0; i < buffer_len; i += bstep)
        if (b[i] != pattern(buffer_seed, i)) fail("pointer-free buffer corrupted", id);
    }
  }

  Member<FNode> edges[kEdges];
  Weak<FNode> weak;
  Member<unsigned char> buffer;
  std::uint32_t buffer_len = 0;  // written only by the mutator, before buffer is stored
  std::uint64_t buffer_seed = 0;
  const std::uint64_t id;
  std::uint64_t check;
  const std::size_t bytes;
  unsigned char payload[1];
};

enum Op : std::uint8_t {
  kAllocSmall,   // dest
  kAllocVar,     // dest, size
  kAllocLarge,   // dest, size
  kAllocBuffer,  // node, size
  kLink,         // node, edge+target
  kUnlink,       // node, edge
  kPushRoot,     // node
  kPopRoot,
  kSetRoot,      // node (0xFF: null)
  kSetGlobal,    // global, node
  kClearGlobal,  // global
  kSetWeak,      // node, target
  kGetWeak,      // node, resurrect?
  kCollect,
  kSafepoint,
  kVerify,       // node
  kNumOps,
};
constexpr int kArgs[kNumOps] = {1, 2, 2, 2, 2, 2, 1, 0, 1, 2, 1, 2, 2, 0, 0, 1};

constexpr int kGlobals = 4;
constexpr std::size_t kMaxRoots = 64;

struct Input {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t pos = 0;
  bool done() const { return pos >= size; }
  std::uint8_t byte() { return pos < size ? data[pos++] : 0; }
};

// Byte 0: bit 0 stop-the-world, bits 1-2 marker threads (1 or 2), bit 3 an 8 MiB hard limit, bit 4
// no background sweeper. Byte 1: bits 0-1 gc_percent (25, 50, 100, 400), bits 2-3 initial heap.
Config config_from(std::uint8_t b0, std::uint8_t b1) {
  Config c;
  c.verify = true;
  c.concurrent = (b0 & 1) == 0;
  c.marker_threads = 1 + ((b0 >> 1) & 1);
  c.max_heap = (b0 & 8) ? std::size_t{8} << 20 : 0;
  c.background_sweeper = (b0 & 16) == 0;
  static constexpr int kPercent[] = {25, 50, 100, 400};
  c.gc_percent = kPercent[b1 & 3];
  c.initial_heap = std::size_t{256} << (10 + ((b1 >> 2) & 3));  // 256 KiB .. 2 MiB
  c.reserve = std::size_t{256} << 20;
  c.scavenge_delay_ms = 0;
  return c;
}

class Model {
 public:
  explicit Model(Heap& heap, bool limited) : limited_(limited) {
    for (auto& g : globals_) g = new Global<FNode>(heap, nullptr, "fuzz-global");
    std::fill(std::begin(global_ids_), std::end(global_ids_), kNone);
  }
  ~Model() {
    while (!roots_.empty()) pop_root();
    for (auto* g : globals_) delete g;
  }

  void run(Input& in, Heap& heap) {
    while (!in.done()) {
      const auto op = static_cast<Op>(in.byte() % kNumOps);
      std::uint8_t a[2] = {0, 0};
      for (int i = 0; i < kArgs[op]; ++i) a[i] = in.byte();
      apply(op, a, heap);
      check_destroyed();
    }
    // Drop everything: every object must be freed.
    while (!roots_.empty()) pop_root();
    for (int g = 0; g < kGlobals; ++g) set_global(g, kNone);
    collect(heap);
    if (g_live.load() != 0) fail("objects left alive after every root was dropped", std::uint64_t(g_live.load()));
  }

 private:
  static constexpr std::uint64_t kNone = ~std::uint64_t{0};
  enum class State : std::uint8_t { kReachable, kUnreachable, kDead };
  struct Obj {
    FNode* p;
    std::uint64_t edges[FNode::kEdges] = {kNone, kNone, kNone, kNone};
    std::uint64_t weak = kNone;
    State state = State::kUnreachable;  // until update_reachability finds it
    bool destroyed = false;
  };

  void apply(Op op, const std::uint8_t* a, Heap& heap) {
    switch (op) {
      case kAllocSmall: place(try_make<FNode>(next_id(), std::size_t{0}), a[0]); break;
      case kAllocVar: {
        const std::size_t n = std::size_t{a[1]} * 16;  // up to 4 KiB: many size classes
        place(try_make_with_trailing<FNode>(n, next_id(), n), a[0]);
        break;
      }
      case kAllocLarge: {
        const std::size_t n = internal::kMaxSmallSize + std::size_t{a[1]} * 1024;  // 32 KiB .. 287 KiB
        place(try_make_with_trailing<FNode>(n, next_id(), n), a[0]);
        break;
      }
      case kAllocBuffer: {
        const std::uint64_t id = pick(a[0]);
        if (id == kNone) break;
        // 0 .. 65 KiB: small and large pointer-free objects.
        const std::size_t len = a[1] < 240 ? std::size_t{a[1]} * 8 : (std::size_t{a[1]} - 239) * 4096;
        auto* b = static_cast<unsigned char*>(try_make_buffer(len));
        if (b == nullptr) {
          expect_limit();
          break;
        }
        const std::uint64_t seed = next_seed_++;
        for (std::size_t i = 0; i < len; ++i) b[i] = pattern(seed, i);
        FNode* n = objs_[id].p;  // reachable: its address stays valid across the allocation
        n->buffer_len = static_cast<std::uint32_t>(len);
        n->buffer_seed = seed;
        n->buffer = b;
        break;
      }
      case kLink: {
        const std::uint64_t from = pick(a[0]);
        const std::uint64_t to = pick(a[1] >> 2);
        if (from == kNone) break;
        set_edge(from, a[1] & 3, to);
        break;
      }
      case kUnlink: {
        const std::uint64_t from = pick(a[0]);
        if (from != kNone) set_edge(from, a[1] & 3, kNone);
        break;
      }
      case kPushRoot: {
        const std::uint64_t id = pick(a[0]);
        if (id != kNone && roots_.size() < kMaxRoots) push_root(id);
        break;
      }
      case kPopRoot:
        if (!roots_.empty()) pop_root();
        break;
      case kSetRoot:
        if (!roots_.empty()) {
          const std::uint64_t id = a[0] == 0xFF ? kNone : pick(a[0]);
          *roots_.back() = id == kNone ? nullptr : objs_[id].p;
          root_ids_.back() = id;
          update_reachability();
        }
        break;
      case kSetGlobal: set_global(a[0] % kGlobals, pick(a[1])); break;
      case kClearGlobal: set_global(a[0] % kGlobals, kNone); break;
      case kSetWeak: {
        const std::uint64_t from = pick(a[0]);
        if (from == kNone) break;
        const std::uint64_t to = pick(a[1]);
        objs_[from].p->weak = to == kNone ? nullptr : objs_[to].p;
        objs_[from].weak = to;
        break;
      }
      case kGetWeak: read_weak(pick(a[0]), (a[1] & 1) != 0); break;
      case kCollect: collect(heap); break;
      case kSafepoint: safepoint(); break;
      case kVerify: {
        const std::uint64_t id = pick(a[0]);
        if (id != kNone) verify_from(id);
        break;
      }
      case kNumOps: break;
    }
  }

  std::uint64_t next_id() { return objs_.size(); }

  // A new object goes into a Root, or into an edge of a reachable object (dest's low bit), with no
  // safepoint between its allocation and that store.
  void place(FNode* n, std::uint8_t dest) {
    if (n == nullptr) {
      expect_limit();
      return;
    }
    const std::uint64_t id = objs_.size();
    if (n->id != id) fail("constructor did not run", id);
    objs_.push_back(Obj{n});
    const std::uint64_t parent = (dest & 1) ? pick(dest >> 3) : kNone;
    if (parent != kNone) set_edge(parent, (dest >> 1) & 3, id);
    else if (roots_.size() < kMaxRoots) push_root(id);
    else set_global(dest % kGlobals, id);
  }

  void expect_limit() {
    if (!limited_) fail("allocation failed without a heap limit", objs_.size());
  }

  void set_edge(std::uint64_t from, unsigned e, std::uint64_t to) {
    objs_[from].p->edges[e] = to == kNone ? nullptr : objs_[to].p;
    objs_[from].edges[e] = to;
    update_reachability();
  }

  void push_root(std::uint64_t id) {
    roots_.push_back(new Root<FNode>(objs_[id].p, "fuzz-root"));
    root_ids_.push_back(id);
    update_reachability();
  }

  void pop_root() {
    delete roots_.back();
    roots_.pop_back();
    root_ids_.pop_back();
    update_reachability();
  }

  void set_global(int g, std::uint64_t id) {
    *globals_[g] = id == kNone ? nullptr : objs_[id].p;
    global_ids_[g] = id;
    update_reachability();
  }

  // One of the reachable objects, chosen by b (none if nothing is reachable).
  std::uint64_t pick(std::uint8_t b) const {
    return reachable_.empty() ? kNone : reachable_[b % reachable_.size()];
  }

  // Recomputes the reachable set from the roots and globals. An object leaving it becomes
  // kUnreachable: it may be freed from now on and is never dereferenced again (unless a Weak read
  // proves it still alive).
  void update_reachability() {
    for (std::uint64_t id : reachable_) objs_[id].state = State::kUnreachable;
    reachable_.clear();
    std::vector<std::uint64_t> stack(root_ids_.begin(), root_ids_.end());
    stack.insert(stack.end(), std::begin(global_ids_), std::end(global_ids_));
    while (!stack.empty()) {
      const std::uint64_t id = stack.back();
      stack.pop_back();
      if (id == kNone || objs_[id].state == State::kReachable) continue;
      if (objs_[id].state == State::kDead) fail("the model reached an object it knows is dead", id);
      objs_[id].state = State::kReachable;
      reachable_.push_back(id);
      for (std::uint64_t e : objs_[id].edges) stack.push_back(e);
    }
  }

  void read_weak(std::uint64_t from, bool resurrect) {
    if (from == kNone) return;
    const std::uint64_t target = objs_[from].weak;
    FNode* got = objs_[from].p->weak.get();
    if (target == kNone) {
      if (got != nullptr) fail("a null Weak read non-null", from);
      return;
    }
    Obj& t = objs_[target];
    if (got == nullptr) {
      if (t.state == State::kReachable) fail("Weak cleared while its target is reachable", target);
      t.state = State::kDead;  // cleared at a termination that found it unmarked
      objs_[from].weak = kNone;
      return;
    }
    if (got != t.p) fail("Weak reads a different object", target);
    if (t.state == State::kDead || t.destroyed) fail("Weak reads an object that is dead", target);
    got->verify();
    // Still alive though unreachable: the read made it strongly held. Keep it, and check all it reaches.
    if (resurrect && t.state == State::kUnreachable && roots_.size() < kMaxRoots) {
      push_root(target);
      verify_from(target);
    }
  }

  void verify_from(std::uint64_t start) {
    std::vector<std::uint64_t> stack{start};
    std::vector<std::uint64_t> seen;
    while (!stack.empty() && seen.size() < 256) {
      const std::uint64_t id = stack.back();
      stack.pop_back();
      if (id == kNone || std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
      seen.push_back(id);
      const Obj& o = objs_[id];
      o.p->verify();
      for (int e = 0; e < FNode::kEdges; ++e) {
        FNode* child = o.p->edges[e].get();
        if (child != (o.edges[e] == kNone ? nullptr : objs_[o.edges[e]].p)) fail("an edge changed by itself", id);
        stack.push_back(o.edges[e]);
      }
    }
  }

  void collect(Heap& heap) {
    heap.collect();
    check_destroyed();
    long reachable = 0;
    for (Obj& o : objs_) {
      if (o.state == State::kReachable) {
        ++reachable;
        o.p->verify();
      } else {
        o.state = State::kDead;  // unmarked in a cycle this thread could not touch: swept by now
      }
    }
    if (g_live.load() != reachable) {
      std::fprintf(stderr, "api_fuzz: %ld objects alive after collect, %ld reachable\n", g_live.load(), reachable);
      fail("live count differs from the reachable count after a full collection", std::uint64_t(reachable));
    }
    for (std::uint64_t id : reachable_) {
      Obj& o = objs_[id];
      if (o.weak == kNone) continue;
      FNode* got = o.p->weak.get();
      if (objs_[o.weak].state == State::kReachable) {
        if (got != objs_[o.weak].p) fail("Weak to a reachable object changed", o.weak);
      } else {
        if (got != nullptr) fail("Weak to an unreachable object not cleared by a full collection", o.weak);
        o.weak = kNone;
      }
    }
  }

  void check_destroyed() {
    std::vector<std::uint64_t> ids;
    {
      std::lock_guard lock(g_log_mu);
      ids.swap(g_destroyed_ids);
    }
    for (std::uint64_t id : ids) {
      if (id >= objs_.size()) fail("destroyed an object the model never allocated", id);
      Obj& o = objs_[id];
      if (o.state == State::kReachable) fail("destroyed while reachable", id);
      if (o.destroyed) fail("destroyed twice", id);
      o.destroyed = true;
      o.state = State::kDead;
    }
  }

  bool limited_;
  std::deque<Obj> objs_;  // index = id
  std::vector<std::uint64_t> reachable_;
  std::vector<Root<FNode>*> roots_;
  std::vector<std::uint64_t> root_ids_;
  Global<FNode>* globals_[kGlobals];
  std::uint64_t global_ids_[kGlobals];
  std::uint64_t next_seed_ = 1;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in{data, size};
  const std::uint8_t b0 = in.byte();
  const std::uint8_t b1 = in.byte();
  const Config config = config_from(b0, b1);
  g_live.store(0);
  {
    std::lock_guard lock(g_log_mu);
    g_destroyed_ids.clear();
  }
  {
    Heap heap(config);
    {
      Mutator self(heap, "fuzz");
      Model model(heap, config.max_heap != 0);
      model.run(in, heap);
    }
  }
  return 0;
}
