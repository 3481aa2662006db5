// The C API from C++: the header compiles as C++ (extern "C"), C roots and C++ Roots share one LIFO
// list, C-typed objects are ordinary heap objects to the C++ side, and each misuse of the C API stops
// with a message that names the fix (death tests). tests/c_api_test.c covers the API itself, from C.
#include "tricolor/tricolor.h"

#include "death.hpp"
#include "test_heap.hpp"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

using namespace tricolor;

namespace {

struct CNode {
  void* next;
  std::uint64_t value;
};

tc_type cnode_type() {
  static const std::size_t offsets[] = {offsetof(CNode, next)};
  static const tc_type t = tc_type_register_offsets("CNode", sizeof(CNode), offsets, 1, nullptr);
  return t;
}

tc_heap* new_heap() {
  tc_config c;
  tc_config_init(&c);
  c.verify = 1;
  c.initial_heap = 1u << 20;
  c.reserve = std::size_t{4} << 30;
  c.marker_threads = 2;
  return tc_heap_create(&c);
}

// Attaches for the test's duration.
struct CHeap {
  CHeap() : heap(new_heap()) { tc_thread_attach(heap, "c-api-cpp"); }
  ~CHeap() {
    tc_thread_detach();
    tc_heap_destroy(heap);
  }
  tc_heap* heap;
};

}  // namespace

TEST_CASE("tc_config_init gives tricolor::Config's defaults", "[c_api]") {
  tc_config c;
  std::memset(&c, 0xAB, sizeof c);
  tc_config_init(&c);
  const Config d;
  CHECK(c.initial_heap == d.initial_heap);
  CHECK(c.gc_percent == d.gc_percent);
  CHECK(c.max_heap == d.max_heap);
  CHECK(c.concurrent == 1);
  CHECK(c.verify == 0);
  CHECK(c.scavenge_delay_ms == d.scavenge_delay_ms);
  CHECK(c.periodic_gc_ms == d.periodic_gc_ms);
  CHECK(c.alloc_sites == d.alloc_sites);
  CHECK(c.find_leak == nullptr);
  CHECK(c.reserve == d.reserve);
  CHECK(c.on_event == nullptr);
}

TEST_CASE("C roots and C++ Roots share the thread's root list", "[c_api]") {
  CHeap h;
  tc_root outer;
  tc_root_push(&outer, tc_new(cnode_type()), "outer");
  {
    Root<CNode> middle(static_cast<CNode*>(tc_new(cnode_type())), "middle");
    TC_FRAME(f, 2);
    tc_root_set(&f[1], tc_new(cnode_type()));
    tc_store(&middle->next, tc_root_get(&f[1]));
    tc_collect(h.heap);
    CHECK(tc_heap_contains(h.heap, middle.get()));
    CHECK(tc_load(&middle->next) == tc_root_get(&f[1]));
    CHECK(std::strcmp(type_name_of(middle.get()), "CNode") == 0);
    TC_FRAME_POP(f);
  }
  tc_root_pop(&outer);
}

TEST_CASE("events reach a C callback", "[c_api]") {
  struct Seen {
    int mark_start = 0;
    int mark_termination = 0;
  } seen;
  tc_config c;
  tc_config_init(&c);
  c.verify = 1;
  c.reserve = std::size_t{4} << 30;
  c.event_context = &seen;
  // Called on the collector's thread; collect() returning orders it before the reads below.
  c.on_event = [](const tc_event* e, void* ctx) {
    auto* s = static_cast<Seen*>(ctx);
    if (e->phase == TC_PHASE_MARK_START) ++s->mark_start;
    if (e->phase == TC_PHASE_MARK_TERMINATION) ++s->mark_termination;
  };
  tc_heap* heap = tc_heap_create(&c);
  tc_collect(heap);
  CHECK(seen.mark_start == 1);
  CHECK(seen.mark_termination == 1);
  tc_heap_destroy(heap);
}

namespace {

// A count, then count void* slots (a flexible array member in C).
struct CVec {
  std::size_t count;
  void** items() { return reinterpret_cast<void**>(this + 1); }
};

tc_type cvec_type() {
  static const tc_type t = [] {
    tc_type_desc d{};
    d.name = "CVec";
    d.size = sizeof(CVec);
    d.trailing_pointers = 1;
    d.trailing_count_offset = offsetof(CVec, count);
    return tc_type_register(&d);
  }();
  return t;
}

}  // namespace

// A count of 10^6 on a 2-slot object: its trace would read 8 MB past the slot (neighbours' headers,
// other objects' fields, unmapped pages). Debug-checks builds name the type; others trace the slot.
namespace {
CVec* new_cvec2() {
  auto* v = static_cast<CVec*>(tc_alloc(cvec_type(), sizeof(CVec) + 2 * sizeof(void*)));
  v->count = 2;
  return v;
}
}  // namespace

#if TC_DCHECK_IS_ON
TEST_CASE("a trailing count past the allocation names the type (debug checks)", "[c_api][misuse]") {
  // The heap is made inside the block: a death test may fork, and a fork has no collector threads.
  REQUIRE_DEATH("tricolor: an object of C type \"CVec\" says it has 1000000 trailing elements (the 8-byte count "
                "at offset 0) but its allocation holds 2",
                {
                  CHeap h;
                  tc_root r;
                  tc_root_push(&r, new_cvec2(), "v");
                  static_cast<CVec*>(tc_root_get(&r))->count = 1000000;
                  tc_collect(h.heap);
                });
}
#else
namespace {
std::atomic<int> g_victims_destroyed{0};
tc_type victim_type() {
  static const tc_type t = tc_type_register_traced("Victim", 16, nullptr, [](void*) {
    g_victims_destroyed.fetch_add(1, std::memory_order_relaxed);  // the sweeper's thread
  });
  return t;
}
}  // namespace

TEST_CASE("a trailing count past the allocation is bounded by it", "[c_api]") {
  CHeap h;
  TC_FRAME(f, 2);
  CVec* v = new_cvec2();
  tc_root_set(&f[0], v);
  tc_store(&v->items()[0], tc_new(cnode_type()));
  tc_store(&v->items()[1], tc_new(cnode_type()));
  // Neighbours in the same size class whose fields hold a victim that nothing else reaches.
  void* victim = tc_new(victim_type());
  for (int i = 0; i < 64; ++i) {
    CVec* w = new_cvec2();
    tc_store(&w->items()[0], victim);
    tc_store(&w->items()[1], victim);
    if (i == 0) tc_root_set(&f[1], w);  // one of them stays (and keeps the victim)
  }
  tc_collect(h.heap);
  const int destroyed_before = g_victims_destroyed.load(std::memory_order_relaxed);
  tc_root_set(&f[1], nullptr);
  v->count = 1000000;
  tc_collect(h.heap);  // returns once the victim's destroy callback has run
  CHECK(g_victims_destroyed.load(std::memory_order_relaxed) == destroyed_before + 1);
  CHECK(tc_heap_contains(h.heap, tc_load(&v->items()[0])));
  CHECK(tc_heap_contains(h.heap, tc_load(&v->items()[1])));
  TC_FRAME_POP(f);
}
#endif

TEST_CASE("misuse of the C API names the fix", "[c_api][misuse]") {
  SECTION("allocating from an unattached thread") {
    REQUIRE_DEATH("tc_new from a thread that is not attached", { tc_new(cnode_type()); });
  }
  SECTION("a type handle that was never registered") {
    CHeap h;
    REQUIRE_DEATH("tc_alloc: 65000 is not a type handle returned by tc_type_register", { tc_alloc(65000, 16); });
  }
  SECTION("a size below the type's size") {
    CHeap h;
    REQUIRE_DEATH("tc_alloc(\"CNode\", 8): the size is smaller than the type's size 16",
                  { tc_alloc(cnode_type(), 8); });
  }
  SECTION("popping a root that is not the innermost") {
    CHeap h;
    REQUIRE_DEATH("tc_root_pop(\"first\"): not the innermost root of this thread", {
      tc_root a, b;
      tc_root_push(&a, nullptr, "first");
      tc_root_push(&b, nullptr, "second");
      tc_root_pop(&a);
    });
  }
  SECTION("a frame popped under a root pushed after it") {
    CHeap h;
    REQUIRE_DEATH("TC_FRAME_POP(\"f\"): not the innermost root", {
      TC_FRAME(f, 2);
      tc_root r;
      tc_root_push(&r, nullptr, "later");
      TC_FRAME_POP(f);
    });
  }
  SECTION("leaving a scope whose roots were already popped") {
    CHeap h;
    REQUIRE_DEATH("tc_scope_leave: the roots of this scope were already popped", {
      tc_root a;
      tc_root_push(&a, nullptr, "a");
      const tc_scope s = tc_scope_enter();
      tc_root_pop(&a);
      tc_scope_leave(s);
    });
  }
  SECTION("detaching with roots pushed") {
    REQUIRE_DEATH("tc_thread_detach: a root \"kept\" of this thread is still pushed", {
      tc_heap* heap = new_heap();
      tc_thread_attach(heap, "t");
      tc_root r;
      tc_root_push(&r, nullptr, "kept");
      tc_thread_detach();
    });
  }
  SECTION("attaching twice") {
    CHeap h;
    REQUIRE_DEATH("tc_thread_attach: this thread is already attached", { tc_thread_attach(h.heap, "again"); });
  }
  SECTION("destroying the heap of an attached thread") {
    REQUIRE_DEATH("tc_heap_destroy: the calling thread is still attached to this heap", {
      tc_heap* heap = new_heap();
      tc_thread_attach(heap, "t");
      tc_heap_destroy(heap);
    });
  }
  SECTION("destroying a heap whose globals are alive") {
    REQUIRE_DEATH("tc_heap_destroy: 1 tc_global(s) of this heap are still alive", {
      tc_heap* heap = new_heap();
      tc_global_new(heap, nullptr, "left behind");
      tc_heap_destroy(heap);
    });
  }
  SECTION("a descriptor offset outside the type") {
    REQUIRE_DEATH("tc_type_register(\"Bad\"): pointer offset 16 is not an aligned void* field inside the type's 16 bytes", {
      const std::size_t offsets[] = {16};
      tc_type_register_offsets("Bad", 16, offsets, 1, nullptr);
    });
  }
  // offset + sizeof(void*) wraps for these: a check written that way accepts them, and the field then
  // lies on the object header (the next collection crashes, or weak clearing rewrites the type id).
  SECTION("a pointer offset that wraps") {
    REQUIRE_DEATH("tc_type_register(\"Wrap\"): pointer offset 18446744073709551608 is not an aligned void* field "
                  "inside the type's 16 bytes",
                  {
                    const std::size_t offsets[] = {SIZE_MAX - 7};
                    tc_type_register_offsets("Wrap", 16, offsets, 1, nullptr);
                  });
  }
  SECTION("a weak offset that wraps") {
    REQUIRE_DEATH("tc_type_register(\"Wrap\"): weak offset 18446744073709551608 is not an aligned void* field", {
      const std::size_t weak[] = {SIZE_MAX - 7};
      tc_type_desc d{};
      d.name = "Wrap";
      d.size = 16;
      d.weak_offsets = weak;
      d.weak_count = 1;
      tc_type_register(&d);
    });
  }
  SECTION("a trailing count offset that wraps") {
    REQUIRE_DEATH("tc_type_register(\"Wrap\"): trailing_count_offset 18446744073709551608 is not an aligned size_t "
                  "field inside the type's 16 bytes",
                  {
                    tc_type_desc d{};
                    d.name = "Wrap";
                    d.size = 16;
                    d.trailing_pointers = 1;
                    d.trailing_count_offset = SIZE_MAX - 7;
                    tc_type_register(&d);
                  });
  }
  SECTION("a field listed both as a pointer and as a weak field") {
    REQUIRE_DEATH("tc_type_register(\"Both\"): offset 0 is listed both as a pointer and as a weak field", {
      static const std::size_t at0[] = {0};
      tc_type_desc d{};
      d.name = "Both";
      d.size = 8;
      d.pointer_offsets = at0;
      d.pointer_count = 1;
      d.weak_offsets = at0;
      d.weak_count = 1;
      tc_type_register(&d);
    });
  }
  SECTION("a trailing count field that is also a pointer field") {
    REQUIRE_DEATH("tc_type_register(\"Count\"): trailing_count_offset 0 is also listed as a pointer or weak field", {
      static const std::size_t at0[] = {0};
      tc_type_desc d{};
      d.name = "Count";
      d.size = 8;
      d.pointer_offsets = at0;
      d.pointer_count = 1;
      d.trailing_pointers = 1;
      tc_type_register(&d);
    });
  }
  SECTION("unbalanced blocking regions") {
    CHeap h;
    REQUIRE_DEATH("tc_blocking_leave without a matching tc_blocking_enter", { tc_blocking_leave(); });
  }
}

// Each entry point given NULL where a handle or an out-pointer is required stops with the function and
// the argument named (tc_root_pop(NULL) used to crash inside its own error message).
#define NULL_DEATH(function_and_argument, ...) \
  SECTION(function_and_argument) { REQUIRE_DEATH(function_and_argument, __VA_ARGS__); }

TEST_CASE("NULL handles name the function and the argument", "[c_api][misuse]") {
  NULL_DEATH("tc_config_init: the config argument is NULL", { tc_config_init(nullptr); });
  NULL_DEATH("tc_collect: the heap argument is NULL", { tc_collect(nullptr); });
  NULL_DEATH("tc_heap_stats: the heap argument is NULL", {
    tc_stats s;
    tc_heap_stats(nullptr, &s);
  });
  NULL_DEATH("tc_heap_stats: the out argument is NULL", {
    tc_heap* heap = new_heap();
    tc_heap_stats(heap, nullptr);
  });
  NULL_DEATH("tc_heap_contains: the heap argument is NULL", { tc_heap_contains(nullptr, nullptr); });
  NULL_DEATH("tc_thread_attach: the heap argument is NULL", { tc_thread_attach(nullptr, "t"); });
  NULL_DEATH("tc_type_register: the desc argument is NULL", { tc_type_register(nullptr); });
  NULL_DEATH("tc_type_name_of: the obj argument is NULL", { tc_type_name_of(nullptr); });
  // (Arguments are checked before anything else: most of these need no heap.)
  NULL_DEATH("tc_root_push: the root argument is NULL", { tc_root_push(nullptr, nullptr, "r"); });
  NULL_DEATH("tc_root_pop: the root argument is NULL", { tc_root_pop(nullptr); });
  NULL_DEATH("tc_frame_push: the roots argument is NULL", { tc_frame_push(nullptr, 2, "f"); });
  NULL_DEATH("tc_frame_pop: the roots argument is NULL", { tc_frame_pop(nullptr, 2); });
  NULL_DEATH("tc_global_new: the heap argument is NULL", { tc_global_new(nullptr, nullptr, "g"); });
  NULL_DEATH("tc_global_set: the global argument is NULL", { tc_global_set(nullptr, nullptr); });
  NULL_DEATH("tc_global_get: the global argument is NULL", { tc_global_get(nullptr); });
  NULL_DEATH("tc_add_global_slot: the heap argument is NULL", {
    static void* slot = nullptr;
    tc_add_global_slot(nullptr, &slot, "slot");
  });
  NULL_DEATH("tc_add_global_slot: the slot argument is NULL", {
    tc_heap* heap = new_heap();
    tc_add_global_slot(heap, nullptr, "slot");
  });
  NULL_DEATH("tc_remove_global_slot: the slot argument is NULL", {
    tc_heap* heap = new_heap();
    tc_remove_global_slot(heap, nullptr);
  });
  NULL_DEATH("tc_heap_add_roots: the heap argument is NULL",
             { tc_heap_add_roots(nullptr, [](tc_tracer*, void*) {}, nullptr, "r"); });
  NULL_DEATH("tc_heap_add_roots: the fn argument is NULL", {
    tc_heap* heap = new_heap();
    tc_heap_add_roots(heap, nullptr, nullptr, "r");
  });
  NULL_DEATH("tc_heap_remove_roots: the heap argument is NULL", { tc_heap_remove_roots(nullptr, 1); });
  NULL_DEATH("tc_thread_add_roots: the fn argument is NULL", { tc_thread_add_roots(nullptr, nullptr, "r"); });
  NULL_DEATH("tc_set_finalizer: the heap argument is NULL", {
    static long obj = 0;
    tc_set_finalizer(nullptr, &obj, [](void*, void*) {}, nullptr);
  });
  NULL_DEATH("tc_set_finalizer: the obj argument is NULL", {
    tc_heap* heap = new_heap();
    tc_set_finalizer(heap, nullptr, [](void*, void*) {}, nullptr);
  });
  NULL_DEATH("tc_run_finalizers: the heap argument is NULL", { tc_run_finalizers(nullptr, 1); });
  NULL_DEATH("tc_pending_finalizers: the heap argument is NULL", { tc_pending_finalizers(nullptr); });
  NULL_DEATH("tc_leak_check_begin: the heap argument is NULL", { tc_leak_check_begin(nullptr); });
  NULL_DEATH("tc_leak_check_ignore_type: the scope argument is NULL", { tc_leak_check_ignore_type(nullptr, "*"); });
  NULL_DEATH("tc_leak_check_ignore_root: the glob argument is NULL", {
    CHeap h;
    tc_leak_check_ignore_root(tc_leak_check_begin(h.heap), nullptr);
  });
  NULL_DEATH("tc_leak_check_run: the scope argument is NULL", { tc_leak_check_run(nullptr, nullptr); });
  NULL_DEATH("tc_trace: the tracer argument is NULL", { tc_trace(nullptr, nullptr); });
  // Inside a real callback: the tracer is fine, the slot is not.
  NULL_DEATH("tc_trace_slot: the slot argument is NULL", {
    CHeap h;
    tc_heap_add_roots(h.heap, [](tc_tracer* t, void*) { tc_trace_slot(t, nullptr); }, nullptr, "bad");
    tc_collect(h.heap);
  });
  NULL_DEATH("tc_trace_range: the slots argument is NULL", {
    CHeap h;
    tc_heap_add_roots(h.heap, [](tc_tracer* t, void*) { tc_trace_range(t, nullptr, 3); }, nullptr, "bad");
    tc_collect(h.heap);
  });
  NULL_DEATH("tc_trace_weak: the slot argument is NULL", {
    CHeap h;
    tc_heap_add_roots(h.heap, [](tc_tracer* t, void*) { tc_trace_weak(t, nullptr); }, nullptr, "bad");
    tc_collect(h.heap);
  });
  NULL_DEATH("tc_trace_ephemeron: the value_slot argument is NULL", {
    CHeap h;
    static void* key = nullptr;
    tc_heap_add_roots(h.heap, [](tc_tracer* t, void*) { tc_trace_ephemeron(t, &key, nullptr); }, nullptr, "bad");
    tc_collect(h.heap);
  });
}

TEST_CASE("tc_type_name_of names what is not a heap object", "[c_api][misuse]") {
  SECTION("a stack address") {
    CHeap h;
    REQUIRE_DEATH("not an object of a tricolor heap (a stack, static or malloc'ed address", {
      long local = 0;
      tc_type_name_of(&local);
    });
  }
  SECTION("a static address, from a thread that is not attached") {
    tc_heap* heap = new_heap();
    REQUIRE_DEATH("not an object of a tricolor heap", {
      static long s = 0;
      tc_type_name_of(&s);
    });
    tc_heap_destroy(heap);
  }
  SECTION("an interior pointer") {
    CHeap h;
    REQUIRE_DEATH("not an object of a tricolor heap", {
      char* obj = static_cast<char*>(tc_new(cnode_type()));
      tc_type_name_of(obj + 8);
    });
  }
  SECTION("an object of a tc_heap, from a thread that is not attached") {
    tc_heap* heap = new_heap();
    tc_thread_attach(heap, "allocator");
    tc_global* g = tc_global_new(heap, tc_new(cnode_type()), "kept");
    tc_thread_detach();
    CHECK(std::strcmp(tc_type_name_of(tc_global_get(g)), "CNode") == 0);
    tc_global_free(g);
    tc_heap_destroy(heap);
  }
}

// The core's checks speak C++ ("Heap::remove_roots", "create a tricolor::Mutator"); what a C call can
// reach is checked in capi/c_api.cpp first, in C terms. Each message below must name no C++ entry point.
#define C_WORDED_DEATH(name, message, ...)                         \
  SECTION(name) {                                                  \
    REQUIRE_DEATH(message, __VA_ARGS__);                           \
    REQUIRE_FALSE(std::string(message).find("::") != std::string::npos); \
  }

TEST_CASE("messages a C caller can reach name C functions", "[c_api][misuse]") {
  C_WORDED_DEATH("an unknown heap root callback id",
                 "tc_heap_remove_roots: 12345 is not an id that tc_heap_add_roots returned for this heap", {
                   tc_heap* heap = new_heap();
                   tc_heap_remove_roots(heap, 12345);
                 });
  C_WORDED_DEATH("a heap root callback id removed twice", "tc_heap_remove_roots: ", {
    tc_heap* heap = new_heap();
    const std::uint64_t id = tc_heap_add_roots(heap, [](tc_tracer*, void*) {}, nullptr, "r");
    tc_heap_remove_roots(heap, id);
    tc_heap_remove_roots(heap, id);
  });
  C_WORDED_DEATH("an unknown thread root callback id",
                 "tc_thread_remove_roots: 12345 is not an id that tc_thread_add_roots returned on this thread", {
                   CHeap h;
                   tc_thread_remove_roots(12345);
                 });
  C_WORDED_DEATH("a finalizer on a stack address", "is not an object of this heap (not a pointer tc_alloc", {
    CHeap h;
    long local = 0;
    tc_set_finalizer(h.heap, &local, [](void*, void*) {}, nullptr);
  });
  C_WORDED_DEATH("running finalizers on a thread that is not attached",
                 "tc_run_finalizers from a thread that is not attached to a tricolor heap: call tc_thread_attach", {
                   tc_heap* heap = new_heap();
                   tc_run_finalizers(heap, 1);
                 });
  C_WORDED_DEATH("running finalizers of another heap", "tc_run_finalizers: this thread is attached to another heap", {
    tc_heap* other = new_heap();
    CHeap h;
    tc_run_finalizers(other, 1);
  });
  C_WORDED_DEATH("a leak check of another heap", "tc_leak_check_begin: this thread is attached to another heap", {
    tc_heap* other = new_heap();
    CHeap h;
    tc_leak_check_begin(other);
  });
  C_WORDED_DEATH("a leak check run on another thread",
                 "tc_leak_check_run on a thread other than the one that called tc_leak_check_begin", {
                   CHeap h;
                   tc_leak_check* scope = tc_leak_check_begin(h.heap);
                   std::thread([&] {
                     tc_thread_attach(h.heap, "other");
                     tc_leak_check_run(scope, nullptr);
                   }).join();
                 });
  C_WORDED_DEATH("a leak check that leaked and was never run",
                 "tc_leak_check_end: the scope was never run and it leaked", {
                   CHeap h;
                   tc_global* g = tc_global_new(h.heap, nullptr, "leaky");
                   tc_leak_check* scope = tc_leak_check_begin(h.heap);
                   tc_global_set(g, tc_new(cnode_type()));
                   tc_leak_check_end(scope);
                 });
  C_WORDED_DEATH("tc_release on a thread that is not attached",
                 "tc_release from a thread that is not attached to a tricolor heap", {
                   static long s = 0;
                   tc_release(&s);
                 });
  C_WORDED_DEATH("tc_release of a stack address in find-leak mode",
                 "not an object of this thread's heap (not a pointer", {
    tc_config c;
    tc_config_init(&c);
    c.reserve = std::size_t{4} << 30;
    c.find_leak = "*";
    tc_heap* heap = tc_heap_create(&c);
    tc_thread_attach(heap, "t");
    long local = 0;
    tc_release(&local);
  });
  C_WORDED_DEATH("allocating inside a blocking region", "tc_alloc inside tc_blocking_enter", {
    CHeap h;
    tc_blocking_enter();
    tc_alloc(cnode_type(), sizeof(CNode));
  });
  C_WORDED_DEATH("a buffer inside a blocking region", "tc_alloc_buffer inside tc_blocking_enter", {
    CHeap h;
    tc_blocking_enter();
    tc_alloc_buffer(16);
  });
  C_WORDED_DEATH("destroying a heap another thread is attached to",
                 "tc_heap_destroy: 1 thread(s) are still attached to this heap", {
                   tc_heap* heap = new_heap();
                   std::mutex mu;
                   std::condition_variable cv;
                   bool attached = false;
                   std::thread([&] {
                     tc_thread_attach(heap, "lingering");
                     tc_blocking_enter();  // collections need not wait for it
                     std::unique_lock lock(mu);
                     attached = true;
                     cv.notify_all();
                     cv.wait(lock, [] { return false; });  // until the process dies
                   }).detach();
                   std::unique_lock lock(mu);
                   cv.wait(lock, [&] { return attached; });
                   tc_heap_destroy(heap);
                 });
#if TC_DCHECK_IS_ON
  C_WORDED_DEATH("tc_store of a stack address (debug checks)",
                 "is not an object of this thread's tricolor heap (not a pointer that tc_alloc", {
                   CHeap h;
                   auto* n = static_cast<CNode*>(tc_new(cnode_type()));
                   long local = 0;
                   tc_store(&n->next, &local);
                 });
#endif
}

// A thread that exits attached is detached by the runtime, which forgets its roots. A root still
// pushed then is a bug (a return path that skipped a pop, or a root that outlives its thread): it is
// reported at the exit, not as a later "destroyed out of order" or an object silently freed.
TEST_CASE("a thread that exits with roots pushed is reported", "[c_api][misuse]") {
  SECTION("a root in storage that outlives the thread") {
    REQUIRE_DEATH("thread \"leaver\" exited attached to a tricolor heap with a root \"outlives\" still pushed", {
      tc_heap* heap = new_heap();
      static tc_root r;
      std::thread([&] {
        tc_thread_attach(heap, "leaver");
        tc_root_push(&r, tc_new(cnode_type()), "outlives");
      }).join();
    });
  }
  SECTION("a frame a return path did not pop") {
    REQUIRE_DEATH("thread \"returner\" exited attached to a tricolor heap with a root in a stack frame that "
                  "has returned still pushed", {
      tc_heap* heap = new_heap();
      std::thread([&] {
        tc_thread_attach(heap, "returner");
        [] {
          TC_FRAME(f, 2);
          tc_root_set(&f[0], tc_new(cnode_type()));
        }();  // returns without TC_FRAME_POP
      }).join();
    });
  }
  SECTION("a C++ Root of a thread whose Mutator was never destroyed") {
    REQUIRE_DEATH("a thread exited attached to a tricolor heap while its Root \"outlives\" was still alive", {
      Config c;
      c.reserve = std::size_t{4} << 30;
      Heap heap(c);
      std::thread([&] {
        new Mutator(heap, "leaked");  // never destroyed: the thread exits attached
        new Root<CNode>(static_cast<CNode*>(tc_new(cnode_type())), "outlives");
      }).join();
    });
  }
  SECTION("a thread that exits attached with no roots is detached quietly") {
    tc_heap* heap = new_heap();
    std::thread([&] {
      tc_thread_attach(heap, "quiet");
      TC_FRAME(f, 1);
      tc_root_set(&f[0], tc_new(cnode_type()));
      TC_FRAME_POP(f);
    }).join();
    tc_collect(heap);
    tc_heap_destroy(heap);  // would stop if the thread were still attached
  }
}

// The marker checks what it reaches in every build: a foreign, static or interior pointer used to
// crash a marker thread in a release build (a debug build's check said so only with debug checks).
// (Heaps are made inside the death blocks: a death test may fork, and a fork has no collector threads.)
TEST_CASE("the marker names a pointer that is not an object", "[c_api][misuse]") {
  SECTION("a stack address in a field (stored without tc_store)") {
    REQUIRE_DEATH("which is not an object of this heap (a stack, static or malloc'ed address", {
      CHeap h;
      auto* n = static_cast<CNode*>(tc_new(cnode_type()));
      tc_root r;
      tc_root_push(&r, n, "holder");
      long local = 0;
      n->next = &local;
      tc_collect(h.heap);
    });
  }
  SECTION("a static address in a root") {
    REQUIRE_DEATH("which is not an object of this heap", {
      CHeap h;
      static long outside = 0;
      tc_root r;
      tc_root_push(&r, &outside, "foreign");
      tc_collect(h.heap);
    });
  }
  SECTION("an interior pointer in a root") {
    REQUIRE_DEATH("a pointer into an object (the slot's object starts at", {
      CHeap h;
      tc_root r;
      tc_root_push(&r, static_cast<char*>(tc_new(cnode_type())) + 8, "interior");
      tc_collect(h.heap);
    });
  }
  SECTION("an interior pointer right after a valid pointer into the same span") {
    // The marker keeps the span of the previous field (gc/marker.cpp, shade_batch) and skips its
    // page-table lookup for the next: the interior check must still run on that path.
    REQUIRE_DEATH("a pointer into an object (the slot's object starts at", {
      CHeap h;
      struct Pair {
        void* a;
        void* b;
      };
      static const std::size_t offsets[] = {offsetof(Pair, a), offsetof(Pair, b)};
      const tc_type pair = tc_type_register_offsets("Pair", sizeof(Pair), offsets, 2, nullptr);
      auto* p = static_cast<Pair*>(tc_new(pair));
      tc_root r;
      tc_root_push(&r, p, "holder");
      void* first = tc_new(cnode_type());
      void* second = tc_new(cnode_type());  // the next slot of the same span
      p->a = first;                         // plain stores: tc_store's debug check would stop them first
      p->b = static_cast<char*>(second) + 8;
      tc_collect(h.heap);
    });
  }
  SECTION("a static address traced by a root callback") {
    REQUIRE_DEATH("which is not an object of this heap", {
      CHeap h;
      tc_heap_add_roots(h.heap, [](tc_tracer* t, void*) {
        static long s = 0;
        tc_trace(t, &s);
      }, nullptr, "static");
      tc_collect(h.heap);
    });
  }
  SECTION("an object of another heap in a field") {
    REQUIRE_DEATH("which is not an object of this heap", {
      tc_heap* other = new_heap();
      tc_thread_attach(other, "other");
      void* foreign = tc_new(cnode_type());
      tc_global* keep = tc_global_new(other, foreign, "keep");
      (void)keep;
      tc_thread_detach();
      CHeap h;
      auto* n = static_cast<CNode*>(tc_new(cnode_type()));
      tc_root r;
      tc_root_push(&r, n, "holder");
      n->next = foreign;  // a plain store: tc_store's debug check would stop it first
      tc_collect(h.heap);
    });
  }
}

// Callbacks the collector runs (trace, root, destroy) must not collect or allocate: that waited for
// the collector's own work and never returned. Each stops with the C function and the callback named.
namespace {
tc_heap* g_reentrant_heap = nullptr;  // for callbacks that get no context
}  // namespace

TEST_CASE("collecting or allocating from a collector callback is refused by name", "[c_api][misuse]") {
  SECTION("tc_collect from a trace callback") {
    REQUIRE_DEATH("tc_collect called from a trace callback, which the collector runs in the middle of a "
                  "collection",
                  {
                    CHeap h;
                    g_reentrant_heap = h.heap;
                    const tc_type t = tc_type_register_traced("CollectsInTrace", 8, [](const void*, tc_tracer*) {
                      tc_collect(g_reentrant_heap);
                    }, nullptr);
                    tc_root r;
                    tc_root_push(&r, tc_new(t), "traced");
                    tc_collect(h.heap);
                  });
  }
  SECTION("tc_new from a destroy callback") {
    REQUIRE_DEATH("tc_new called from a destroy callback, which the collector runs in the middle of a "
                  "collection",
                  {
                    CHeap h;
                    const tc_type t = tc_type_register_traced("AllocatesInDestroy", 8, nullptr,
                                                              [](void*) { tc_new(cnode_type()); });
                    tc_new(t);  // garbage at once
                    tc_collect(h.heap);
                  });
  }
  SECTION("tc_alloc_buffer from a root callback") {
    REQUIRE_DEATH("tc_alloc_buffer called from a root callback", {
      CHeap h;
      tc_heap_add_roots(h.heap, [](tc_tracer*, void*) { tc_alloc_buffer(16); }, nullptr, "allocates");
      tc_collect(h.heap);
    });
  }
}
