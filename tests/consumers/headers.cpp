// Instantiates every template of the public C++ API, so that tests/consumers/check_consumers.py can
// compile the installed headers with -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -Werror
// (with and without the debug checks): a warning in a header is a warning in every user's build.
// Compiled only, never run.
#include <tricolor/tricolor.h>
#include <tricolor/tricolor.hpp>

#include <cstdio>

namespace {

struct Leaf : tricolor::Object<Leaf> {
  int value = 0;
  void trace(tricolor::Tracer&) const {}
};

struct Node : tricolor::Object<Node> {
  tricolor::Member<Node> next;
  tricolor::Member<Leaf> value;
  tricolor::Weak<Leaf> key;
  std::size_t count = 0;
  tricolor::Member<Leaf> items[4];
  void trace(tricolor::Tracer& t) const {
    t.trace(next, "next");
    t.trace(key, "key");
    t.trace_ephemeron(key, value, "value");
    t.trace_array(items, count, "items");
  }
};

struct WithDestructor : tricolor::Object<WithDestructor> {
  std::FILE* file = nullptr;
  ~WithDestructor() {
    if (file != nullptr) std::fclose(file);
  }
  void trace(tricolor::Tracer&) const {}
};

void roots(tricolor::Tracer& t, void* context) {
  Node* const node = static_cast<Node*>(context);
  t.trace(node, "context");
}

}  // namespace

int use_every_template() {
  tricolor::Config config;
  config.gc_percent = 50;
  tricolor::Heap heap(config);
  tricolor::Mutator self(heap, "main");
  tricolor::Global<Node> global(heap, nullptr, "global");
  tricolor::Root<Node> root(tricolor::make_with_trailing<Node>(sizeof(tricolor::Member<Leaf>)), "root");
  root->count = 4;
  root->items[1] = tricolor::make<Leaf>();
  root->key = root->items[1].get();
  root->next = tricolor::try_make<Node>();
  global = tricolor::try_make_with_trailing<Node>(0);
  tricolor::make<WithDestructor>();
  double* numbers = tricolor::make_buffer_of<double>(16);
  numbers[0] = 1.0;
  tricolor::Pool<Leaf> pool(heap);
  pool.put(tricolor::make<Leaf>());
  Leaf* pooled = pool.get();
  const std::uint64_t id = heap.add_roots(&roots, root.get(), "roots");
  tricolor::safepoint();
  {
    tricolor::BlockingScope blocked;
  }
  tricolor::LeakCheck scope(heap);
  heap.collect();
  heap.remove_roots(id);
  const tricolor::LeakReport report = scope.check();
  void* slot = nullptr;
  tc_store(&slot, nullptr);
  std::printf("%s %zu %s %d %p\n", TRICOLOR_VERSION_STRING, report.objects, tricolor::type_name_of(root.get()),
              TRICOLOR_VERSION, static_cast<void*>(pooled));
  return root->key.get() != nullptr ? 0 : 1;
}
