#include <tricolor/tricolor.hpp>
#include <cstdio>

struct Node : tricolor::Object<Node> {
  explicit Node(int v) : value(v) {}
  tricolor::Member<Node> next;  // every store goes through the write barrier
  int value;
  void trace(tricolor::Tracer& t) const { t.trace(next, "next"); }
};

int main() {
  tricolor::Heap heap;                    // concurrent collector, GOGC-style pacing
  tricolor::Mutator self(heap, "main");   // attach this thread
  tricolor::Root<Node> list(nullptr, "list");
  for (int i = 0; i < 1000000; ++i) {
    Node* n = tricolor::make<Node>(i);    // garbage is reclaimed as we go
    if (i % 1000 == 0) { n->next = list.get(); list = n; }
  }
  heap.collect();
  int kept = 0;
  for (Node* n = list; n != nullptr; n = n->next) ++kept;
  std::printf("kept %d nodes, %llu collections\n", kept, (unsigned long long)heap.stats().cycles);
  return kept == 1000 ? 0 : 1;
}
