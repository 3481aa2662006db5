// The C++ consumer of tricolor: built by tests/consumers/check_consumers.py as a meson subproject
// user (whose project does not default to C++20), through pkg-config, and through the CMake package,
// then run. It allocates, collects, and checks what survived.
#include <tricolor/tricolor.hpp>

#include <cstdio>

struct Node : tricolor::Object<Node> {
  explicit Node(long v) : value(v) {}
  tricolor::Member<Node> next;
  long value;
  void trace(tricolor::Tracer& t) const { t.trace(next, "next"); }
};

int main() {
  tricolor::Heap heap;
  tricolor::Mutator self(heap, "main");
  tricolor::Root<Node> list(nullptr, "list");
  for (long i = 0; i < 200000; ++i) {
    Node* n = tricolor::make<Node>(i);
    if (i % 100 == 0) {
      n->next = list.get();
      list = n;
    }
  }
  heap.collect();
  long kept = 0;
  long sum = 0;
  for (Node* n = list; n != nullptr; n = n->next) {
    ++kept;
    sum += n->value;
  }
  const tricolor::Stats stats = heap.stats();
  std::printf("tricolor %s: kept %ld nodes, %llu collections, %llu objects freed\n", TRICOLOR_VERSION_STRING, kept,
              static_cast<unsigned long long>(stats.cycles), static_cast<unsigned long long>(stats.objects_freed));
  // 2000 nodes (every 100th) stay reachable, with the values 0, 100, ..., 199900; the rest is garbage.
  const bool ok = kept == 2000 && sum == 100L * (1999L * 2000L / 2) && stats.cycles > 0 && stats.objects_freed > 0;
  return ok ? 0 : 1;
}
