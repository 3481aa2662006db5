// mark-ceiling: how fast can one thread mark mark-scaling's tree on this machine, whatever the
// collector? An idealised single-threaded marker walks the same shape (a quad tree of N nodes built
// children first, as workloads/sized_tree.hpp builds it) laid out as tricolor lays it out (48-byte
// slots, an 8-byte header first, 682 slots to a 32 KiB span, allocation order), with none of a real
// collector's obligations: no worklist sharing, no type dispatch beyond what a step names, no
// accounting, no checks that a collector owes its users except where a step names them. Each step
// adds one of tricolor's costs to the one before, so the distance between two lines is that cost's
// price, and the last line is a floor under tricolor's one-marker loop (Marker::drain and
// Marker::shade_batch): what the loop costs beyond it is its own work, the rest is the machine's.
//
//   dense bitmap, plain store   a side bitmap indexed by slot, test then a plain store (a lower bound
//                               that no parallel marker can use: a racing store loses a neighbour's
//                               bit)
//   dense bitmap, atomic        the same with an atomic fetch_or (any marker that marks in parallel
//                               with bits, as Go's and tricolor's do)
//   span records               the mark bits in a span record reached through a page table (8 KiB
//                               pages), the slot by reciprocal multiplication, the object-start check
//                               tricolor makes in every build, a one-entry span cache
//   + trace call and buffer    the fields listed by a trace function reached through a pointer, into
//                               a buffer that is then shaded (tricolor's Tracer sink)
//   span records, mark bytes   not a step: "span records" with one mark byte per slot (in an array
//                               beside each record), tested with a load and set with a plain store,
//                               no atomic (bdwgc's parallel marker uses mark bytes). What tricolor
//                               would gain from it, measured in the real marker and left out:
//                               bench/README.md
//
// Compare with `tools/bench --only mark-scaling --markers 1` (tricolor's mark cpu ms and Boehm's mark
// ms per collection, over the same node count). Usage: mark-ceiling [--mb N] [--reps N]
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/workloads.hpp"

namespace {

struct Node {
  std::uint64_t header;  // a type id in tricolor's header: checked on every scan
  Node* kid[4];
  std::uint64_t check;
};
static_assert(sizeof(Node) == 48, "mark-scaling's SNode in tricolor's slot: 40 bytes and the header");

constexpr std::uint64_t kTypeId = 7;
constexpr std::size_t kSlotBytes = sizeof(Node);
constexpr std::size_t kSpanBytes = 32 * 1024;
constexpr std::size_t kSlotsPerSpan = kSpanBytes / kSlotBytes;  // 682, as tricolor's 48-byte class
constexpr std::size_t kPageShift = 13;

// The fields of tricolor's span record that the marker reads, at the offsets they have there (the
// header fields in the first line, the mark bitmap after the allocation bitmap).
struct SpanRecord {
  std::uintptr_t start;
  std::uint32_t nslots, elem_size;
  std::uint64_t reciprocal;
  bool in_use;
  char other_fields[208 - 25];
  std::uint64_t mark_bits[16];
};
static_assert(offsetof(SpanRecord, mark_bits) == 208 && sizeof(SpanRecord) == 336, "tricolor's Span layout");

// The "span records, mark bytes" line's marks, one array per span record beside it (a record that
// held them would be 1 KiB longer, and the other lines must keep tricolor's record layout).
struct MarkBytes {
  std::uint8_t b[1024];
};

struct Heap {
  std::size_t nodes = 0, nspans = 0, next = 0;
  char* base = nullptr;
  std::vector<SpanRecord> spans;
  std::vector<MarkBytes> mark_bytes;  // per span record, same index
  std::vector<SpanRecord*> page_table;

  explicit Heap(std::size_t n) : nodes(n), nspans(n / kSlotsPerSpan + 1), spans(nspans), mark_bytes(nspans) {
    base = static_cast<char*>(std::aligned_alloc(kSpanBytes, nspans * kSpanBytes));
    if (base == nullptr) std::abort();
    page_table.resize(nspans * (kSpanBytes >> kPageShift));
    for (std::size_t s = 0; s < nspans; ++s) {
      SpanRecord& r = spans[s];
      std::memset(&r, 0, sizeof r);
      r.start = reinterpret_cast<std::uintptr_t>(base) + s * kSpanBytes;
      r.nslots = kSlotsPerSpan;
      r.elem_size = kSlotBytes;
      r.reciprocal = ((std::uint64_t{1} << 32) + kSlotBytes - 1) / kSlotBytes;
      r.in_use = true;
      for (std::size_t p = 0; p < (kSpanBytes >> kPageShift); ++p) page_table[s * (kSpanBytes >> kPageShift) + p] = &r;
    }
  }
  ~Heap() { std::free(base); }
  Node* allocate() {
    const std::size_t i = next++;
    return reinterpret_cast<Node*>(base + (i / kSlotsPerSpan) * kSpanBytes + (i % kSlotsPerSpan) * kSlotBytes);
  }
  // The slot number over the whole heap, for the dense bitmap.
  std::size_t dense_index(const Node* p) const {
    const std::size_t off = static_cast<std::size_t>(reinterpret_cast<const char*>(p) - base);
    return (off / kSpanBytes) * kSlotsPerSpan + (off % kSpanBytes) / kSlotBytes;
  }
};

Node* build(Heap& h, std::uint64_t n) {
  if (n == 0) return nullptr;
  Node* k[4];
  for (int i = 0; i < 4; ++i) k[i] = build(h, bench::sized_tree::kid_nodes(n, i));
  Node* s = h.allocate();
  s->header = kTypeId;
  std::copy(k, k + 4, s->kid);
  s->check = n;
  return s;
}

enum class Step { kDensePlain, kDenseAtomic, kSpanRecords, kTraceBuffer, kSpanBytes };

// tricolor's Tracer sink, reduced: the trace function appends the non-null fields.
struct Sink {
  const void** next;
  const void* buf[64];
};
[[gnu::noinline]] void trace_node(const void* obj, Sink& s) {
  for (Node* k : static_cast<const Node*>(obj)->kid)
    if (k != nullptr) *s.next++ = k;
}
using TraceFn = void (*)(const void*, Sink&);
TraceFn volatile g_trace = &trace_node;  // volatile: an indirect call, as through the type table

template <Step kStep>
double mark_ns_per_node(Heap& h, Node* root, std::vector<std::uint64_t>& dense) {
  std::fill(dense.begin(), dense.end(), 0);
  for (SpanRecord& r : h.spans) std::fill(std::begin(r.mark_bits), std::end(r.mark_bits), 0);
  for (MarkBytes& m : h.mark_bytes) std::fill(std::begin(m.b), std::end(m.b), 0);
  std::vector<Node*> stack;
  stack.reserve(1u << 16);
  SpanRecord* last = nullptr;
  std::uintptr_t last_lo = 0;
  // Returns true if p was white (and is now marked).
  auto shade = [&](Node* p) -> bool {
    std::uint64_t* word;
    std::uint64_t bit;
    if constexpr (kStep == Step::kDensePlain || kStep == Step::kDenseAtomic) {
      const std::size_t i = h.dense_index(p);
      word = &dense[i / 64];
      bit = std::uint64_t{1} << (i % 64);
    } else {
      const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
      SpanRecord* r = last;
      if (a - last_lo >= kSpanBytes) {
        r = h.page_table[(a - reinterpret_cast<std::uintptr_t>(h.base)) >> kPageShift];
        if (r == nullptr || !r->in_use) std::abort();
        last = r;
        last_lo = r->start;
      }
      const std::size_t i = static_cast<std::size_t>(((a - r->start) * r->reciprocal) >> 32);
      if (i >= r->nslots || r->start + i * r->elem_size != a) std::abort();  // the object-start check
      if constexpr (kStep == Step::kSpanBytes) {
        std::uint8_t* b = &h.mark_bytes[static_cast<std::size_t>(r - h.spans.data())].b[i];
        if (*b != 0) return false;
        *b = 1;
        return true;
      }
      word = &r->mark_bits[i / 64];
      bit = std::uint64_t{1} << (i % 64);
    }
    if (*word & bit) return false;
    if constexpr (kStep == Step::kDensePlain) {
      *word |= bit;
      return true;
    } else {
      return (__atomic_fetch_or(word, bit, __ATOMIC_RELAXED) & bit) == 0;
    }
  };
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t scanned = 0;
  shade(root);
  stack.push_back(root);
  Sink sink;
  while (!stack.empty()) {
    Node* o = stack.back();
    stack.pop_back();
    ++scanned;
    if (o->header != kTypeId) std::abort();
    // Children pushed in field order: the last field (the nearest in a children-first layout) is
    // scanned next, the walk tricolor's nearest-first order takes on this tree.
    if constexpr (kStep == Step::kTraceBuffer) {
      sink.next = sink.buf;
      g_trace(o, sink);
      for (const void** p = sink.buf; p != sink.next; ++p)
        if (Node* c = static_cast<Node*>(const_cast<void*>(*p)); shade(c)) stack.push_back(c);
    } else {
      for (Node* c : o->kid)
        if (c != nullptr && shade(c)) stack.push_back(c);
    }
  }
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  if (scanned != h.nodes) std::abort();
  return ns / double(scanned);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  double mb = bench::mark_scaling::kDefaultLiveMb;
  int reps = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mb" && i + 1 < argc) mb = std::atof(argv[++i]);
    else if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: mark-ceiling [--mb N] [--reps N]\n");
      return 2;
    }
  }
  const std::size_t n = bench::sized_tree::nodes_for_mb(mb, kSlotBytes);
  Heap h(n);
  Node* root = build(h, n);
  std::vector<std::uint64_t> dense(n / 64 + 1);
  struct Line {
    const char* name;
    double (*run)(Heap&, Node*, std::vector<std::uint64_t>&);
    std::vector<double> ns;
  } lines[] = {
      {"dense bitmap, plain store", &mark_ns_per_node<Step::kDensePlain>, {}},
      {"dense bitmap, atomic", &mark_ns_per_node<Step::kDenseAtomic>, {}},
      {"span records", &mark_ns_per_node<Step::kSpanRecords>, {}},
      {"+ trace call and buffer", &mark_ns_per_node<Step::kTraceBuffer>, {}},
      {"span records, mark bytes", &mark_ns_per_node<Step::kSpanBytes>, {}},
  };
  for (int r = 0; r < reps; ++r)  // interleaved, so a slow phase of the machine hits every line
    for (Line& l : lines) l.ns.push_back(l.run(h, root, dense));
  std::printf("mark-ceiling: %zu nodes of %zu bytes (%.0f MB), one thread, median of %d walks\n", n, kSlotBytes,
              double(n * kSlotBytes) / 1e6, reps);
  for (const Line& l : lines) {
    const double ns = median(l.ns);
    std::printf("  %-28s %6.2f ns/node  %7.0f MB/s\n", l.name, ns, double(kSlotBytes) / ns * 1e3);
  }
  return 0;
}
