/* The C API from C99: every object reachable from a root (stack roots, frames, scopes, globals,
 * global slots, root callbacks) survives collections with its contents intact; every unreachable one
 * is freed (destroy callbacks are counted); descriptor-typed objects (fixed and variable size) trace
 * their fields; weak fields, ephemerons and finalizers behave; allocation returns NULL at the heap
 * limit and the heap stays usable; a second thread attaches and allocates. The verifier is on.
 * Exit status 0 when every check passed. */
#include <tricolor/tricolor.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_failures = 0;

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond)) {                                                      \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++g_failures;                                                     \
    }                                                                   \
  } while (0)

/* Counters touched by destroy callbacks, which run on whichever thread sweeps. */
static long g_created = 0;
static long g_destroyed = 0;
static long g_corrupt = 0;

static void count_created(void) { __atomic_fetch_add(&g_created, 1, __ATOMIC_RELAXED); }
static long live_objects(void) {
  return __atomic_load_n(&g_created, __ATOMIC_RELAXED) - __atomic_load_n(&g_destroyed, __ATOMIC_RELAXED);
}

#define MAGIC 0x7C0FFEE000000000ull

/* ---- A node typed by a trace callback --------------------------------------------------------- */

typedef struct node {
  void* left;
  void* right;
  uint64_t value;
  uint64_t check;
} node;

static tc_type node_type;

static void node_trace(const void* obj, tc_tracer* t) {
  const node* n = (const node*)obj;
  tc_trace_slot(t, &n->left);
  tc_trace_named(t, tc_load(&n->right), "right");
}

static void node_destroy(void* obj) {
  node* n = (node*)obj;
  if ((n->value ^ MAGIC) != n->check) __atomic_fetch_add(&g_corrupt, 1, __ATOMIC_RELAXED);
  n->check = 0xDEAD; /* a later read of this node fails its check */
  __atomic_fetch_add(&g_destroyed, 1, __ATOMIC_RELAXED);
}

static node* new_node(uint64_t v) {
  node* n = (node*)tc_new(node_type);
  if (n == NULL) return NULL;
  n->value = v;
  n->check = v ^ MAGIC;
  count_created();
  return n;
}

static int intact(const node* n) { return (n->value ^ MAGIC) == n->check; }

/* A complete tree, built bottom-up with its subtrees rooted while the parent is allocated. */
static node* make_tree(int depth, uint64_t* next) {
  tc_root l, r;
  node* n;
  if (depth == 0) return NULL;
  tc_root_push(&l, make_tree(depth - 1, next), "left subtree");
  tc_root_push(&r, make_tree(depth - 1, next), "right subtree");
  n = new_node((*next)++);
  tc_store(&n->left, tc_root_get(&l));
  tc_store(&n->right, tc_root_get(&r));
  tc_root_pop(&r);
  tc_root_pop(&l);
  return n;
}

/* Counts the tree's nodes; each must be intact. */
static long check_tree(const node* n) {
  if (n == NULL) return 0;
  CHECK(intact(n));
  return 1 + check_tree((const node*)tc_load(&n->left)) + check_tree((const node*)tc_load(&n->right));
}

/* Pairs of nodes that point at each other: cycles, garbage as soon as they are built. */
static void make_garbage(int n) {
  int i;
  tc_root a; /* across b's allocation, which may be a safepoint */
  tc_root_push(&a, NULL, "garbage");
  for (i = 0; i < n; ++i) {
    node* b;
    tc_root_set(&a, new_node((uint64_t)i));
    b = new_node((uint64_t)i + 1);
    tc_store(&((node*)tc_root_get(&a))->left, b);
    tc_store(&b->left, tc_root_get(&a));
  }
  tc_root_pop(&a);
}

/* ---- Types described by pointer offsets ------------------------------------------------------- */

/* The pointers sit between plain data, so a trace that read the wrong words would be caught. */
typedef struct pair {
  uint64_t tag;
  void* car;
  uint32_t small;
  void* cdr;
  uint64_t check;
} pair;

static tc_type pair_type;
static long g_pairs_destroyed = 0;
static void pair_destroy(void* obj) {
  (void)obj;
  __atomic_fetch_add(&g_pairs_destroyed, 1, __ATOMIC_RELAXED);
}

/* A variable-size vector: count slots follow the fixed part. */
typedef struct vec {
  size_t count;
  uint64_t check;
  void* items[];
} vec;

static tc_type vec_type;

/* A weak box and an ephemeron. */
typedef struct wbox {
  void* target;
} wbox;
static tc_type wbox_type;

typedef struct eph {
  void* key;
  void* value;
} eph;
static tc_type eph_type;

static void eph_trace(const void* obj, tc_tracer* t) {
  const eph* e = (const eph*)obj;
  tc_trace_ephemeron(t, &e->key, &e->value);
}

static void register_types(void) {
  static const size_t pair_offsets[] = {offsetof(pair, car), offsetof(pair, cdr)};
  static const size_t weak_offsets[] = {offsetof(wbox, target)};
  tc_type_desc vd;
  tc_type_desc wd;
  node_type = tc_type_register_traced("c_node", sizeof(node), node_trace, node_destroy);
  pair_type = tc_type_register_offsets("c_pair", sizeof(pair), pair_offsets, 2, pair_destroy);

  memset(&vd, 0, sizeof vd);
  vd.name = "c_vec";
  vd.size = sizeof(vec);
  vd.trailing_pointers = 1;
  vd.trailing_count_offset = offsetof(vec, count);
  vec_type = tc_type_register(&vd);

  memset(&wd, 0, sizeof wd);
  wd.name = "c_wbox";
  wd.size = sizeof(wbox);
  wd.weak_offsets = weak_offsets;
  wd.weak_count = 1;
  wbox_type = tc_type_register(&wd);

  eph_type = tc_type_register_traced("c_ephemeron", sizeof(eph), eph_trace, NULL);
}

static tc_heap* new_test_heap(size_t max_heap) {
  tc_config c;
  tc_config_init(&c);
  c.verify = 1;
  c.initial_heap = 1u << 20;
  c.reserve = (size_t)4 << 30;
  c.marker_threads = 2;
  c.max_heap = max_heap;
  return tc_heap_create(&c);
}

/* ---- Tests ------------------------------------------------------------------------------------ */

static void test_roots_keep_trees(tc_heap* heap) {
  uint64_t next = 1;
  tc_root tree;
  long before = live_objects();
  tc_root_push(&tree, make_tree(10, &next), "tree");
  make_garbage(5000);
  tc_collect(heap);
  CHECK(check_tree((const node*)tc_root_get(&tree)) == 1023);
  CHECK(live_objects() - before == 1023); /* the garbage cycles are gone */

  tc_root_set(&tree, NULL);
  tc_collect(heap);
  CHECK(live_objects() == before);
  tc_root_pop(&tree);
  CHECK(__atomic_load_n(&g_corrupt, __ATOMIC_RELAXED) == 0);
}

static void test_frames_and_scopes(tc_heap* heap) {
  uint64_t next = 1;
  long before = live_objects();
  {
    TC_FRAME(f, 3);
    tc_root_set(&f[0], make_tree(6, &next));
    tc_root_set(&f[2], make_tree(4, &next));
    make_garbage(2000);
    tc_collect(heap);
    CHECK(check_tree((const node*)f[0].ptr) == 63);
    CHECK(f[1].ptr == NULL);
    CHECK(check_tree((const node*)tc_root_get(&f[2])) == 15);
    CHECK(live_objects() - before == 63 + 15);
    TC_FRAME_POP(f);
  }
  tc_collect(heap);
  CHECK(live_objects() == before);

  /* A scope pops, in one step, roots pushed since it was entered (an error path). */
  {
    tc_root outer, a, b;
    tc_scope s;
    tc_root_push(&outer, new_node(7), "outer");
    s = tc_scope_enter();
    tc_root_push(&a, new_node(8), "a");
    tc_root_push(&b, new_node(9), "b");
    tc_scope_leave(s);
    tc_collect(heap);
    CHECK(live_objects() - before == 1);
    CHECK(intact((const node*)tc_root_get(&outer)));
    tc_root_pop(&outer); /* the innermost again after the scope was left */
  }
  tc_collect(heap);
  CHECK(live_objects() == before);
}

static void test_descriptor_types(tc_heap* heap) {
  const int n = 2000;
  tc_root list, v, big;
  int i;
  long before = live_objects();
  long pairs_before = __atomic_load_n(&g_pairs_destroyed, __ATOMIC_RELAXED);
  tc_root_push(&list, NULL, "pair list");
  for (i = 0; i < n; ++i) {
    node* payload = new_node((uint64_t)i);
    tc_root keep;
    pair* p;
    tc_root_push(&keep, payload, "payload");
    p = (pair*)tc_new(pair_type);
    p->tag = (uint64_t)i;
    p->small = (uint32_t)i;
    p->check = (uint64_t)i ^ MAGIC;
    tc_store(&p->car, tc_root_get(&keep));
    tc_store_field(p, offsetof(pair, cdr), tc_root_get(&list));
    tc_root_pop(&keep);
    tc_root_set(&list, p);
    if (i % 8 == 0) make_garbage(4);
  }

  /* Variable size: a small vector and one past the small-object limit (a large object). */
  tc_root_push(&v, NULL, "vec");
  tc_root_push(&big, NULL, "big vec");
  {
    vec* sv = (vec*)tc_alloc(vec_type, sizeof(vec) + 100 * sizeof(void*));
    sv->count = 100;
    sv->check = MAGIC;
    tc_root_set(&v, sv);
  }
  {
    const size_t count = 6000; /* 48 KB */
    vec* lv = (vec*)tc_alloc(vec_type, sizeof(vec) + count * sizeof(void*));
    lv->count = count;
    lv->check = MAGIC + 1;
    tc_root_set(&big, lv);
  }
  for (i = 0; i < 100; ++i) {
    node* x = new_node(1000000u + (uint64_t)i);
    tc_store(&((vec*)tc_root_get(&v))->items[i], x);
    tc_store(&((vec*)tc_root_get(&big))->items[i * 59], x);
  }
  make_garbage(3000);
  tc_collect(heap);
  tc_collect(heap);

  {
    const pair* p = (const pair*)tc_root_get(&list);
    int seen = 0;
    for (; p != NULL; p = (const pair*)tc_load(&p->cdr), ++seen) {
      const node* payload = (const node*)tc_load(&p->car);
      const int expect = n - 1 - seen;
      CHECK(p->tag == (uint64_t)expect && p->small == (uint32_t)expect && p->check == ((uint64_t)expect ^ MAGIC));
      CHECK(payload != NULL && payload->value == (uint64_t)expect && intact(payload));
    }
    CHECK(seen == n);
  }
  {
    const vec* sv = (const vec*)tc_root_get(&v);
    const vec* lv = (const vec*)tc_root_get(&big);
    CHECK(sv->count == 100 && sv->check == MAGIC && lv->count == 6000 && lv->check == MAGIC + 1);
    for (i = 0; i < 100; ++i) {
      const node* x = (const node*)tc_load(&sv->items[i]);
      CHECK(x != NULL && x->value == 1000000u + (uint64_t)i && intact(x));
      CHECK(tc_load(&lv->items[i * 59]) == x);
    }
  }
  CHECK(__atomic_load_n(&g_pairs_destroyed, __ATOMIC_RELAXED) == pairs_before);
  CHECK(live_objects() - before == n + 100);
  CHECK(strcmp(tc_type_name_of(tc_root_get(&list)), "c_pair") == 0);

  tc_root_pop(&big);
  tc_root_pop(&v);
  tc_root_pop(&list);
  tc_collect(heap);
  CHECK(__atomic_load_n(&g_pairs_destroyed, __ATOMIC_RELAXED) == pairs_before + n);
  CHECK(live_objects() == before);
}

static void* g_slot = NULL;
static void* g_value_stack[16];
static size_t g_value_sp = 0;
static void* g_thread_stack[16];
static size_t g_thread_sp = 0;

static void trace_value_stack(tc_tracer* t, void* ctx) {
  (void)ctx;
  tc_trace_range(t, g_value_stack, g_value_sp);
}
static void trace_thread_stack(tc_tracer* t, void* ctx) {
  tc_trace_range(t, (void* const*)ctx, g_thread_sp);
}

static void test_globals_and_callbacks(tc_heap* heap) {
  uint64_t next = 1;
  long before = live_objects();
  tc_global* g = tc_global_new(heap, NULL, "c global");
  uint64_t heap_cb, thread_cb;
  tc_global_set(g, make_tree(5, &next));
  tc_add_global_slot(heap, &g_slot, "g_slot");
  tc_store(&g_slot, make_tree(4, &next));
  heap_cb = tc_heap_add_roots(heap, trace_value_stack, NULL, "value stack");
  thread_cb = tc_thread_add_roots(trace_thread_stack, g_thread_stack, "thread stack");
  tc_store(&g_value_stack[g_value_sp++], new_node(11));
  tc_store(&g_value_stack[g_value_sp++], make_tree(3, &next));
  tc_store(&g_thread_stack[g_thread_sp++], make_tree(2, &next));
  make_garbage(3000);
  tc_collect(heap);
  CHECK(check_tree((const node*)tc_global_get(g)) == 31);
  CHECK(check_tree((const node*)tc_load(&g_slot)) == 15);
  CHECK(check_tree((const node*)g_value_stack[0]) == 1);
  CHECK(check_tree((const node*)g_value_stack[1]) == 7);
  CHECK(check_tree((const node*)g_thread_stack[0]) == 3);
  CHECK(live_objects() - before == 31 + 15 + 1 + 7 + 3);

  tc_global_set(g, NULL);
  tc_store(&g_slot, NULL);
  g_value_sp = 1;
  tc_collect(heap);
  CHECK(live_objects() - before == 1 + 3);

  tc_heap_remove_roots(heap, heap_cb);
  tc_thread_remove_roots(thread_cb);
  tc_remove_global_slot(heap, &g_slot);
  tc_global_free(g);
  tc_collect(heap);
  CHECK(live_objects() == before);
}

static void finalize(void* obj, void* ctx) {
  CHECK(intact((const node*)obj));
  ++*(long*)ctx;
}

static void test_weak_ephemeron_finalizer(tc_heap* heap) {
  static long finalized = 0;
  tc_root box, kept, e1, e2, key;
  long before = live_objects();

  /* Weak: cleared when its target dies, kept while the target is rooted elsewhere. */
  tc_root_push(&box, tc_new(wbox_type), "weak box");
  tc_root_push(&kept, new_node(1), "kept");
  tc_weak_store(&((wbox*)tc_root_get(&box))->target, new_node(2));
  tc_collect(heap);
  CHECK(tc_weak_load(&((wbox*)tc_root_get(&box))->target) == NULL);
  tc_weak_store(&((wbox*)tc_root_get(&box))->target, tc_root_get(&kept));
  tc_collect(heap);
  CHECK(tc_weak_load(&((wbox*)tc_root_get(&box))->target) == tc_root_get(&kept));

  /* Ephemerons: the value lives while the key does. */
  tc_root_push(&key, new_node(3), "key");
  tc_root_push(&e1, tc_new(eph_type), "ephemeron, live key");
  tc_root_push(&e2, tc_new(eph_type), "ephemeron, dead key");
  tc_weak_store(&((eph*)tc_root_get(&e1))->key, tc_root_get(&key));
  tc_store(&((eph*)tc_root_get(&e1))->value, new_node(4));
  tc_weak_store(&((eph*)tc_root_get(&e2))->key, new_node(5));
  tc_store(&((eph*)tc_root_get(&e2))->value, new_node(6));
  tc_collect(heap);
  {
    const eph* a = (const eph*)tc_root_get(&e1);
    const eph* b = (const eph*)tc_root_get(&e2);
    const node* v = (const node*)tc_load(&a->value);
    CHECK(tc_weak_load(&a->key) == tc_root_get(&key) && v != NULL && v->value == 4 && intact(v));
    CHECK(tc_weak_load(&b->key) == NULL && tc_load(&b->value) == NULL);
  }
  CHECK(live_objects() - before == 3); /* kept, key, the live value */

  /* A finalizer runs once, on this thread, when asked; the object is freed after. */
  {
    node* doomed = new_node(7);
    tc_set_finalizer(heap, doomed, finalize, &finalized);
  }
  tc_collect(heap);
  CHECK(tc_pending_finalizers(heap) == 1);
  CHECK(live_objects() - before == 4); /* kept alive until its finalizer has run */
  CHECK(tc_run_finalizers(heap, (size_t)-1) == 1);
  CHECK(finalized == 1);
  tc_collect(heap);
  CHECK(live_objects() - before == 3);

  tc_root_pop(&e2);
  tc_root_pop(&e1);
  tc_root_pop(&key);
  tc_root_pop(&kept);
  tc_root_pop(&box);
  tc_collect(heap);
  CHECK(live_objects() == before);
}

/* ---- Leak checks ------------------------------------------------------------------------------ */

static void test_leak_check(tc_heap* heap) {
  tc_global* cache = tc_global_new(heap, NULL, "leaky cache");
  char* report = NULL;
  long before = live_objects();
  tc_leak_check* scope = tc_leak_check_begin(heap);
  make_garbage(100);                  /* garbage is not a leak */
  tc_global_set(cache, new_node(42)); /* still reachable from a global: a leak */
  CHECK(tc_leak_check_run(scope, &report) == 1);
  CHECK(report != NULL && strstr(report, "c_node") != NULL && strstr(report, "leaky cache") != NULL);
  /* Titled with the C name, not the C++ one. */
  CHECK(report != NULL && strstr(report, "tc_leak_check") != NULL && strstr(report, "tricolor::") == NULL);
  free(report);
  tc_leak_check_ignore_root(scope, "*leaky cache*");
  CHECK(tc_leak_check_run(scope, NULL) == 0);
  tc_leak_check_end(scope);
  tc_global_free(cache);
  tc_collect(heap);
  CHECK(live_objects() == before);
}

/* ---- A second thread -------------------------------------------------------------------------- */

typedef struct worker_args {
  tc_heap* heap;
  tc_global* result;
  int ok;
} worker_args;

static void* worker(void* p) {
  worker_args* args = (worker_args*)p;
  int i;
  tc_thread_attach(args->heap, "c worker");
  CHECK(tc_current_heap() == args->heap);
  {
    TC_FRAME(f, 1);
    for (i = 0; i < 20000; ++i) {
      node* n = new_node((uint64_t)i);
      tc_store(&n->left, tc_root_get(&f[0]));
      tc_root_set(&f[0], n);
      if (i % 4 == 0) make_garbage(1);
      if (i == 10000) tc_collect(args->heap);
    }
    tc_global_set(args->result, tc_root_get(&f[0]));
    TC_FRAME_POP(f);
  }
  tc_thread_detach();
  args->ok = 1;
  return NULL;
}

static void test_second_thread(tc_heap* heap) {
  worker_args args;
  pthread_t thread;
  long before = live_objects();
  args.heap = heap;
  args.result = tc_global_new(heap, NULL, "worker result");
  args.ok = 0;
  CHECK(pthread_create(&thread, NULL, worker, &args) == 0);
  make_garbage(20000); /* allocate alongside it */
  tc_blocking_enter(); /* joining waits: let collections proceed without us */
  pthread_join(thread, NULL);
  tc_blocking_leave();
  CHECK(args.ok);
  tc_collect(heap);
  {
    const node* n = (const node*)tc_global_get(args.result);
    long count = 0;
    for (; n != NULL; n = (const node*)tc_load(&n->left), ++count) CHECK(intact(n) && n->value == (uint64_t)(19999 - count));
    CHECK(count == 20000);
  }
  CHECK(live_objects() - before == 20000);
  tc_global_free(args.result);
  tc_collect(heap);
  CHECK(live_objects() == before);
}

/* ---- The heap limit --------------------------------------------------------------------------- */

static void test_heap_limit(void) {
  const size_t limit = (size_t)16 << 20;
  tc_heap* heap = new_test_heap(limit);
  tc_root chain;
  tc_stats s;
  long allocated = 0;
  tc_thread_attach(heap, "limit");
  tc_root_push(&chain, NULL, "chain");
  for (;;) {
    /* 4 KiB objects: each holds the previous one, so everything stays reachable. */
    pair* p = (pair*)tc_alloc(pair_type, 4096);
    if (p == NULL) break;
    tc_store(&p->cdr, tc_root_get(&chain));
    tc_root_set(&chain, p);
    if (++allocated > 100000) break;
  }
  CHECK(allocated > 1000 && allocated <= 100000); /* it failed, and cleanly */
  CHECK(tc_alloc_buffer((size_t)1 << 20) == NULL);
  CHECK(tc_alloc(pair_type, (size_t)1 << 20) == NULL);
  tc_heap_stats(heap, &s);
  CHECK(s.heap_bytes <= limit);

  /* Drop it all: the heap is usable again. */
  tc_root_set(&chain, NULL);
  tc_collect(heap);
  CHECK(tc_alloc(pair_type, (size_t)1 << 20) != NULL);
  CHECK(tc_alloc_buffer(4096) != NULL);
  tc_root_pop(&chain);
  tc_thread_detach();
  tc_heap_destroy(heap);
}

/* ---- NULL: the destroy/free functions accept it (as free does); optional arguments may be NULL -- */

static void count_roots(tc_tracer* t, void* ctx) {
  tc_trace_range(t, NULL, 0); /* no slots: nothing to read */
  tc_trace(t, NULL);          /* a NULL object is skipped */
  ++*(int*)ctx;
}

static void test_null_no_ops(tc_heap* heap) {
  int calls = 0;
  uint64_t id;
  tc_heap_destroy(NULL);
  tc_global_free(NULL);
  tc_leak_check_end(NULL);
  tc_release(NULL);
  tc_frame_push(NULL, 0, "empty"); /* zero roots: nothing to link */
  tc_frame_pop(NULL, 0);
  CHECK(tc_heap_contains(heap, NULL) == 0);
  /* A NULL name; NULL objects and an empty range inside a callback. */
  id = tc_heap_add_roots(heap, count_roots, &calls, NULL);
  tc_collect(heap);
  tc_heap_remove_roots(heap, id);
  CHECK(calls >= 1);
}

/* ---- Sizes: none wraps; what no heap could hold is NULL with a reason, and the heap stays usable -- */

static int last_error_has(const char* what) {
  const char* e = tc_last_error();
  return e != NULL && strstr(e, what) != NULL;
}

static void test_sizes(tc_heap* heap) {
  /* Around SIZE_MAX (where size + header wraps), 2^62, 2^40, and just past the 4 GiB reservation. */
  static const size_t huge[] = {SIZE_MAX,
                                SIZE_MAX - 7,
                                SIZE_MAX - 8,
                                SIZE_MAX - 16,
                                SIZE_MAX - 8192,
                                ((size_t)1 << 63) + 1,
                                ((size_t)1 << 62) + 1,
                                (size_t)1 << 62,
                                (size_t)1 << 40,
                                ((size_t)4 << 30) + 1};
  size_t i;
  vec* v;
  pair* a;
  pair* b;
  tc_root r;
  for (i = 0; i < sizeof huge / sizeof huge[0]; ++i) {
    CHECK(tc_alloc(pair_type, huge[i]) == NULL);
    CHECK(last_error_has("tc_alloc(\"c_pair\", ") && last_error_has("reservation"));
    CHECK(tc_alloc_buffer(huge[i]) == NULL);
    CHECK(last_error_has("tc_alloc_buffer(") && last_error_has("reservation"));
  }
  /* size + count * sizeof(void*) overflows: refused before the multiplication. */
  CHECK(tc_alloc_trailing(vec_type, SIZE_MAX) == NULL);
  CHECK(last_error_has("tc_alloc_trailing(\"c_vec\"") && last_error_has("not representable"));
  CHECK(tc_alloc_trailing(vec_type, (SIZE_MAX - sizeof(vec)) / sizeof(void*) + 1) == NULL);
  CHECK(last_error_has("not representable"));
  /* Representable, and past the reservation. */
  CHECK(tc_alloc_trailing(vec_type, (SIZE_MAX - sizeof(vec)) / sizeof(void*)) == NULL);
  CHECK(last_error_has("reservation"));
  CHECK(tc_alloc_trailing(vec_type, (size_t)1 << 40) == NULL);

  /* The heap is still usable: a trailing object has its count set and its slots zeroed and traced. */
  v = (vec*)tc_alloc_trailing(vec_type, 3);
  CHECK(v != NULL && v->count == 3 && v->items[0] == NULL && v->items[1] == NULL && v->items[2] == NULL);
  tc_root_push(&r, v, "sized vec");
  tc_store(&v->items[2], new_node(7));
  tc_collect(heap);
  v = (vec*)tc_root_get(&r);
  CHECK(v->items[2] != NULL && intact((const node*)v->items[2]));
  tc_root_pop(&r);
  /* Two objects never overlap (wrapped sizes used to hand out overlapping memory). */
  a = (pair*)tc_alloc(pair_type, 4096);
  b = (pair*)tc_alloc(pair_type, 4096);
  CHECK(a != NULL && b != NULL && ((char*)a + 4096 <= (char*)b || (char*)b + 4096 <= (char*)a));
}

/* ---- tc_type_desc_check: the verdict tc_type_register would reach, without stopping ------------- */

static int desc_refused(const tc_type_desc* d, const char* expected) {
  const char* why = tc_type_desc_check(d);
  return why != NULL && strstr(why, expected) != NULL && tc_last_error() == why;
}

/* tc_stats' allocation totals move by exactly what this thread allocated. Read after a collection,
 * which gives the allocation caches back (until then the slots still free in them count too). */
static void test_allocation_counters(tc_heap* heap) {
  enum { kN = 1000 };
  tc_stats s0, s1, s2, s3;
  size_t node_bytes;
  node* big;
  int i;
  tc_collect(heap);
  tc_heap_stats(heap, &s0);
  CHECK(new_node(1) != NULL);
  tc_collect(heap);
  tc_heap_stats(heap, &s1);
  CHECK(s1.allocated_objects - s0.allocated_objects == 1);
  node_bytes = s1.allocated_bytes - s0.allocated_bytes; /* the slot: at least the node and a header */
  CHECK(node_bytes > sizeof(node));
  for (i = 0; i < kN; ++i) CHECK(new_node((uint64_t)i) != NULL);
  tc_collect(heap);
  tc_heap_stats(heap, &s2);
  CHECK(s2.allocated_objects - s1.allocated_objects == kN);
  CHECK(s2.allocated_bytes - s1.allocated_bytes == kN * node_bytes);
  /* A large object is one object, of at least its size. */
  big = (node*)tc_alloc(node_type, 100 * 1024);
  CHECK(big != NULL);
  if (big != NULL) {
    big->value = 7;
    big->check = 7 ^ MAGIC;
    count_created();
  }
  tc_collect(heap);
  tc_heap_stats(heap, &s3);
  CHECK(s3.allocated_objects - s2.allocated_objects == 1);
  CHECK(s3.allocated_bytes - s2.allocated_bytes >= 100 * 1024);
  /* Reading and collecting allocate nothing. */
  tc_collect(heap);
  tc_heap_stats(heap, &s0);
  CHECK(s0.allocated_objects == s3.allocated_objects);
  CHECK(s0.allocated_bytes == s3.allocated_bytes);
}

static void test_desc_check(void) {
  static const size_t wrap[] = {SIZE_MAX - 7};
  static const size_t unaligned[] = {4};
  static const size_t at0[] = {0};
  static const size_t at8[] = {8};
  tc_type_desc d;
  memset(&d, 0, sizeof d);
  d.name = "Checked";
  d.size = 16;
  CHECK(tc_type_desc_check(&d) == NULL);
  d.pointer_offsets = at8;
  d.pointer_count = 1;
  CHECK(tc_type_desc_check(&d) == NULL);
  d.pointer_offsets = wrap;
  CHECK(desc_refused(&d, "tc_type_register(\"Checked\"): pointer offset 18446744073709551608 is not an aligned"));
  d.pointer_offsets = unaligned;
  CHECK(desc_refused(&d, "pointer offset 4 is not an aligned void* field"));
  d.pointer_offsets = NULL;
  CHECK(desc_refused(&d, "pointer_count is 1 but pointer_offsets is NULL"));
  d.pointer_count = 0;
  d.weak_offsets = wrap;
  d.weak_count = 1;
  CHECK(desc_refused(&d, "weak offset 18446744073709551608 is not an aligned void* field"));
  d.weak_offsets = at8;
  d.pointer_offsets = at8;
  d.pointer_count = 1;
  CHECK(desc_refused(&d, "offset 8 is listed both as a pointer and as a weak field"));
  d.weak_count = 0;
  d.weak_offsets = NULL;
  d.trailing_pointers = 1;
  d.trailing_count_offset = 0;
  CHECK(tc_type_desc_check(&d) == NULL);
  d.trailing_count_offset = SIZE_MAX - 7;
  CHECK(desc_refused(&d, "trailing_count_offset 18446744073709551608 is not an aligned size_t field"));
  d.trailing_count_offset = 8;
  CHECK(desc_refused(&d, "trailing_count_offset 8 is also listed as a pointer or weak field"));
  d.pointer_offsets = at0;
  d.size = 20;
  CHECK(desc_refused(&d, "with trailing_pointers the size (20) must be a multiple of the pointer size"));
}

/* ---- A heap that cannot be set up: NULL, as tricolor.h promises, with errno and a reason -------- */

static void expect_create_fails(size_t reserve) {
  tc_config c;
  tc_heap* heap;
  const char* why;
  tc_config_init(&c);
  c.reserve = reserve;
  errno = 0;
  heap = tc_heap_create(&c);
  why = tc_last_error();
  CHECK(heap == NULL);
  CHECK(errno == ENOMEM);
  CHECK(why != NULL && strstr(why, "tc_heap_create") != NULL && strstr(why, "reserve") != NULL);
  if (heap != NULL) tc_heap_destroy(heap);
}

static void test_heap_create_failure(void) {
  tc_heap* heap;
  expect_create_fails(SIZE_MAX);      /* rounding it up to whole arenas would wrap */
  expect_create_fails((size_t)1 << 62);
  /* Passes the size check; the mapping itself fails (2^47 bytes is the whole user address space). */
  expect_create_fails(((size_t)1 << 47) - ((size_t)64 << 20));
  /* The thread can still make a heap that fits. */
  heap = new_test_heap(0);
  CHECK(heap != NULL);
  tc_heap_destroy(heap);
}

int main(void) {
  tc_heap* heap;
  tc_stats s;
  register_types();
  heap = new_test_heap(0);
  tc_thread_attach(heap, "c main");
  CHECK(tc_current_heap() == heap);

  test_roots_keep_trees(heap);
  test_frames_and_scopes(heap);
  test_descriptor_types(heap);
  test_globals_and_callbacks(heap);
  test_weak_ephemeron_finalizer(heap);
  test_leak_check(heap);
  test_second_thread(heap);
  test_null_no_ops(heap);
  test_sizes(heap);
  test_allocation_counters(heap);

  tc_heap_stats(heap, &s);
  CHECK(s.cycles > 0 && s.objects_freed > 0);
  CHECK(__atomic_load_n(&g_corrupt, __ATOMIC_RELAXED) == 0);
  tc_thread_detach();
  CHECK(tc_current_heap() == NULL);
  tc_heap_destroy(heap);
  CHECK(live_objects() == 0);

  test_heap_limit();
  test_desc_check();
  test_heap_create_failure();

  if (g_failures != 0) {
    fprintf(stderr, "c_api_test: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("c_api_test: all checks passed (%ld objects)\n", g_created);
  return 0;
}
