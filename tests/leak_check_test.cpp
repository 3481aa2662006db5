// LeakCheck: what a scope leaves reachable, with the root and the field path that keeps it; the
// allowance list; allocation sites; retainers and path queries; find-leak mode; and the rule for
// objects of other threads while the concurrent collector runs.
#include "introspect/leak_check.hpp"

#include <atomic>
#include <string>
#include <thread>

#include "test_heap.hpp"
#include "tricolor/leak_check_catch2.hpp"

using namespace tricolor;
using tctest::TestHeap;

namespace lktest {

struct Value : Object<Value> {
  explicit Value(int v = 0) : value(v) {}
  int value;
  void trace(Tracer&) const {}
};

// A cache whose entries expire lazily: an expired entry is dropped only when its key is read, so
// keys that are never read again stay forever (the classic leak of a collected heap).
struct Entry : Object<Entry> {
  Entry(int k, int exp) : key(k), expires(exp) {}
  int key;
  int expires;
  Member<Value> value;
  void trace(Tracer& t) const { t.trace(value, "value"); }
};

struct Table : Object<Table> {
  explicit Table(std::size_t n) : capacity(n) {}
  std::size_t capacity;  // never changes after construction: trace() may read it
  Member<Entry> slots[1];
  void trace(Tracer& t) const { t.trace_array(slots, capacity, "slots"); }
};

struct Cache : Object<Cache> {
  Member<Table> table;
  void trace(Tracer& t) const { t.trace(table, "table"); }

  static Cache* create(std::size_t capacity) {
    Root<Cache> c(make<Cache>());
    c->table = make_with_trailing<Table>((capacity - 1) * sizeof(Member<Entry>), capacity);
    return c;
  }
  void put(int key, int value, int expires) {
    Table* t = table;
    for (std::size_t i = 0; i < t->capacity; ++i)
      if (t->slots[i] == nullptr) {
        Root<Entry> e(make<Entry>(key, expires));
        e->value = make<Value>(value);
        table->slots[i] = e;
        return;
      }
  }
  // Lazy expiry: the only place an entry is ever removed.
  Value* get(int key, int now) {
    Table* t = table;
    for (std::size_t i = 0; i < t->capacity; ++i) {
      Entry* e = t->slots[i];
      if (e == nullptr || e->key != key) continue;
      if (e->expires <= now) {
        t->slots[i] = nullptr;
        return nullptr;
      }
      return e->value;
    }
    return nullptr;
  }
};

struct Pair : Object<Pair> {
  Member<Pair> other;
  Member<Pair> extra;
  void trace(Tracer& t) const {
    t.trace(other, "other");
    t.trace(extra, "extra");
  }
};

// A closure-like object: code plus a captured environment.
struct Env : Object<Env> {
  Member<Value> captured;
  void trace(Tracer& t) const { t.trace(captured, "captured"); }
};
struct Closure : Object<Closure> {
  int (*code)(Env*) = nullptr;
  Member<Env> env;
  void trace(Tracer& t) const { t.trace(env, "env"); }
};
struct Listener : Object<Listener> {
  Member<Closure> callback;
  Member<Listener> next;
  void trace(Tracer& t) const {
    t.trace(callback, "callback");
    t.trace(next, "next");
  }
};
struct EventBus : Object<EventBus> {
  Member<Listener> listeners;
  void trace(Tracer& t) const { t.trace(listeners, "listeners"); }
  Listener* subscribe(Closure* c) {
    Root<Closure> keep(c);
    Listener* l = make<Listener>();
    l->callback = keep;
    l->next = listeners;
    listeners = l;
    return l;
  }
  void unsubscribe(Listener* l) {
    if (listeners == l) {
      listeners = l->next;
      return;
    }
    for (Listener* p = listeners; p != nullptr; p = p->next)
      if (p->next == l) {
        p->next = l->next;
        return;
      }
  }
};

Closure* make_closure(int v) {
  Root<Env> env(make<Env>());
  env->captured = make<Value>(v);
  Closure* c = make<Closure>();
  c->env = env;
  c->code = [](Env* e) { return e->captured->value; };
  return c;
}

struct Handle : Object<Handle> {
  int fd = -1;
  void trace(Tracer&) const {}
};

struct Payload : Object<Payload> {
  Member<Payload> next;
  std::uint64_t data[2] = {};
  void trace(Tracer& t) const { t.trace(next, "next"); }
};

struct Hub : Object<Hub> {
  Member<Payload> blamed;
  Member<Payload> shared;
  void trace(Tracer& t) const {
    t.trace(blamed, "blamed");
    t.trace(shared, "shared");
  }
};

}  // namespace lktest

using namespace lktest;

static std::string fields(const RetentionPath& p) {
  std::string s;
  for (const PathStep& st : p.steps) {
    s += "/" + st.field;
    if (st.index != SIZE_MAX) s += "[]";
  }
  return s;
}

TEST_CASE("a lazy-expiry cache leaks: the report names its Global and the path through the table", "[leak]") {
  TestHeap h;
  Global<Cache> cache(h.heap, Cache::create(16), "cache");
  LeakCheck scope(h.heap);
  for (int k = 0; k < 10; ++k) cache->put(k, k * 100, /*expires=*/5);
  // Time passes; only keys 0..2 are read again, so only they expire.
  for (int k = 0; k < 3; ++k) REQUIRE(cache->get(k, /*now=*/10) == nullptr);

  const LeakReport r = scope.check();
  INFO(r.to_string());
  REQUIRE(r.count("lktest::Entry") == 7);
  REQUIRE(r.count("lktest::Value") == 7);
  REQUIRE(r.groups.size() == 2);
  REQUIRE(r.objects == 14);
  const LeakGroup* g = r.find("lktest::Entry");
  REQUIRE(g->examples.size() == 3);
  for (const LeakedObject& o : g->examples) {
    REQUIRE(o.path.root_kind == RootKind::kGlobal);
    REQUIRE(o.path.root_name == "cache");
    REQUIRE(o.path.root == "Global \"cache\"");
    REQUIRE(fields(o.path) == "//table/slots[]");
    REQUIRE(o.path.steps[0].type == "lktest::Cache");
    REQUIRE(o.path.steps[1].type == "lktest::Table");
    REQUIRE(o.path.steps[2].index >= 3);
    REQUIRE(o.path.steps[2].index < 10);
    REQUIRE(o.path.steps.back().object == o.object);
  }
  REQUIRE(g->examples[0].path.to_string().rfind(
              "Global \"cache\" -> lktest::Cache.table -> lktest::Table.slots[3] -> lktest::Entry @", 0) == 0);
  REQUIRE(fields(r.find("lktest::Value")->examples[0].path) == "//table/slots[]/value");
  // The text names all of it.
  const std::string text = r.to_string();
  REQUIRE(text.find("14 objects") != std::string::npos);
  REQUIRE(text.find("7 x lktest::Entry") != std::string::npos);
  REQUIRE(text.find("... and 4 more") != std::string::npos);

  // Reading the rest expires them: nothing is left.
  for (int k = 3; k < 10; ++k) cache->get(k, 10);
  REQUIRE_THAT(scope.check(), NoLeaks());
}

TEST_CASE("a closure left in a long-lived listener list is reported with the path through the list", "[leak]") {
  TestHeap h;
  Root<EventBus> bus(make<EventBus>(), "bus");
  LeakCheck scope(h.heap);
  {
    Root<Listener> tidy(bus->subscribe(make_closure(1)));
    bus->subscribe(make_closure(2));  // never unsubscribed
    bus->unsubscribe(tidy);
  }
  const LeakReport r = scope.check();
  INFO(r.to_string());
  REQUIRE(r.objects == 4);
  for (const char* type : {"lktest::Listener", "lktest::Closure", "lktest::Env", "lktest::Value"})
    REQUIRE(r.count(type) == 1);
  const RetentionPath& p = r.find("lktest::Value")->examples[0].path;
  REQUIRE(p.root_kind == RootKind::kThreadRoot);
  REQUIRE(p.root_name == "bus");
  REQUIRE(p.root_thread.find("\"test-main\"") != std::string::npos);
  REQUIRE(fields(p) == "//listeners/callback/env/captured");
  REQUIRE(p.to_string().find("lktest::EventBus.listeners -> lktest::Listener.callback -> lktest::Closure.env -> "
                             "lktest::Env.captured -> lktest::Value") != std::string::npos);
}

TEST_CASE("a cycle hanging off a thread's Root is reported with shortest paths", "[leak]") {
  TestHeap h;
  Root<Pair> anchor(make<Pair>(), "anchor");
  LeakCheck scope(h.heap);
  {
    Root<Pair> a(make<Pair>());
    Root<Pair> b(make<Pair>());
    a->other = b;
    b->other = a;  // the cycle
    anchor->extra = a;
  }
  const LeakReport r = scope.check();
  INFO(r.to_string());
  REQUIRE(r.objects == 2);
  const LeakGroup* g = r.find("lktest::Pair");
  REQUIRE(g->count == 2);
  REQUIRE(g->examples.size() == 2);
  // Breadth first: the nearer one first, each by its shortest path (the cycle adds no detour).
  REQUIRE(g->examples[0].path.root == "thread #1 \"test-main\" Root \"anchor\"");
  REQUIRE(fields(g->examples[0].path) == "//extra");
  REQUIRE(fields(g->examples[1].path) == "//extra/other");
  // The anchor itself predates the scope: never reported.
  REQUIRE(g->examples[0].object != anchor.get());
}

TEST_CASE("a forgotten Global is reported as the root", "[leak]") {
  TestHeap h;
  Global<Pair> forgotten(h.heap, nullptr, "forgotten");
  LeakCheck scope(h.heap);
  forgotten = make<Pair>();
  const LeakReport r = scope.check();
  REQUIRE(r.objects == 1);
  const RetentionPath& p = r.groups[0].examples[0].path;
  REQUIRE(p.root_kind == RootKind::kGlobal);
  REQUIRE(p.root_name == "forgotten");
  REQUIRE(p.steps.size() == 1);
  REQUIRE(p.steps[0].object == forgotten.get());
  forgotten = nullptr;
  REQUIRE_THAT(scope.check(), NoLeaks());
}

TEST_CASE("a scope that frees everything reports nothing, whatever it did to older objects", "[leak]") {
  TestHeap h;
  Root<Pair> old(make<Pair>(), "old");
  old->other = make<Pair>();
  Global<Pair> old_global(h.heap, make<Pair>(), "old-global");
  LeakCheck scope(h.heap);
  for (int i = 0; i < 20000; ++i) {
    Root<Pair> a(make<Pair>());
    a->other = make<Pair>();
    a->other->other = a;
    if (i % 100 == 0) h.collect_now();
  }
  // Rearranging objects that predate the scope is not a leak.
  old->extra = old_global.get();
  old_global = old->other.get();
  TRICOLOR_REQUIRE_NO_LEAKS(scope);
  REQUIRE(scope.check().ignored == 0);
}

TEST_CASE("the allowance list skips ignored types (and what only they retain) and ignored roots", "[leak]") {
  TestHeap h;
  Global<Cache> cache(h.heap, Cache::create(8), "cache");
  Global<Pair> other(h.heap, nullptr, "other");
  LeakCheck scope(h.heap);
  for (int k = 0; k < 4; ++k) cache->put(k, k, 5);
  other = make<Pair>();

  SECTION("by type") {
    scope.ignore_type("lktest::E*");  // entries, and the values only they hold
    const LeakReport r = scope.check();
    INFO(r.to_string());
    REQUIRE(r.objects == 1);
    REQUIRE(r.count("lktest::Pair") == 1);
    REQUIRE(r.ignored == 4);
    REQUIRE(r.to_string().find("4 objects of ignored types") != std::string::npos);
  }
  SECTION("by root name") {
    scope.ignore_root("cache");
    const LeakReport r = scope.check();
    REQUIRE(r.objects == 1);
    REQUIRE(r.count("lktest::Pair") == 1);
  }
  SECTION("by root description") {
    scope.ignore_root("Global \"c*\"").ignore_root("Global \"other\"");
    REQUIRE_THAT(scope.check(), NoLeaks());
  }
  SECTION("an object also held by a root that is not ignored is still reported") {
    Root<Entry> held(cache->table->slots[0].get(), "held");
    scope.ignore_root("cache");
    const LeakReport r = scope.check();
    INFO(r.to_string());
    REQUIRE(r.count("lktest::Entry") == 1);
    REQUIRE(r.find("lktest::Entry")->examples[0].path.root_name == "held");
  }
  other = nullptr;
  cache = nullptr;
}

TEST_CASE("the Catch2 matcher fails with the report as its message", "[leak]") {
  TestHeap h;
  Global<Pair> g(h.heap, nullptr, "kept");
  LeakCheck scope(h.heap);
  g = make<Pair>();
  const LeakReport r = scope.check();
  REQUIRE_FALSE(NoLeaks().match(r));
  const std::string message = Catch::Detail::stringify(r);
  REQUIRE(message.find("1 object") != std::string::npos);
  REQUIRE(message.find("Global \"kept\" -> lktest::Pair") != std::string::npos);
  REQUIRE(NoLeaks().match(LeakReport{}));
  g = nullptr;
}

static bool have_file_lines() {
  // libbacktrace gives file:line; without it (a toolchain without libbacktrace.a) only names.
  return internal::AllocSites::has_line_info();
}

[[gnu::noinline]] static Pair* leaky_factory(Global<Pair>& g) {
  Pair* p = make<Pair>();
  g = p;
  return p;
}

TEST_CASE("with allocation sites on, each leaked group names the stack that allocated it", "[leak][sites]") {
  tricolor::Config c = tctest::test_config();
  c.alloc_sites = 1;  // every allocation
  TestHeap h(c);
  Global<Pair> g(h.heap, nullptr, "g");
  LeakCheck scope(h.heap);
  for (int i = 0; i < 100; ++i) make<Pair>();  // garbage: its records go with it
  leaky_factory(g);
  const LeakReport r = scope.check();
  INFO(r.to_string());
  REQUIRE(r.objects == 1);
  const LeakGroup& grp = r.groups[0];
  REQUIRE(grp.sampled == 1);
  REQUIRE(grp.sites.size() == 1);
  REQUIRE(grp.sites[0].count == 1);
  REQUIRE(!grp.sites[0].frames.empty());
  if (!have_file_lines()) {
    WARN("no libbacktrace in this build: frames are not checked for names");
    return;
  }
  // tricolor's own frames (the slow path, make<T>) are dropped: the first frame is the caller.
  REQUIRE(grp.sites[0].frames[0].find("leaky_factory") != std::string::npos);
  REQUIRE(grp.sites[0].frames[0].find("leak_check_test.cpp:") != std::string::npos);
  REQUIRE(r.to_string().find("allocated at (1 of 1 sampled)") != std::string::npos);
  g = nullptr;
}

TEST_CASE("retainers and path_to say why an object is alive", "[leak][retainers]") {
  TestHeap h;
  static Pair* from_callback = nullptr;
  Root<Pair> shared(make<Pair>(), "shared");
  Global<Pair> g(h.heap, shared.get(), "g");
  Root<Pair> a(make<Pair>(), "a");
  Root<Pair> b(make<Pair>(), "b");
  a->other = shared.get();
  b->extra = shared.get();
  Root<Pair> hidden(make<Pair>());
  from_callback = hidden.get();
  const auto id = h.heap.add_roots([](Tracer& t, void*) { t.trace(from_callback, "interp-stack"); }, nullptr,
                                   "interpreter");
  hidden->other = shared.get();
  hidden = nullptr;  // now only the callback holds it

  const std::vector<Retainer> rs = h.heap.retainers(shared);
  // The Root "shared", the Global, a.other, b.extra, and the callback-held object's .other.
  REQUIRE(rs.size() == 5);
  int roots = 0, fields_seen = 0;
  for (const Retainer& r : rs) {
    if (r.is_root) {
      ++roots;
      REQUIRE(r.path.steps.empty());
      REQUIRE((r.path.root_name == "shared" || r.path.root_name == "g"));
    } else {
      ++fields_seen;
      REQUIRE(r.type == "lktest::Pair");
      if (r.object == a.get()) REQUIRE(r.field == "other");
      if (r.object == b.get()) REQUIRE(r.field == "extra");
      if (r.object == from_callback) {
        REQUIRE(r.path.root_kind == RootKind::kHeapCallback);
        REQUIRE(r.path.root == "heap root callback \"interpreter\"");
        REQUIRE(r.path.steps[0].field == "interp-stack");
      }
    }
  }
  REQUIRE(roots == 2);
  REQUIRE(fields_seen == 3);

  const std::optional<RetentionPath> p = h.heap.path_to(b->extra);
  REQUIRE(p.has_value());
  REQUIRE(p->steps.size() == 1);  // held directly by a root: the shortest path
  REQUIRE(p->root_name == "shared");

  Pair* lonely = make<Pair>();
  REQUIRE_FALSE(h.heap.path_to(lonely).has_value());
  REQUIRE(h.heap.retainers(lonely).empty());
  h.heap.remove_roots(id);
}

TEST_CASE("find-leak mode reports tracked objects that die unreleased, with their sites", "[leak][find-leak]") {
  tricolor::Config c = tctest::test_config();
  c.find_leak = "lktest::Handle";
  c.alloc_sites = 1;
  TestHeap h(c);
  {
    Root<Handle> keep(make<Handle>(), "keep");  // reachable, unreleased: fine
    for (int i = 0; i < 10; ++i) {
      Handle* x = make<Handle>();
      if (i < 6) release(x);  // the program says it is done with these
    }
    for (int i = 0; i < 100; ++i) make<Pair>();  // untracked type: never reported
    release(keep);  // released but still reachable: kept, not reported
    const LeakReport r = h.heap.take_found_leaks();
    INFO(r.to_string());
    REQUIRE(r.objects == 4);
    REQUIRE(r.count("lktest::Handle") == 4);
    REQUIRE(r.groups.size() == 1);
    REQUIRE(r.groups[0].sampled == 4);
    REQUIRE(r.groups[0].sites.size() == 1);
    REQUIRE(r.to_string().find("became unreachable without tricolor::release()") != std::string::npos);
    if (have_file_lines()) REQUIRE(r.groups[0].sites[0].frames[0].find("leak_check_test.cpp:") != std::string::npos);
    // Taken: a second call starts afresh.
    REQUIRE(h.heap.take_found_leaks().empty());
  }
  // keep was released: its death is silent.
  REQUIRE(h.heap.take_found_leaks().empty());
}

TEST_CASE("find-leak mode is off by default: release() is a no-op and nothing is reported", "[leak][find-leak]") {
  TestHeap h;
  Handle* x = make<Handle>();
  release(x);
  make<Handle>();
  REQUIRE(h.heap.take_found_leaks().empty());
}

TEST_CASE("the glob matcher", "[leak]") {
  using internal::glob_match;
  REQUIRE(glob_match("*", ""));
  REQUIRE(glob_match("lktest::*", "lktest::Entry"));
  REQUIRE(glob_match("*Entry", "lktest::Entry"));
  REQUIRE(glob_match("std::vector<*>", "std::vector<int>"));
  REQUIRE(glob_match("a*b*c", "axxbyyc"));
  REQUIRE_FALSE(glob_match("a*b*c", "axxbyy"));
  REQUIRE_FALSE(glob_match("Entry", "lktest::Entry"));
}

// The rule for other threads (include/tricolor/leak_check.hpp): while the scope is open, one worker
// churns (garbage, and objects kept in its own Root), another links objects into the scope's leaked
// hub, some of them also held by its own Root. Only what the scope's leak alone keeps alive is blamed
// on it. Collections run throughout (a small heap, concurrent marking). The main thread waits in a
// BlockingScope, spinning on atomics: no sleeps.
TEST_CASE("other threads' objects are blamed on a scope only when its leaks alone retain them", "[leak][threads]") {
  TestHeap h;
  Global<Hub> registry(h.heap, nullptr, "registry");
  std::atomic<bool> stop{false};
  std::atomic<int> phase{0};
  std::atomic<long> churned{0};
  auto wait_for = [](auto&& done) {
    BlockingScope blocked;  // collections go on without this thread
    while (!done()) std::this_thread::yield();
  };

  std::thread churn([&] {
    Mutator m(h.heap, "churn");
    Root<Payload> own(nullptr, "own");
    for (long i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      Payload* p = make<Payload>();
      if (i % 64 == 0) {
        p->next = own.get();
        own = p;  // allocated during the scope, kept by this thread: never the scope's
      }
      if (i % 4096 == 0) own = nullptr;
      churned.fetch_add(1, std::memory_order_relaxed);
    }
  });
  std::thread linker([&] {
    Mutator m(h.heap, "linker");
    Root<Payload> mine(nullptr, "mine");
    wait_for([&] { return phase.load(std::memory_order_acquire) == 1; });
    {
      Root<Hub> hub(registry.get());
      for (int i = 0; i < 5; ++i) {
        Payload* x = make<Payload>();  // retained only through the scope's hub: blamed
        x->next = hub->blamed.get();
        hub->blamed = x;
        make<Payload>();  // garbage
      }
      for (int i = 0; i < 3; ++i) {
        Payload* y = make<Payload>();  // retained through the hub and by this thread: not blamed
        y->next = mine.get();
        mine = y;
      }
      hub->shared = mine.get();
    }
    phase.store(2, std::memory_order_release);
    while (!stop.load(std::memory_order_relaxed)) make<Payload>();
  });

  wait_for([&] { return churned.load(std::memory_order_relaxed) > 1000; });
  const std::uint64_t cycles_before = h.stats().cycles;
  LeakReport r;
  {
    LeakCheck scope(h.heap);
    registry = make<Hub>();  // the scope's own leak
    phase.store(1, std::memory_order_release);
    wait_for([&] { return phase.load(std::memory_order_acquire) == 2; });
    const long at_check = churned.load(std::memory_order_relaxed);
    r = scope.check();
    // The churn went on while the scope was open (it allocates until told to stop).
    wait_for([&] { return churned.load(std::memory_order_relaxed) > at_check + 1000; });
  }
  stop = true;
  {
    BlockingScope blocked;
    churn.join();
    linker.join();
  }
  INFO(r.to_string());
  REQUIRE(r.count("lktest::Hub") == 1);
  REQUIRE(r.count("lktest::Payload") == 5);
  REQUIRE(r.objects == 6);
  for (const LeakedObject& o : r.find("lktest::Payload")->examples) {
    REQUIRE(o.path.root == "Global \"registry\"");
    REQUIRE(o.path.steps[1].field == "blamed");
  }
  REQUIRE(h.stats().cycles > cycles_before);
  registry = nullptr;
}

TEST_CASE("a thread that attaches while the scope is open follows the same rule", "[leak][threads]") {
  TestHeap h;
  Global<Hub> hub_root(h.heap, nullptr, "hub");
  Global<Payload> theirs(h.heap, nullptr, "theirs");
  LeakCheck scope(h.heap);
  hub_root = make<Hub>();
  std::thread late([&] {
    Mutator m(h.heap, "late");
    Root<Hub> hub(hub_root.get());
    hub->blamed = make<Payload>();  // only the scope's hub keeps it: blamed
    theirs = make<Payload>();       // its own Global keeps it: not blamed
    hub->shared = theirs.get();
  });
  {
    BlockingScope blocked;
    late.join();
  }
  const LeakReport r = scope.check();
  INFO(r.to_string());
  REQUIRE(r.objects == 2);
  REQUIRE(r.count("lktest::Hub") == 1);
  REQUIRE(r.count("lktest::Payload") == 1);
  REQUIRE(r.find("lktest::Payload")->examples[0].path.steps.back().object == hub_root->blamed.get());
  hub_root = nullptr;
  theirs = nullptr;
}
