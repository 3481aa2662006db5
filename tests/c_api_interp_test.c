/* What an interpreter needs from the C API (issue 14), from C99: tagged words stored through
 * tc_store_word and traced by descriptor (tagged_offsets) or by callback (tc_trace_word); a
 * variable-size table of 16-byte entries {pointer, tagged word} with 1-, 2- and 4-byte counts; an
 * object's allocated size from a trace callback; an open-addressing weak table whose dead keys become
 * tombstones in a weak callback; collect_every and tc_collect_async; the inline safepoint poll
 * answering a handshake from a loop that never allocates; tagged stores racing concurrent marking on
 * two threads. The verifier is on: a missed barrier or a wrong trace aborts the program. Exit status
 * 0 when every check passed. */
#include <tricolor/tricolor.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_failures = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++g_failures;                                                              \
    }                                                                            \
  } while (0)

/* Low-bit tags: ...1 a fixnum, ...010 a constant, ...000 (non-zero) an object. */
static inline void* decode(uintptr_t w) { return (w & 7u) == 0 ? (void*)w : NULL; }
static inline uintptr_t fixnum(uintptr_t n) { return (n << 1) | 1u; }
static inline uintptr_t obj_word(const void* p) { return (uintptr_t)p; }

#define MAGIC 0x5EEDF00DCAFEull
typedef struct leaf {
  uint64_t value, check;
} leaf;
static tc_type leaf_type;
static leaf* new_leaf(uint64_t v) {
  leaf* l = (leaf*)tc_new(leaf_type);
  l->value = v;
  l->check = v ^ MAGIC;
  return l;
}
static int leaf_ok(const void* p, uint64_t v) {
  const leaf* l = (const leaf*)p;
  return l != NULL && l->value == v && l->check == (v ^ MAGIC);
}

/* A cons of two tagged words, described by tagged_offsets. */
typedef struct cell {
  uintptr_t car, cdr;
} cell;
static tc_type cell_type;

/* The same, traced by a callback with tc_trace_word. */
static tc_type cell_cb_type;
static void cell_trace(const void* obj, tc_tracer* t) {
  const cell* c = (const cell*)obj;
  tc_trace_word(t, &c->car, decode, "car");
  tc_trace_word(t, &c->cdr, decode, "cdr");
}

/* A table of entries {key*, tagged value}: element_size 16, a pointer at +0, a tagged word at +8,
 * its count a uint8_t / uint16_t / uint32_t. */
typedef struct entry {
  void* key;
  uintptr_t value;
} entry;
typedef struct table8 {
  uint8_t count;
  uint8_t pad[7];
  entry e[];
} table8;
typedef struct table16 {
  uint16_t count;
  uint16_t pad[3];
  entry e[];
} table16;
typedef struct table32 {
  uint32_t used; /* changes: the trace must not loop to it */
  uint32_t count;
  entry e[];
} table32;
static tc_type table8_type, table16_type, table32_type;

/* A variable-size vector traced by a callback that bounds its loop by tc_object_size: the vector
 * is allocated with room for `capacity` words and has no count field at all. */
static tc_type sized_vec_type;
static long g_sized_traces = 0;
static void sized_vec_trace(const void* obj, tc_tracer* t) {
  const uintptr_t* w = (const uintptr_t*)obj;
  size_t n = tc_object_size(obj) / sizeof(uintptr_t), i;
  for (i = 0; i < n; ++i) tc_trace_word(t, &w[i], decode, "item");
  __atomic_fetch_add(&g_sized_traces, 1, __ATOMIC_RELAXED);
}

static void register_types(void) {
  static const size_t cell_tagged[] = {offsetof(cell, car), offsetof(cell, cdr)};
  static const size_t el_ptr[] = {offsetof(entry, key)};
  static const size_t el_tag[] = {offsetof(entry, value)};
  tc_type_desc d;
  leaf_type = tc_type_register_offsets("leaf", sizeof(leaf), NULL, 0, NULL);

  memset(&d, 0, sizeof d);
  d.name = "cell";
  d.size = sizeof(cell);
  d.tagged_offsets = cell_tagged;
  d.tagged_count = 2;
  d.decode = decode;
  cell_type = tc_type_register(&d);

  cell_cb_type = tc_type_register_traced("cell (callback)", sizeof(cell), cell_trace, NULL);

  memset(&d, 0, sizeof d);
  d.size = sizeof(table8);
  d.trailing_pointers = 1;
  d.element_size = sizeof(entry);
  d.element_pointer_offsets = el_ptr;
  d.element_pointer_count = 1;
  d.element_tagged_offsets = el_tag;
  d.element_tagged_count = 1;
  d.decode = decode;
  d.name = "table8";
  d.trailing_count_offset = offsetof(table8, count);
  d.trailing_count_width = 1;
  table8_type = tc_type_register(&d);
  d.name = "table16";
  d.size = sizeof(table16);
  d.trailing_count_offset = offsetof(table16, count);
  d.trailing_count_width = 2;
  table16_type = tc_type_register(&d);
  d.name = "table32";
  d.size = sizeof(table32);
  d.trailing_count_offset = offsetof(table32, count);
  d.trailing_count_width = 4;
  table32_type = tc_type_register(&d);

  sized_vec_type = tc_type_register_traced("sized vector", 0, sized_vec_trace, NULL);
}

static tc_heap* new_test_heap(void) {
  tc_config c;
  tc_config_init(&c);
  c.verify = 1;
  c.initial_heap = 1u << 20;
  c.reserve = (size_t)4 << 30;
  c.marker_threads = 2;
  return tc_heap_create(&c);
}

/* ---- Tagged fields ------------------------------------------------------------------------------ */

static void test_tagged_fields(tc_heap* heap) {
  int i;
  TC_FRAME(f, 2);
  /* A list of 2000 cells, alternately described and callback-traced: car a leaf or a fixnum. */
  for (i = 0; i < 2000; ++i) {
    cell* c = (cell*)tc_new(i % 2 ? cell_type : cell_cb_type);
    tc_store_word(&c->cdr, obj_word(tc_root_get(&f[0])), decode);
    tc_root_set(&f[0], c);
    if (i % 3 == 0) {
      leaf* l = new_leaf((uint64_t)i); /* c is rooted; l is stored before the next allocation */
      tc_store_word(&c->car, obj_word(l), decode);
    } else {
      tc_store_word(&c->car, fixnum((uintptr_t)i), decode);
    }
    if (i % 500 == 0) tc_collect(heap);
  }
  tc_collect(heap);
  {
    const cell* c = (const cell*)tc_root_get(&f[0]);
    int n = 1999, ok = 1;
    for (; c != NULL; c = (const cell*)decode(tc_load_word(&c->cdr)), --n) {
      uintptr_t car = tc_load_word(&c->car);
      if (n % 3 == 0) ok &= leaf_ok(decode(car), (uint64_t)n);
      else ok &= car == fixnum((uintptr_t)n);
    }
    CHECK(ok);
    CHECK(n == -1);
  }
  /* tc_write_barrier + the VM's own store: move the first cell's leaf into a new cell. */
  {
    cell* head = (cell*)tc_root_get(&f[0]);
    cell* other = (cell*)tc_new(cell_type);
    uintptr_t w;
    tc_root_set(&f[1], other);
    head = (cell*)tc_root_get(&f[0]);
    while (decode(tc_load_word(&head->car)) == NULL) head = (cell*)decode(tc_load_word(&head->cdr));
    w = tc_load_word(&head->car);
    tc_write_barrier(decode(w), NULL);
    __atomic_store_n(&head->car, fixnum(0), __ATOMIC_RELEASE);
    tc_write_barrier(decode(tc_load_word(&other->car)), decode(w));
    __atomic_store_n(&other->car, w, __ATOMIC_RELEASE);
    tc_collect(heap);
    CHECK(decode(tc_load_word(&other->car)) == decode(w));
    CHECK(((const leaf*)decode(w))->check == (((const leaf*)decode(w))->value ^ MAGIC));
  }
  TC_FRAME_POP(f);
}

/* ---- Arrays of structs ------------------------------------------------------------------------ */

static void fill_entries(entry* e, size_t n, uint64_t base) {
  size_t i;
  for (i = 0; i < n; ++i) {
    leaf* k = new_leaf(base + 2 * i); /* the table is rooted by the caller; nothing else allocates */
    tc_store(&e[i].key, k);
    if (i % 2) tc_store_word(&e[i].value, fixnum(i), decode);
    else tc_store_word(&e[i].value, obj_word(new_leaf(base + 2 * i + 1)), decode);
  }
}
static int check_entries(const entry* e, size_t n, uint64_t base) {
  size_t i;
  int ok = 1;
  for (i = 0; i < n; ++i) {
    ok &= leaf_ok(tc_load(&e[i].key), base + 2 * i);
    if (i % 2) ok &= tc_load_word(&e[i].value) == fixnum(i);
    else ok &= leaf_ok(decode(tc_load_word(&e[i].value)), base + 2 * i + 1);
  }
  return ok;
}

static void test_element_arrays(tc_heap* heap) {
  TC_FRAME(f, 4);
  table8* t8 = (table8*)tc_alloc_trailing(table8_type, 200);
  table16* t16;
  table32* t32;
  tc_root_set(&f[0], t8);
  CHECK(t8 != NULL && t8->count == 200);
  CHECK(tc_object_size(t8) >= sizeof(table8) + 200 * sizeof(entry));
  CHECK(tc_alloc_trailing(table8_type, 256) == NULL); /* does not fit a uint8_t count */
  CHECK(tc_last_error() != NULL && strstr(tc_last_error(), "1-byte count") != NULL);
  fill_entries(((table8*)tc_root_get(&f[0]))->e, 200, 1000);
  t16 = (table16*)tc_alloc_trailing(table16_type, 1000);
  tc_root_set(&f[1], t16);
  CHECK(t16 != NULL && t16->count == 1000);
  fill_entries(((table16*)tc_root_get(&f[1]))->e, 1000, 10000);
  t32 = (table32*)tc_alloc_trailing(table32_type, 3000); /* large: past the small size classes */
  tc_root_set(&f[2], t32);
  CHECK(t32 != NULL && t32->count == 3000);
  fill_entries(((table32*)tc_root_get(&f[2]))->e, 3000, 100000);
  tc_collect(heap);
  tc_collect(heap);
  CHECK(check_entries(((table8*)tc_root_get(&f[0]))->e, 200, 1000));
  CHECK(check_entries(((table16*)tc_root_get(&f[1]))->e, 1000, 10000));
  CHECK(check_entries(((table32*)tc_root_get(&f[2]))->e, 3000, 100000));
  /* A vector bounded by its allocated size: 37 words requested, all traced. */
  {
    uintptr_t* v = (uintptr_t*)tc_alloc(sized_vec_type, 37 * sizeof(uintptr_t));
    size_t cap, i;
    long traces;
    tc_root_set(&f[3], v);
    cap = tc_object_size(v) / sizeof(uintptr_t);
    CHECK(cap >= 37);
    for (i = 0; i < cap; ++i) {
      leaf* l = new_leaf(7000 + i);
      v = (uintptr_t*)tc_root_get(&f[3]);
      tc_store_word(&v[i], obj_word(l), decode);
    }
    traces = __atomic_load_n(&g_sized_traces, __ATOMIC_RELAXED);
    tc_collect(heap);
    CHECK(__atomic_load_n(&g_sized_traces, __ATOMIC_RELAXED) > traces);
    v = (uintptr_t*)tc_root_get(&f[3]);
    for (i = 0; i < cap; ++i) CHECK(leaf_ok(decode(tc_load_word(&v[i])), 7000 + i));
  }
  TC_FRAME_POP(f);
}

/* ---- An open-addressing weak table ------------------------------------------------------------ */

#define WT_SLOTS 64
typedef struct weak_table {
  void* keys[WT_SLOTS]; /* weak: NULL empty, TOMB a dead key (see below) */
  uintptr_t state[WT_SLOTS]; /* 0 empty, 1 live, 2 tombstone */
} weak_table;
static tc_type weak_table_type;
static void weak_table_trace(const void* obj, tc_tracer* t) {
  const weak_table* w = (const weak_table*)obj;
  size_t i;
  for (i = 0; i < WT_SLOTS; ++i) tc_trace_weak(t, &w->keys[i]);
}
static tc_global* g_table;
static long g_weak_calls = 0;
/* World stopped: a live entry whose key was cleared becomes a tombstone, so probing goes on past it. */
static void weak_table_prune(void* ctx) {
  weak_table* w = (weak_table*)tc_global_get(g_table);
  size_t i;
  (void)ctx;
  ++g_weak_calls;
  if (w == NULL) return;
  for (i = 0; i < WT_SLOTS; ++i)
    if (w->state[i] == 1 && w->keys[i] == NULL) w->state[i] = 2;
}
/* Finds key with linear probing from slot h; comparisons read the weak slot with a plain load (the
 * key is only compared, never escapes). */
static int wt_find(const weak_table* w, const void* key, size_t h) {
  size_t i;
  for (i = 0; i < WT_SLOTS; ++i) {
    size_t s = (h + i) % WT_SLOTS;
    if (w->state[s] == 0) return -1;
    if (w->state[s] == 1 && __atomic_load_n(&w->keys[s], __ATOMIC_RELAXED) == key) return (int)s;
  }
  return -1;
}

static void test_weak_table(tc_heap* heap) {
  uint64_t id;
  weak_table* w;
  size_t i;
  TC_FRAME(f, 1);
  weak_table_type = tc_type_register_traced("weak table", sizeof(weak_table), weak_table_trace, NULL);
  g_table = tc_global_new(heap, tc_new(weak_table_type), "weak table");
  id = tc_heap_add_weak_callback(heap, weak_table_prune, NULL);
  /* Four keys all hashing to slot 5: a chain 5, 6, 7, 8. Only the last one stays alive. */
  for (i = 0; i < 4; ++i) {
    leaf* k = new_leaf(i);
    w = (weak_table*)tc_global_get(g_table);
    tc_weak_store(&w->keys[5 + i], k);
    w->state[5 + i] = 1;
    if (i == 3) tc_root_set(&f[0], k);
  }
  tc_collect(heap);
  CHECK(g_weak_calls >= 1);
  w = (weak_table*)tc_global_get(g_table);
  for (i = 0; i < 3; ++i) CHECK(w->state[5 + i] == 2 && tc_weak_load(&w->keys[5 + i]) == NULL);
  /* The chain is intact: without tombstones slot 5 would read empty and the lookup would stop. */
  CHECK(wt_find(w, tc_root_get(&f[0]), 5) == 8);
  tc_heap_remove_weak_callback(heap, id);
  {
    long calls = g_weak_calls;
    tc_collect(heap);
    CHECK(g_weak_calls == calls);
  }
  tc_global_free(g_table);
  TC_FRAME_POP(f);
}

/* ---- Stress knobs ------------------------------------------------------------------------------ */

static void test_collect_every(void) {
  tc_config c;
  tc_heap* heap;
  tc_stats s0, s1;
  int i;
  tc_config_init(&c);
  c.verify = 1;
  c.gc_percent = -1;
  c.periodic_gc_ms = 0;
  c.reserve = (size_t)1 << 30;
  c.collect_every = 25;
  heap = tc_heap_create(&c);
  CHECK(heap != NULL);
  tc_thread_attach(heap, "collect-every");
  tc_heap_stats(heap, &s0);
  {
    TC_FRAME(f, 1);
    for (i = 0; i < 100; ++i) {
      cell* x = (cell*)tc_new(cell_type);
      tc_store_word(&x->cdr, obj_word(tc_root_get(&f[0])), decode);
      tc_root_set(&f[0], x);
    }
    tc_heap_stats(heap, &s1);
    CHECK(s1.cycles - s0.cycles == 4);
    tc_heap_set_collect_every(heap, 0);
    for (i = 0; i < 100; ++i) (void)tc_new(cell_type);
    tc_heap_stats(heap, &s0);
    CHECK(s0.cycles == s1.cycles);
    TC_FRAME_POP(f);
  }
  tc_thread_detach();
  tc_heap_destroy(heap);
}

/* ---- The inline poll --------------------------------------------------------------------------- */

typedef struct poll_args {
  tc_heap* heap;
  int done;
} poll_args;
static void* collector_thread(void* p) {
  poll_args* a = (poll_args*)p;
  tc_collect(a->heap); /* unattached: waits for every attached thread's handshake */
  __atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
  return NULL;
}
static void test_safepoint_poll(tc_heap* heap) {
  poll_args a;
  pthread_t t;
  unsigned long spins = 0;
  a.heap = heap;
  a.done = 0;
  tc_safepoint_poll(); /* nothing pending: returns at once */
  CHECK(pthread_create(&t, NULL, collector_thread, &a) == 0);
  /* A loop that never allocates: only the poll lets the collection go on. */
  while (!__atomic_load_n(&a.done, __ATOMIC_ACQUIRE)) {
    tc_safepoint_poll();
    ++spins;
  }
  tc_blocking_enter();
  pthread_join(t, NULL);
  tc_blocking_leave();
  CHECK(spins > 0);
}

/* ---- Tagged stores racing concurrent marking --------------------------------------------------- */

#define RACE_CELLS 32
typedef struct race_args {
  tc_heap* heap;
  unsigned seed;
  int ok;
} race_args;
static void* racer(void* p) {
  race_args* a = (race_args*)p;
  uint64_t x = a->seed * 0x9E3779B97F4A7C15ull + 1;
  tc_stats s;
  uint64_t target;
  int r;
  tc_thread_attach(a->heap, "tagged racer");
  tc_heap_stats(a->heap, &s);
  target = s.cycles + 4;
  {
    TC_FRAME(f, RACE_CELLS);
    for (r = 0; r < RACE_CELLS; ++r) tc_root_set(&f[r], tc_new(cell_type));
    for (r = 0;; ++r) {
      cell* from;
      cell* to;
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      from = (cell*)tc_root_get(&f[(x >> 20) % RACE_CELLS]);
      to = (cell*)tc_root_get(&f[(x >> 40) % RACE_CELLS]);
      switch ((x >> 10) % 3) {
        case 0: { /* a new leaf into `to` (allocation first: nothing unrooted is held across it) */
          leaf* l = new_leaf((uint64_t)r);
          to = (cell*)tc_root_get(&f[(x >> 40) % RACE_CELLS]);
          tc_store_word(&to->car, obj_word(l), decode);
          break;
        }
        case 1: { /* move: `from` loses it, `to` is its only holder */
          uintptr_t w = tc_load_word(&from->car);
          tc_store_word(&from->car, fixnum((uintptr_t)r), decode);
          tc_store_word(&to->car, w, decode);
          break;
        }
        default: tc_store_word(&to->cdr, obj_word(from), decode); break;
      }
      if (r % 64 == 0) {
        tc_collect_async(a->heap);
        tc_safepoint_poll();
        tc_heap_stats(a->heap, &s);
        if (r >= 4000 && s.cycles >= target) break;
      }
    }
    a->ok = 1;
    for (r = 0; r < RACE_CELLS; ++r) {
      const cell* c = (const cell*)tc_root_get(&f[r]);
      const leaf* l = (const leaf*)decode(tc_load_word(&c->car));
      if (l != NULL && l->check != (l->value ^ MAGIC)) a->ok = 0;
    }
    TC_FRAME_POP(f);
  }
  tc_thread_detach();
  return NULL;
}
static void test_concurrent_tagged_stores(tc_heap* heap) {
  pthread_t t[2];
  race_args a[2];
  int i;
  for (i = 0; i < 2; ++i) {
    a[i].heap = heap;
    a[i].seed = (unsigned)i + 1;
    a[i].ok = 0;
    CHECK(pthread_create(&t[i], NULL, racer, &a[i]) == 0);
  }
  tc_blocking_enter();
  for (i = 0; i < 2; ++i) pthread_join(t[i], NULL);
  tc_blocking_leave();
  for (i = 0; i < 2; ++i) CHECK(a[i].ok);
}

/* ---- Descriptors that do not describe their memory are refused, naming the problem ------------ */

static int refused(const tc_type_desc* d, const char* expected) {
  const char* m = tc_type_desc_check(d);
  return m != NULL && strstr(m, expected) != NULL;
}
static void test_desc_check(void) {
  static const size_t off0[] = {0};
  static const size_t off8[] = {8};
  static const size_t off16[] = {16};
  tc_type_desc d;
  memset(&d, 0, sizeof d);
  d.name = "bad";
  d.size = 16;
  d.tagged_offsets = off0;
  d.tagged_count = 1;
  CHECK(refused(&d, "decode is NULL"));
  d.decode = decode;
  CHECK(tc_type_desc_check(&d) == NULL);
  d.pointer_offsets = off0;
  d.pointer_count = 1;
  CHECK(refused(&d, "listed both as a tagged field and as a pointer"));
  d.pointer_count = 0;
  d.element_size = 16;
  CHECK(refused(&d, "trailing_pointers is not"));
  d.trailing_pointers = 1;
  d.trailing_count_offset = 8;
  d.trailing_count_width = 3;
  CHECK(refused(&d, "trailing_count_width 3"));
  d.trailing_count_width = 2;
  d.trailing_count_offset = 9;
  CHECK(refused(&d, "not an aligned 2-byte field"));
  d.trailing_count_offset = 8;
  d.element_tagged_offsets = off16;
  d.element_tagged_count = 1;
  CHECK(refused(&d, "element tagged offset 16 is not an aligned word inside the 16-byte element"));
  d.element_tagged_offsets = off8;
  d.element_pointer_offsets = off8;
  d.element_pointer_count = 1;
  CHECK(refused(&d, "element offset 8 is listed both"));
  d.element_pointer_offsets = off0;
  CHECK(tc_type_desc_check(&d) == NULL);
}

/* ---- Field names and indices in retention paths ---------------------------------------------- */

static void test_field_names(tc_heap* heap) {
  static const size_t holder_ptrs[] = {0};
  static const char* const holder_names[] = {"first_field"};
  static const size_t el_ptr[] = {offsetof(entry, key)};
  tc_type_desc d;
  tc_type holder, tab;
  tc_global* g;
  tc_global* g2;
  tc_leak_check* scope;
  char* report = NULL;
  memset(&d, 0, sizeof d);
  d.name = "holder";
  d.size = sizeof(void*);
  d.pointer_offsets = holder_ptrs;
  d.pointer_count = 1;
  d.pointer_names = holder_names;
  holder = tc_type_register(&d);
  memset(&d, 0, sizeof d);
  d.name = "entries";
  d.size = sizeof(table32);
  d.trailing_pointers = 1;
  d.trailing_count_offset = offsetof(table32, count);
  d.trailing_count_width = 4;
  d.element_size = sizeof(entry);
  d.element_pointer_offsets = el_ptr;
  d.element_pointer_count = 1;
  tab = tc_type_register(&d);
  scope = tc_leak_check_begin(heap);
  g = tc_global_new(heap, tc_new(holder), "named holder");
  tc_store((void**)tc_global_get(g), new_leaf(1));
  g2 = tc_global_new(heap, tc_alloc_trailing(tab, 4), "named table");
  tc_store(&((table32*)tc_global_get(g2))->e[3].key, new_leaf(2));
  CHECK(tc_leak_check_run(scope, &report) >= 4);
  CHECK(report != NULL && strstr(report, "first_field") != NULL);
  CHECK(report != NULL && strstr(report, "element[3]") != NULL);
  if (report != NULL && (strstr(report, "first_field") == NULL || strstr(report, "element[3]") == NULL))
    fprintf(stderr, "report:\n%s\n", report);
  free(report);
  tc_global_free(g2);
  tc_global_free(g);
  tc_leak_check_end(scope);
}

int main(void) {
  tc_heap* heap;
  register_types();
  test_desc_check();
  heap = new_test_heap();
  CHECK(heap != NULL);
  tc_thread_attach(heap, "c main");
  test_tagged_fields(heap);
  test_element_arrays(heap);
  test_weak_table(heap);
  test_field_names(heap);
  test_safepoint_poll(heap);
  test_concurrent_tagged_stores(heap);
  tc_thread_detach();
  tc_heap_destroy(heap);
  test_collect_every();
  if (g_failures != 0) fprintf(stderr, "%d check(s) failed\n", g_failures);
  else printf("c_api_interp_test: all checks passed\n");
  return g_failures == 0 ? 0 : 1;
}
