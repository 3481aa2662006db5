// Torture: N mutator threads perform random graph operations on a shared object graph while
// collections run back to back. Every object carries a check value (and a payload pattern) verified on
// every visit; destructors poison objects, so reading a freed object is caught; the verifier re-traces
// the heap after every cycle. Each object also has a weak field: threads point it at random objects,
// read it while cycles run and may resurrect what it reads (a weak target must stay intact until the
// field is cleared). At the end everything is dropped and every object must have been freed.
//
//   torture [--threads N] [--ops N per thread] [--seconds S] [--seed X] [--stw]
// Bounded in the test suite; a soak run is `tools/torture --seconds 3600`.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tricolor/tricolor.hpp"

using namespace tricolor;

namespace {

std::atomic<long> g_created{0};
std::atomic<long> g_destroyed{0};
std::atomic<long> g_failures{0};

void fail(const char* what, std::uint64_t id) {
  std::fprintf(stderr, "torture: %s (object id %llu)\n", what, static_cast<unsigned long long>(id));
  g_failures.fetch_add(1);
  std::abort();
}

struct TNode : Object<TNode> {
  static constexpr int kEdges = 4;
  static constexpr std::uint64_t kSalt = 0x9E3779B97F4A7C15ull;
  TNode(std::uint64_t ident, std::size_t payload_bytes) : id(ident), check(ident * kSalt + 1), bytes(payload_bytes) {
    for (std::size_t i = 0; i < bytes; ++i) payload[i] = pattern(i);
    g_created.fetch_add(1, std::memory_order_relaxed);
  }
  ~TNode() {
    check = 0xDEAD;  // a later read of this object fails its check
    g_destroyed.fetch_add(1, std::memory_order_relaxed);
  }
  unsigned char pattern(std::size_t i) const { return static_cast<unsigned char>((id >> (i % 8)) + i); }
  void verify() const {
    if (check != id * kSalt + 1) fail("check value corrupted: object freed while reachable?", id);
    for (std::size_t i = 0; i < bytes; i += 1 + bytes / 16)
      if (payload[i] != pattern(i)) fail("payload corrupted", id);
  }
  void trace(Tracer& t) const {
    t.trace_array(edges, kEdges, "edges");
    t.trace(weak, "weak");
  }

  Member<TNode> edges[kEdges];
  Weak<TNode> weak;
  const std::uint64_t id;
  std::uint64_t check;
  const std::size_t bytes;
  unsigned char payload[1];
};

struct Table : Object<Table> {
  static constexpr int kSlots = 256;
  Member<TNode> slots[kSlots];
  void trace(Tracer& t) const { t.trace_array(slots, kSlots, "slots"); }
};

struct Options {
  int threads = 4;
  long ops = 100000;
  double seconds = 0;
  std::uint64_t seed = 1;
  bool stw = false;
};

TNode* new_node(std::mt19937_64& rng, std::atomic<std::uint64_t>& next_id) {
  const unsigned r = rng() % 1000;
  std::size_t bytes = r < 700 ? rng() % 64 : r < 990 ? rng() % 4096 : 32768 + rng() % 100000;  // small, medium, large
  return make_with_trailing<TNode>(bytes, next_id.fetch_add(1, std::memory_order_relaxed), bytes);
}

TNode* walk(TNode* n, std::mt19937_64& rng, int steps) {
  for (int i = 0; i < steps && n != nullptr; ++i) {
    n->verify();
    TNode* next = n->edges[rng() % TNode::kEdges];
    if (next == nullptr) break;
    n = next;
  }
  if (n) n->verify();
  return n;
}

void mutate(Heap& heap, Global<Table>& table, const Options& o, int index, std::atomic<bool>& stop,
            std::atomic<std::uint64_t>& next_id) {
  Mutator m(heap, "torture");
  std::mt19937_64 rng(o.seed * 1000003 + std::uint64_t(index));
  std::vector<Root<TNode>*> roots;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.seconds);
  for (long op = 0; o.seconds > 0 ? std::chrono::steady_clock::now() < deadline : op < o.ops; ++op) {
    Table* t = table.get();
    TNode* a = walk(t->slots[rng() % Table::kSlots], rng, int(rng() % 8));
    switch (rng() % 12) {
      case 0: case 1: case 2: {  // allocate and publish
        TNode* n = new_node(rng, next_id);
        t = table.get();  // raw pointers do not survive a safepoint: reload
        if (rng() % 2) t->slots[rng() % Table::kSlots] = n;
        else roots.push_back(new Root<TNode>(n, "torture-root"));
        break;
      }
      case 3: case 4: {  // link a -> b
        TNode* b = walk(t->slots[rng() % Table::kSlots], rng, int(rng() % 4));
        if (a != nullptr) a->edges[rng() % TNode::kEdges] = b;
        break;
      }
      case 5: {  // unlink
        if (a != nullptr) a->edges[rng() % TNode::kEdges] = nullptr;
        else t->slots[rng() % Table::kSlots] = nullptr;
        break;
      }
      case 6: {  // push a root
        if (a != nullptr && roots.size() < 64) roots.push_back(new Root<TNode>(a, "torture-root"));
        break;
      }
      case 7: {  // pop a root (LIFO), maybe re-publishing it
        if (!roots.empty()) {
          TNode* n = roots.back()->get();
          n->verify();
          if (rng() % 2) t->slots[rng() % Table::kSlots] = n;
          delete roots.back();
          roots.pop_back();
        }
        break;
      }
      case 8: {  // move a reference from a root into the heap and drop the root (barrier cases)
        if (!roots.empty() && a != nullptr) {
          a->edges[rng() % TNode::kEdges] = roots.back()->get();
          delete roots.back();
          roots.pop_back();
        }
        break;
      }
      case 9: {  // point a's weak field at b (or clear it)
        TNode* b = walk(t->slots[rng() % Table::kSlots], rng, int(rng() % 4));
        if (a != nullptr) a->weak = b;
        break;
      }
      case 10: {  // read a's weak field; the target may be unreachable but must be intact; maybe resurrect it
        if (a == nullptr) break;
        TNode* w = a->weak.get();
        if (w == nullptr) break;
        walk(w, rng, 2);
        const unsigned what = rng() % 4;
        if (what == 0) t->slots[rng() % Table::kSlots] = w;
        else if (what == 1 && roots.size() < 64) roots.push_back(new Root<TNode>(w, "torture-root"));
        else if (what == 2) a->weak = nullptr;  // the read then the overwrite: the fuzzer's case
        break;
      }
      default: {
        for (Root<TNode>* r : roots) walk(r->get(), rng, 2);
        safepoint();
      }
    }
    if (stop.load(std::memory_order_relaxed)) break;
  }
  while (!roots.empty()) {
    roots.back()->get()->verify();
    delete roots.back();
    roots.pop_back();
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? argv[++i] : "0"; };
    if (a == "--threads") o.threads = std::atoi(next());
    else if (a == "--ops") o.ops = std::atol(next());
    else if (a == "--seconds") o.seconds = std::atof(next());
    else if (a == "--seed") o.seed = std::strtoull(next(), nullptr, 10);
    else if (a == "--stw") o.stw = true;
    else {
      std::fprintf(stderr, "usage: torture [--threads N] [--ops N] [--seconds S] [--seed X] [--stw]\n");
      return 2;
    }
  }
  Config c;
  c.verify = true;
  c.initial_heap = 2u << 20;
  c.gc_percent = 50;
  c.concurrent = !o.stw;
  c.marker_threads = 2;
  c.reserve = std::size_t{8} << 30;
  c.apply_env();
  std::atomic<std::uint64_t> next_id{1};
  long cycles = 0;
  {
    Heap heap(c);
    Global<Table> table(heap, nullptr, "torture-table");
    {
      Mutator m(heap, "setup");
      table = make<Table>();
    }
    std::atomic<bool> stop{false};
    std::atomic<int> running{o.threads};
    // Collections back to back, from a thread that is not a mutator.
    std::thread collector([&] {
      while (running.load() > 0) heap.collect();
    });
    std::vector<std::thread> threads;
    for (int i = 0; i < o.threads; ++i)
      threads.emplace_back([&, i] {
        mutate(heap, table, o, i, stop, next_id);
        running.fetch_sub(1);
      });
    for (auto& t : threads) t.join();
    collector.join();
    cycles = static_cast<long>(heap.stats().cycles);
    {
      Mutator m(heap, "teardown");
      std::mt19937_64 rng(o.seed);
      for (int i = 0; i < Table::kSlots; ++i) walk(table->slots[i], rng, 100);
      table = nullptr;
    }
    heap.collect();
    const long alive = g_created.load() - g_destroyed.load();
    std::printf("torture: %d threads, %llu objects, %ld cycles, %ld alive after dropping everything\n", o.threads,
                static_cast<unsigned long long>(next_id.load() - 1), cycles, alive);
    if (alive != 0) {
      std::fprintf(stderr, "torture: %ld unreachable objects were never freed\n", alive);
      return 1;
    }
  }
  return g_failures.load() == 0 && cycles > 0 ? 0 : 1;
}
