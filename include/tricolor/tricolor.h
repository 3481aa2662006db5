/* tricolor.h: the C API of the tricolor garbage collector, for C99 and C++ (extern "C").
 *
 * The same collector as the C++ API, reached through plain functions and structs: heaps, attached
 * threads, object types described by a trace callback or by a table of pointer offsets, precise
 * stack roots on the thread's LIFO root list, global roots, and the write barrier inline here.
 * docs/c_api.md walks through it with examples.
 *
 * The rules an embedder follows (the same as in C++):
 *  1. A thread that allocates, pushes roots or stores into the heap is attached (tc_thread_attach).
 *  2. A raw pointer returned by tc_alloc or read from a field is valid until the thread's next
 *     safepoint (an allocation, tc_safepoint, tc_blocking_enter, tc_collect): keep what you need
 *     across those in a tc_root, a frame (TC_FRAME), a global, or a field of a reachable object.
 *  3. EVERY store of a pointer into a heap object or a registered global slot goes through tc_store
 *     (or tc_store_field); of a tagged word that may hold a pointer, through tc_store_word (or
 *     tc_write_barrier right before the VM's own atomic store). A plain `obj->field = p` skips the
 *     write barrier and lets a concurrent collection free a live object. Reads go through tc_load where a marker may race with them
 *     (always safe), or plain reads on the owning thread (fine on every compiler this header
 *     supports, but not what ThreadSanitizer wants).
 *  4. A trace callback visits every pointer field of its object and reads nothing else that changes
 *     after the object is first published (a length field is set right after tc_alloc, before the
 *     next safepoint).
 *  5. A thread that waits (I/O, locks, joins) does so between tc_blocking_enter and tc_blocking_leave,
 *     touching no heap object meanwhile; otherwise collections wait for it.
 *  6. Destroy callbacks run on whichever thread sweeps; they must not touch other collected objects
 *     or allocate. No trace, root or destroy callback may collect or allocate (it stops with a
 *     message: the collection would wait for the callback's own work).
 *
 * Misuse stops the program with a message that names the C function and what to do (docs/c_api.md,
 * "Misuse and what it says"). NULL in particular: a function given NULL where it needs a handle
 * (tc_heap*, tc_global*, tc_leak_check*, tc_tracer*, tc_root*, a type descriptor) or an out-pointer
 * stops with "tc_fn: the arg argument is NULL". The destroy/free functions (tc_heap_destroy,
 * tc_global_free, tc_leak_check_end, tc_release) accept NULL and do nothing, as free() does. Arguments
 * documented as optional (names, tc_heap_create's config, tc_leak_check_run's report, an empty frame
 * or range) may be NULL. The inline accessors (tc_store ... tc_weak_store) are the fast path and check
 * nothing: a NULL slot faults at the call site.
 *
 * Needs GCC or Clang (the barrier uses their __atomic builtins, which -std=c99 -pedantic accepts). */
#ifndef TRICOLOR_H
#define TRICOLOR_H

#include <stddef.h>
#include <stdint.h>

#include "tricolor/export.h"
#include "tricolor/version.h"

#if !defined(__GNUC__)
#error "tricolor.h needs GCC or Clang (__atomic builtins)"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Heaps ---------------------------------------------------------------------------------- */

typedef struct tc_heap tc_heap;

/* Phases of a cycle, as tricolor::Phase. */
typedef enum tc_phase {
  TC_PHASE_IDLE,
  TC_PHASE_SWEEP_TERMINATION,
  TC_PHASE_MARK_START,
  TC_PHASE_ROOT_SCAN,
  TC_PHASE_MARK,
  TC_PHASE_MARK_TERMINATION,
  TC_PHASE_SWEEP
} tc_phase;

typedef struct tc_event {
  tc_phase phase;
  uint64_t cycle;
  uint64_t time_ns;    /* monotonic, when the phase began */
  uint64_t heap_bytes; /* committed heap when the phase began */
} tc_event;

/* The knobs of tricolor::Config (README "Configuration"). Fill it with tc_config_init first, then
 * change what you need: fields added later get their defaults that way. The TRICOLOR_* environment
 * variables are applied on top when the heap is created. */
typedef struct tc_config {
  size_t initial_heap;         /* heap size at which the first cycle starts */
  int gc_percent;              /* growth over the last live heap that triggers a cycle; -1: off */
  size_t max_heap;             /* hard limit in bytes; 0: none */
  size_t soft_limit;           /* soft limit in bytes (GOMEMLIMIT); 0: none */
  unsigned marker_threads;     /* background markers; 0: half the cores, at least one */
  int concurrent;              /* 0: mark with the world stopped */
  int verify;                  /* 1: re-trace after every mark, abort on an unmarked reachable object */
  int gctrace;                 /* 1: one line per cycle on stderr */
  int background_sweeper;      /* 0: sweep only lazily, on allocation */
  unsigned scavenge_delay_ms;  /* free spans unused this long go back to the OS */
  unsigned periodic_gc_ms;     /* a cycle when none ran for this long (memory returns when idle); 0 off */
  size_t alloc_sites;          /* record allocation stacks for leak reports: 0 off, 1 all, N per N bytes */
  const char* find_leak;       /* find-leak mode: comma-separated type-name globs ("*": all); NULL off */
  size_t reserve;              /* address space reserved for the heap (not committed) */
  /* Stress: a full collection every N allocations of the heap (1: every one); 0 off. Every
   * allocation then takes the out-of-line path. TRICOLOR_COLLECT_EVERY; tc_heap_set_collect_every. */
  size_t collect_every;
  /* Called on the collector's thread at each phase change; must not allocate or block. */
  void (*on_event)(const tc_event* event, void* context);
  void* event_context;
  /* CPU share of background marking, percent of the cores (Go: 25); markers rest over it and
   * allocating threads assist. 0: no cap. TRICOLOR_MARK_CPU. */
  unsigned mark_cpu_percent;
} tc_config;

TRICOLOR_API void tc_config_init(tc_config* config);
/* A heap with the given configuration (NULL: defaults), or NULL if it could not be set up: the
 * address space could not be reserved (a `reserve` larger than the process can map, a `ulimit -v`,
 * valgrind), or its threads could not be started. errno is then ENOMEM (or EAGAIN for threads) and
 * tc_last_error() says what failed. */
TRICOLOR_API tc_heap* tc_heap_create(const tc_config* config);
/* Why the last call on this thread that returned NULL (tc_heap_create, tc_alloc, tc_new,
 * tc_alloc_trailing, tc_alloc_buffer) failed, or the last problem tc_type_desc_check found, as a
 * sentence naming the function; NULL if none has failed. The text stays valid until the next failure on this thread; calls that succeed leave it
 * as it is. */
TRICOLOR_API const char* tc_last_error(void);
/* Runs the destroy callback of every object still allocated. Every thread must have detached (the
 * calling one included) and every tc_global of the heap been freed first. */
TRICOLOR_API void tc_heap_destroy(tc_heap* heap);

/* A full collection; returns when every unreachable object's destroy callback has run. Callable from
 * attached threads (their roots count) and unattached ones. */
TRICOLOR_API void tc_collect(tc_heap* heap);
/* Starts a concurrent cycle and returns at once (none is started if one is already under way or
 * requested). For stress tests: a mutator that keeps running while markers race with it. */
TRICOLOR_API void tc_collect_async(tc_heap* heap);
/* As tc_config.collect_every, changed on a live heap (0 turns it off). */
TRICOLOR_API void tc_heap_set_collect_every(tc_heap* heap, size_t n);

typedef struct tc_pause_summary {
  size_t count;
  double p50_ms, p90_ms, p99_ms, max_ms, total_ms;
} tc_pause_summary;

/* tricolor::Stats without the pause list. */
typedef struct tc_stats {
  size_t heap_bytes;       /* committed span bytes */
  size_t heap_peak_bytes;
  size_t committed_bytes;  /* address space committed (spans in use or free) */
  size_t released_bytes;   /* of which returned to the OS by the scavenger */
  size_t live_bytes;       /* marked at the end of the last cycle */
  size_t allocated_bytes;  /* total handed to mutators */
  size_t heap_goal;
  uint64_t cycles;
  uint64_t objects_freed;
  double mark_wall_ms;
  double mark_cpu_ms;
  double assist_ms;
  tc_pause_summary global_pauses; /* mark start, mark termination, full stops */
  tc_pause_summary thread_pauses; /* root scans, handshakes, assists */
  /* Objects allocated since the heap was created, every thread together (tricolor::Stats::
   * allocated_objects); allocated_bytes above is their slot bytes (size class with header; large
   * objects in whole pages). Exact except for the slots still free in threads' allocation caches,
   * which count as allocated until given back (every collection and tc_thread_detach give them back).
   * Appended last, so the fields above keep their offsets; the struct grew, so the library's minor
   * version (and with it the soname, libtricolor.so.0.2) moved. */
  size_t allocated_objects;
} tc_stats;

TRICOLOR_API void tc_heap_stats(tc_heap* heap, tc_stats* out);
/* Run-time knobs (Go's debug.SetGCPercent / SetMemoryLimit; tricolor::Heap::set_gc_percent and
 * set_soft_limit): change a live heap's pacing from any thread; each returns the previous value.
 * gc_percent: -1 (no paced cycles) to 1000000; soft_limit: bytes, 0 for none, at most 16 TiB. */
TRICOLOR_API int tc_heap_set_gc_percent(tc_heap* heap, int gc_percent);
TRICOLOR_API size_t tc_heap_set_soft_limit(tc_heap* heap, size_t soft_limit);
/* Is p the start of an object of this heap (a pointer tc_alloc could have returned)? */
TRICOLOR_API int tc_heap_contains(tc_heap* heap, const void* p);

/* ---- Threads -------------------------------------------------------------------------------- */

/* Attaches the calling thread (name: for reports; may be NULL). One heap per thread at a time. */
TRICOLOR_API void tc_thread_attach(tc_heap* heap, const char* name);
/* Every root the thread pushed must have been popped. A thread that exits attached is detached by
 * the runtime, which checks the same: a root still pushed at exit stops the program, naming it. */
TRICOLOR_API void tc_thread_detach(void);
/* The calling thread's heap, or NULL when it is not attached. */
TRICOLOR_API tc_heap* tc_current_heap(void);

/* While inside (they nest), the thread counts as stopped: collections proceed without it and scan
 * its roots on its behalf. It must not allocate, store, or read heap objects until it leaves. */
TRICOLOR_API void tc_blocking_enter(void);
TRICOLOR_API void tc_blocking_leave(void);
/* Answers a pending handshake: call it in long loops that do not allocate. tc_safepoint_poll (below,
 * inline) is the cheap form for a bytecode loop: it calls this only when a handshake is pending. */
TRICOLOR_API void tc_safepoint(void);

/* ---- Types ---------------------------------------------------------------------------------- */

typedef uint32_t tc_type;
typedef struct tc_tracer tc_tracer;

/* Visits every pointer field of obj with tc_trace / tc_trace_slot (and weak fields with
 * tc_trace_weak). May run on a marker thread while mutators store into obj. */
typedef void (*tc_trace_fn)(const void* obj, tc_tracer* tracer);
/* Runs when the sweeper frees obj (or the heap is destroyed). */
typedef void (*tc_destroy_fn)(void* obj);
/* A tagged word's decoder: the object the word refers to (the exact address tc_alloc returned), or
 * NULL for an immediate (a fixnum, a NaN-boxed double, a constant). Pure and cheap: it runs in the
 * barrier of every tc_store_word while a heap marks, and on marker threads for every tagged field. */
typedef void* (*tc_decode_fn)(uintptr_t word);

/* A type, described by a trace callback, by the offsets of its pointer fields, or both (the offsets
 * are traced first). With neither, objects of the type are never scanned (pointer-free). Zero-
 * initialize it and set what you use; the tables are copied. */
typedef struct tc_type_desc {
  const char* name;               /* for leak reports and the verifier's paths (copied) */
  size_t size;                    /* the fixed part: tc_new allocates this, tc_alloc at least this */
  tc_trace_fn trace;
  const size_t* pointer_offsets;  /* each the offset of a void* field holding an object or NULL */
  size_t pointer_count;
  const size_t* weak_offsets;     /* void* fields that do not keep their target alive (tc_weak_load) */
  size_t weak_count;
  /* Nonzero: a variable-size object whose void* slots start at `size` and number as many as the
   * size_t field at trailing_count_offset says (set it right after tc_alloc, then never change it).
   * The count is bounded by the allocation: one larger than the slots tc_alloc's size holds stops a
   * debug-checks build with a message naming the type; a release build traces only those slots. */
  int trailing_pointers;
  size_t trailing_count_offset;
  tc_destroy_fn destroy;          /* optional */
  /* Tagged fields: uintptr_t words holding an immediate or an encoded pointer (store them with
   * tc_store_word). Each is decoded with `decode` (required when any tagged offset is given). */
  const size_t* tagged_offsets;
  size_t tagged_count;
  tc_decode_fn decode;
  /* Optional names of the pointer_offsets fields (pointer_count entries, copied; NULL entries
   * allowed): the verifier's and leak reports' paths print them instead of "+16". */
  const char* const* pointer_names;
  /* Trailing elements (with trailing_pointers): 0 keeps the void* slots above; nonzero: the trailing
   * part is an array of structs of element_size bytes (a multiple of sizeof(void*)), each with void*
   * fields at element_pointer_offsets and tagged words at element_tagged_offsets (decoded with
   * `decode`), counted by the trailing count. A hash table's entries {key*, tagged value}: size 16,
   * a pointer at +0, a tagged word at +8. */
  size_t element_size;
  const size_t* element_pointer_offsets;
  size_t element_pointer_count;
  const size_t* element_tagged_offsets;
  size_t element_tagged_count;
  /* Width of the trailing count field in bytes: 1, 2, 4 or 8 (an unsigned integer of that size);
   * 0 means sizeof(size_t). The field must be aligned to its width. */
  unsigned trailing_count_width;
} tc_type_desc;

/* Registers a type, process-wide (usable with every heap); returns its handle. A descriptor that
 * does not describe the type's memory (an offset that is unaligned or not inside `size`, a count
 * without its table, a field listed both strong and weak, a trailing count field that is not an
 * aligned size_t inside `size` or is also a pointer field, a trailing type whose size is not a
 * multiple of sizeof(void*)) stops the program with a message naming the type and the field. */
TRICOLOR_API tc_type tc_type_register(const tc_type_desc* desc);
/* NULL when tc_type_register would accept desc; otherwise the message it would stop with (the same
 * text tc_last_error() then returns). For descriptors built from data at run time (an FFI, a
 * language's class definitions) that should be refused rather than stop the program. */
TRICOLOR_API const char* tc_type_desc_check(const tc_type_desc* desc);
/* Shorthands: by trace callback; by a pointer-offset table. */
TRICOLOR_API tc_type tc_type_register_traced(const char* name, size_t size, tc_trace_fn trace, tc_destroy_fn destroy);
TRICOLOR_API tc_type tc_type_register_offsets(const char* name, size_t size, const size_t* pointer_offsets,
                                              size_t pointer_count, tc_destroy_fn destroy);
/* The registered name of obj's type. obj is an object of the calling thread's heap or of any heap made
 * by tc_heap_create; anything else (NULL, a stack or static address, an interior pointer) stops with a
 * message. */
TRICOLOR_API const char* tc_type_name_of(const void* obj);

/* ---- Allocation (the calling thread must be attached) ---------------------------------------- */

/* Each returns NULL when the heap limit is reached even after an emergency collection, or when the
 * size is larger than the heap could ever hold (more than its reservation, up to SIZE_MAX: nothing
 * wraps); tc_last_error() then says which. */

/* A zeroed object of `type`, of `size` bytes (at least the type's size: the rest is the variable
 * part). All tc_object_size(obj) bytes are zeroed, the size class's slack included. */
TRICOLOR_API void* tc_alloc(tc_type type, size_t size);
/* tc_alloc(type, the type's size). */
TRICOLOR_API void* tc_new(tc_type type);
/* For a type with trailing_pointers: a zeroed object with room for `count` slots (or elements of
 * element_size bytes) after the fixed part, its count field already set to `count`. The size
 * arithmetic is done here, without overflow (NULL when the size is not representable, or when count
 * does not fit the count field's width). */
TRICOLOR_API void* tc_alloc_trailing(tc_type type, size_t count);
/* A pointer-free buffer the collector never scans, NOT zeroed. */
TRICOLOR_API void* tc_alloc_buffer(size_t bytes);
/* The usable bytes of obj's allocation: at least the size tc_alloc was given (the size class may
 * round it up). Callable anywhere, trace callbacks included (on marker threads): a trace function
 * of a variable-size object can bound its loop by it instead of by a field the mutator changes. */
TRICOLOR_API size_t tc_object_size(const void* obj);

/* ---- Tracing (inside trace and root callbacks) ---------------------------------------------- */

/* obj: an object of the heap, or NULL (ignored). */
TRICOLOR_API void tc_trace(tc_tracer* tracer, const void* obj);
/* As tc_trace, naming the field in the verifier's and leak reports' paths. */
TRICOLOR_API void tc_trace_named(tc_tracer* tracer, const void* obj, const char* field);
/* As tc_trace_named, with an element index (a table's entry i) for the paths. */
TRICOLOR_API void tc_trace_indexed(tc_tracer* tracer, const void* obj, const char* field, size_t index);
/* Loads the tagged word *slot (race-free against a concurrent tc_store_word), decodes it and traces
 * the object it refers to, if any. field may be NULL. */
TRICOLOR_API void tc_trace_word(tc_tracer* tracer, const uintptr_t* slot, tc_decode_fn decode, const char* field);
/* Loads *slot as tc_load does (race-free against a concurrent tc_store) and traces it. */
TRICOLOR_API void tc_trace_slot(tc_tracer* tracer, void* const* slot);
/* n consecutive slots: an interpreter's value stack, a trailing array. */
TRICOLOR_API void tc_trace_range(tc_tracer* tracer, void* const* slots, size_t n);
/* A weak field: cleared (to NULL) when its target dies; read it with tc_weak_load. */
TRICOLOR_API void tc_trace_weak(tc_tracer* tracer, void* const* slot);
/* An ephemeron: *value_slot is kept alive only while *key_slot's target is alive by other paths;
 * when the key dies both are cleared. key_slot is a weak field; value_slot a normal one. */
TRICOLOR_API void tc_trace_ephemeron(tc_tracer* tracer, void* const* key_slot, void* const* value_slot);

/* ---- Roots ---------------------------------------------------------------------------------- */

/* A stack root: a node of the calling thread's LIFO root list (the same list as tricolor::Root<T>).
 * Read `ptr` directly or with tc_root_get; write it only with tc_root_set. prev and name belong to
 * the runtime. */
typedef struct tc_root {
  struct tc_root* prev;
  void* ptr;
  const char* name;
} tc_root;

/* Links r (caller-owned storage, normally a local variable) as the innermost root, holding obj. */
TRICOLOR_API void tc_root_push(tc_root* r, void* obj, const char* name);
/* Unlinks r, which must be the innermost root (pop in reverse order of push). */
TRICOLOR_API void tc_root_pop(tc_root* r);

/* A frame of n roots, all NULL, on the stack: TC_FRAME(f, 3); ... tc_root_set(&f[0], obj); ...
 * TC_FRAME_POP(f); before the function returns. */
#define TC_FRAME(frame, n) \
  tc_root frame[n];        \
  tc_frame_push(frame, (n), #frame)
#define TC_FRAME_POP(frame) tc_frame_pop(frame, sizeof(frame) / sizeof((frame)[0]))
TRICOLOR_API void tc_frame_push(tc_root* roots, size_t n, const char* name);
TRICOLOR_API void tc_frame_pop(tc_root* roots, size_t n);

/* Handle scopes: tc_scope_leave pops every root pushed since the matching tc_scope_enter, for error
 * paths that unwind several frames at once (longjmp). */
typedef struct tc_scope {
  tc_root* top;
} tc_scope;
TRICOLOR_API tc_scope tc_scope_enter(void);
TRICOLOR_API void tc_scope_leave(tc_scope scope);

/* Global roots, heap-wide, usable from any thread. A tc_global holds one pointer; name may be NULL
 * and must outlive the global. tc_global_set needs an attached thread. */
typedef struct tc_global tc_global;
TRICOLOR_API tc_global* tc_global_new(tc_heap* heap, void* obj, const char* name);
TRICOLOR_API void tc_global_set(tc_global* global, void* obj);
TRICOLOR_API void* tc_global_get(const tc_global* global);
TRICOLOR_API void tc_global_free(tc_global* global);

/* A void* variable of the program (a C global) as a root: store into it only with tc_store. name may
 * be NULL and must outlive the registration. */
TRICOLOR_API void tc_add_global_slot(tc_heap* heap, void** slot, const char* name);
TRICOLOR_API void tc_remove_global_slot(tc_heap* heap, void** slot);

/* Root callbacks: trace the embedder's own structures (a value stack, a symbol table) with
 * tc_trace / tc_trace_range. Keep them short: their time is a pause.
 *  - Per-thread (the calling thread's): run at that thread's own root scan, like its tc_roots, so
 *    the thread writes what they trace with plain stores.
 *  - Heap-wide: run once per cycle, while the world is stopped at its start. Stores into what they
 *    trace go through tc_store: after that scan, its barrier is what keeps a pointer moved there
 *    from a root not yet scanned (a plain store can lose the object). */
typedef void (*tc_roots_fn)(tc_tracer* tracer, void* context);
TRICOLOR_API uint64_t tc_heap_add_roots(tc_heap* heap, tc_roots_fn fn, void* context, const char* name);
TRICOLOR_API void tc_heap_remove_roots(tc_heap* heap, uint64_t id);
TRICOLOR_API uint64_t tc_thread_add_roots(tc_roots_fn fn, void* context, const char* name);
TRICOLOR_API void tc_thread_remove_roots(uint64_t id);

/* ---- Weak tables ---------------------------------------------------------------------------- */

/* Runs once per cycle after weak processing (every weak field whose target died is NULL), at mark
 * termination with the world stopped, before any dead object is swept. For weak tables: turn the
 * entries whose key was cleared into tombstones (or prune them), so an open-addressing probe chain
 * is never cut by an entry that became empty. It may read and write the heap with plain loads and
 * stores (no thread runs; stores of NULL or of immediates need no barrier), must not store a pointer
 * to an object that was not already reachable, must not allocate, collect or block. */
typedef void (*tc_weak_callback_fn)(void* context);
TRICOLOR_API uint64_t tc_heap_add_weak_callback(tc_heap* heap, tc_weak_callback_fn fn, void* context);
TRICOLOR_API void tc_heap_remove_weak_callback(tc_heap* heap, uint64_t id);

/* ---- Finalizers ----------------------------------------------------------------------------- */

/* Runs fn(obj, context) once after obj becomes unreachable, on a thread calling tc_run_finalizers:
 * never on the sweeper, never during marking. Until then obj and what it references stay valid; the
 * finalizer may resurrect obj by storing it somewhere reachable. fn NULL removes it. */
typedef void (*tc_finalizer_fn)(void* obj, void* context);
TRICOLOR_API void tc_set_finalizer(tc_heap* heap, void* obj, tc_finalizer_fn fn, void* context);
/* Runs up to max pending finalizers on the calling (attached) thread; returns how many ran. */
TRICOLOR_API size_t tc_run_finalizers(tc_heap* heap, size_t max);
TRICOLOR_API size_t tc_pending_finalizers(tc_heap* heap);

/* ---- The barrier and field access (inline) -------------------------------------------------- */

/* Internal: what the inline functions below need. Not part of the API. */
extern TRICOLOR_API const void* const tc_internal_barrier_flag; /* the process-wide "a heap marks" flag */
/* the process-wide "some heap's root round is not over" flag (tc_root_set's barrier) */
extern TRICOLOR_API const void* const tc_internal_root_barrier_flag;
TRICOLOR_API void tc_internal_write_barrier_slow(const void* old_value, const void* new_value);
TRICOLOR_API void tc_internal_root_barrier_slow(const void* new_value);
TRICOLOR_API void tc_internal_weak_barrier_slow(const void* new_value);
TRICOLOR_API void tc_internal_check_heap_pointer(const void* p, const char* what);
/* The C++ runtime's per-thread state pointer (tricolor::internal::tls_thread, named here by its
 * symbol; NULL on a thread that is not attached) and the offsets in that state of what the inline
 * poll and the inline barrier read and write, checked by static_asserts in capi/c_api.cpp. */
#if defined(__APPLE__)
extern __thread void* tc_internal_tls_thread __asm__("__ZN8tricolor8internal10tls_threadE");
#else
extern __thread void* tc_internal_tls_thread __asm__("_ZN8tricolor8internal10tls_threadE");
#endif
#define TC_INTERNAL_POLL_OFFSET 3568          /* uint32_t: nonzero while a handshake waits */
#define TC_INTERNAL_MARKING_OFFSET 3572       /* bool: this thread's barrier is on */
#define TC_INTERNAL_ROOTS_SCANNED_OFFSET 3573 /* bool: its roots are scanned (deletion half only) */
#define TC_INTERNAL_BARRIER_OFFSET 3600       /* size_t count, then the recorded pointers */
#define TC_INTERNAL_BARRIER_CAPACITY 256

/* One relaxed load of a process-wide flag and a predictable branch while it is off. relaxed: each
 * flag is set before the collector posts the handshake that needs it; the handshake's release/acquire
 * orders it for every thread of the marking heap, and a stale value only costs a slow path that
 * re-checks the thread's own state. */
static inline int tc_internal_flag_on(const void* flag) {
  return (int)__builtin_expect(__atomic_load_n((const unsigned char*)flag, __ATOMIC_RELAXED) != 0, 0);
}
/* Some heap marks (set before the barrier round, cleared at the flip). */
static inline int tc_internal_barrier_active(void) { return tc_internal_flag_on(tc_internal_barrier_flag); }
/* Some heap is between its barrier round and the end of its root round: the only time a root
 * assignment must shade (once every thread's roots are scanned, whatever a thread can hand another is
 * already marked or protected by the heap barrier). */
static inline int tc_internal_root_barrier_active(void) { return tc_internal_flag_on(tc_internal_root_barrier_flag); }

/* The write barrier while some heap marks, as the C++ one (tricolor::internal::write_barrier_marking
 * in include/tricolor/internal/fast_path.hpp): inline only the common case -- this thread's barrier
 * on, its roots scanned, room in its buffer -- which records the old value alone; everything else
 * (not attached, another heap marking, the insertion half before the root scan, a full buffer) in
 * tc_internal_write_barrier_slow. */
static inline void tc_internal_write_barrier(const void* old_value, const void* new_value) {
  char* t = (char*)tc_internal_tls_thread;
  if (__builtin_expect(t != NULL && t[TC_INTERNAL_MARKING_OFFSET] && t[TC_INTERNAL_ROOTS_SCANNED_OFFSET], 1)) {
    size_t* n = (size_t*)(t + TC_INTERNAL_BARRIER_OFFSET);
    if (__builtin_expect(*n < TC_INTERNAL_BARRIER_CAPACITY, 1)) {
      if (old_value != NULL) ((const void**)(n + 1))[(*n)++] = old_value;
      return;
    }
  }
  tc_internal_write_barrier_slow(old_value, new_value);
}

/* Stores value into a pointer field of a heap object (or a registered global slot) through the
 * write barrier, as tricolor::Member<T> does. */
static inline void tc_store(void** slot, void* value) {
#if defined(TRICOLOR_DEBUG_CHECKS) && TRICOLOR_DEBUG_CHECKS
  tc_internal_check_heap_pointer(value, "tc_store");
#endif
  if (tc_internal_barrier_active())
    /* acquire: the old value may go to a marker, which reads the object (pairs with its release store) */
    tc_internal_write_barrier(__atomic_load_n(slot, __ATOMIC_ACQUIRE), value);
  /* release: a thread that loads value (tc_load: acquire) also sees the object's contents. */
  __atomic_store_n(slot, value, __ATOMIC_RELEASE);
}

static inline void tc_store_field(void* obj, size_t offset, void* value) {
  tc_store((void**)((char*)obj + offset), value);
}

/* acquire: pairs with the release in tc_store. */
static inline void* tc_load(void* const* slot) {
  return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
}

static inline void* tc_load_field(const void* obj, size_t offset) {
  return tc_load((void* const*)((const char*)obj + offset));
}

static inline void* tc_root_get(const tc_root* r) {
  return r->ptr;
}

/* No heap barrier: the root list is the thread's own and is read only while the thread is stopped.
 * Until every thread's roots are scanned, the new value is shaded, so an object handed over outside
 * the heap by a thread not yet scanned survives. */
static inline void tc_root_set(tc_root* r, void* obj) {
  if (tc_internal_root_barrier_active() && obj != NULL) tc_internal_root_barrier_slow(obj);
  r->ptr = obj;
}

/* A weak field's target, or NULL once it has died. While marking, reading it makes the target
 * strongly held for this cycle (the thread now has it). */
static inline void* tc_weak_load(void* const* slot) {
  void* p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (p != NULL && tc_internal_barrier_active()) tc_internal_root_barrier_slow(p);
  return p;
}

/* The old target needs no barrier (a weak field is not a strong edge); the new one is shaded while
 * the thread's roots are not yet scanned, as for Weak<T> (gc/write_barrier.cpp says why). */
static inline void tc_weak_store(void** slot, void* value) {
  if (value != NULL && tc_internal_barrier_active()) tc_internal_weak_barrier_slow(value);
  __atomic_store_n(slot, value, __ATOMIC_RELEASE);
}

/* ---- Tagged values ----------------------------------------------------------------------------
 *
 * For a VM whose heap slots hold tagged words (low-bit tags, NaN-boxing) rather than raw pointers.
 * The rules:
 *  - A tagged value is ONE machine word, stored and loaded atomically (tc_store_word, tc_load_word).
 *    A two-word tagged union {tag, payload} tears under concurrent marking: a marker can read the new
 *    tag with the old payload and trace an integer as a pointer, or miss a pointer. Box the wide case.
 *  - decode(word) returns the object's start address (what tc_alloc returned) or NULL; never an
 *    interior pointer and never a pointer outside the heap.
 *  - Every store of a word that may hold a pointer, or that overwrites one, goes through
 *    tc_store_word, or through tc_write_barrier(decode(old), decode(new)) immediately followed by
 *    the VM's own atomic store of the word, with no safepoint in between.
 *  - The type's descriptor lists the field in tagged_offsets (or its trace callback calls
 *    tc_trace_word), so the marker decodes it with the same function. */

/* The hybrid barrier for a store that replaces old_ptr by new_ptr in a heap slot the caller then
 * writes itself (any encoding, atomically). Both are decoded object pointers or NULL. One relaxed
 * load and a predictable branch while no heap marks; the same slow path as tc_store. Read old_ptr
 * from the slot with an acquire load (tc_load_word), right before the store. */
static inline void tc_write_barrier(const void* old_ptr, const void* new_ptr) {
  if (tc_internal_barrier_active()) tc_internal_write_barrier(old_ptr, new_ptr);
}

/* acquire: pairs with the release in tc_store_word (a pointer read here sees its object's contents). */
static inline uintptr_t tc_load_word(const uintptr_t* slot) {
  return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
}

/* Stores a tagged word into a heap slot through the barrier. decode runs only while a heap marks
 * (pass a static inline function and the compiler inlines it). */
static inline void tc_store_word(uintptr_t* slot, uintptr_t word, tc_decode_fn decode) {
#if defined(TRICOLOR_DEBUG_CHECKS) && TRICOLOR_DEBUG_CHECKS
  tc_internal_check_heap_pointer(decode(word), "tc_store_word (decode of the stored word)");
#endif
  if (tc_internal_barrier_active())
    /* acquire, as in tc_store: the old target may go to a marker, which reads it. */
    tc_internal_write_barrier(decode(__atomic_load_n(slot, __ATOMIC_ACQUIRE)), decode(word));
  /* release: a thread that loads the word (tc_load_word: acquire) also sees the object's contents. */
  __atomic_store_n(slot, word, __ATOMIC_RELEASE);
}

static inline void tc_store_word_field(void* obj, size_t offset, uintptr_t word, tc_decode_fn decode) {
  tc_store_word((uintptr_t*)((char*)obj + offset), word, decode);
}

/* ---- The inline safepoint poll ----------------------------------------------------------------
 *
 * tc_safepoint_poll() is what a bytecode loop calls at backward branches and calls: one TLS load, one
 * load of the thread's poll word and a predictable branch; tc_safepoint() runs only when a collection
 * waits for this thread. It reads the thread's poll word through tc_internal_tls_thread, at
 * TC_INTERNAL_POLL_OFFSET (above). */
static inline void tc_safepoint_poll(void) {
  const char* t = (const char*)tc_internal_tls_thread;
  /* relaxed: the acquire that orders the handshake's data is in the slow path. A thread that is not
   * attached has nothing to answer (tc_safepoint would stop with a message; the poll stays quiet). */
  if (__builtin_expect(t != NULL && __atomic_load_n((const uint32_t*)(t + TC_INTERNAL_POLL_OFFSET), __ATOMIC_RELAXED) != 0, 0))
    tc_safepoint();
}

/* ---- Leak checks (include/tricolor/leak_check.hpp has the exact rule) ------------------------ */

/* A scope, opened on an attached thread: tc_leak_check_run reports the objects allocated since (by
 * this thread, or by others when only this thread's leaks keep them) that are still reachable. */
typedef struct tc_leak_check tc_leak_check;
TRICOLOR_API tc_leak_check* tc_leak_check_begin(tc_heap* heap);
/* Allowances for intentional caches: '*' matches any run of characters. A type's objects (and what
 * only they keep alive) are not reported; a root ("Global \"cache\"", its name) is not walked. */
TRICOLOR_API void tc_leak_check_ignore_type(tc_leak_check* scope, const char* glob);
TRICOLOR_API void tc_leak_check_ignore_root(tc_leak_check* scope, const char* glob);
/* Runs a full collection; returns how many objects leaked. With report non-NULL, *report receives
 * the report as text (types, counts, retention paths) in memory to release with free(). */
TRICOLOR_API size_t tc_leak_check_run(tc_leak_check* scope, char** report);
/* Closes the scope. One never run checks itself here and stops the program if it finds leaks. */
TRICOLOR_API void tc_leak_check_end(tc_leak_check* scope);
/* Find-leak mode (TRICOLOR_FIND_LEAK): the program is done with obj; it must not become unreachable
 * before this call without being reported. No effect when the mode is off. */
TRICOLOR_API void tc_release(const void* obj);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRICOLOR_H */
