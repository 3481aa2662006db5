// The C API (include/tricolor/tricolor.h), a thin layer over the C++ one. It adds three things the
// C++ API gets from the type system:
//  - Types described at run time. The core's type table takes a plain trace function with no
//    context, so every C type shares one trace thunk and one destroy thunk that find their CType
//    through the object header's type id (g_ctypes, indexed like the core's table; entries are
//    written once, before the id is handed out, and never change).
//  - Roots without RAII. tc_root has RootNode's layout, so C stack roots sit on the thread's one LIFO
//    root list next to C++ Root<T>s; pops are checked for order, as ~Root does.
//  - Global slots: plain void* variables of the program, traced by one heap root callback per heap.
//    That callback runs with the world stopped at mark start; the stores into the slots go through
//    tc_store, whose barrier is what makes a store after that scan safe (see tc_add_global_slot).
// Thread-local state (the attached Mutator, blocking depth, per-thread root callbacks) lives in
// t_c; a thread that exits attached is detached by CThreadExit's destructor, which first checks that
// no root of the thread is still pushed.
#include "tricolor/tricolor.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "gc/capi_support.hpp"
#include "introspect/capi_support.hpp"
#include "tricolor/leak_check.hpp"
#include "tricolor/tricolor.hpp"

using tricolor::Tracer;
namespace internal = tricolor::internal;

// tc_root is read by the collector as an internal::RootNode.
static_assert(sizeof(tc_root) == sizeof(internal::RootNode));
static_assert(offsetof(tc_root, prev) == offsetof(internal::RootNode, prev));
static_assert(offsetof(tc_root, ptr) == offsetof(internal::RootNode, ptr));
static_assert(offsetof(tc_root, name) == offsetof(internal::RootNode, name));
// The inline barrier reads g_barrier_active as one byte; fields are read and written as void* by C and
// as std::atomic<const void*> (Member, WeakSlot) by the collector.
static_assert(sizeof(std::atomic<bool>) == 1 && std::atomic<bool>::is_always_lock_free);
static_assert(sizeof(std::atomic<const void*>) == sizeof(void*) && std::atomic<const void*>::is_always_lock_free);
static_assert(sizeof(internal::WeakSlot) == sizeof(void*));
// tc_safepoint_poll reads the thread's poll word through the runtime's TLS pointer, at a fixed offset.
static_assert(offsetof(internal::ThreadFast, poll) == TC_INTERNAL_POLL_OFFSET,
              "update TC_INTERNAL_POLL_OFFSET in include/tricolor/tricolor.h (ThreadFast's layout changed)");
// tc_internal_write_barrier records into the thread's barrier buffer through the same pointer.
static_assert(offsetof(internal::ThreadFast, marking) == TC_INTERNAL_MARKING_OFFSET &&
                  offsetof(internal::ThreadFast, roots_scanned) == TC_INTERNAL_ROOTS_SCANNED_OFFSET &&
                  offsetof(internal::ThreadFast, barrier) == TC_INTERNAL_BARRIER_OFFSET,
              "update the TC_INTERNAL_*_OFFSET values in include/tricolor/tricolor.h (ThreadFast's layout changed)");
static_assert(sizeof(bool) == 1 && offsetof(internal::BarrierBuffer, n) == 0 &&
                  sizeof(internal::BarrierBuffer::n) == sizeof(size_t) &&
                  offsetof(internal::BarrierBuffer, items) == sizeof(size_t) &&
                  internal::BarrierBuffer::kCapacity == TC_INTERNAL_BARRIER_CAPACITY,
              "update tc_internal_write_barrier in include/tricolor/tricolor.h (BarrierBuffer's layout changed)");
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
              std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uintptr_t>) == sizeof(std::uintptr_t) &&
              std::atomic<std::uintptr_t>::is_always_lock_free);
static_assert(int(TC_PHASE_IDLE) == int(tricolor::Phase::kIdle) &&
              int(TC_PHASE_SWEEP) == int(tricolor::Phase::kSweep));

// Constant-initialized (an address constant), so C code running before any C++ static constructor
// still finds the flag.
constinit const void* const tc_internal_barrier_flag = &internal::g_barrier_active;
constinit const void* const tc_internal_root_barrier_flag = &internal::g_root_barrier_active;

void tc_internal_write_barrier_slow(const void* old_value, const void* new_value) {
  TC_CHECK(internal::tls_thread != nullptr,
           "tc_store from a thread that is not attached to a tricolor heap: call tc_thread_attach(heap, name) on "
           "this thread first");
  internal::write_barrier_slow(old_value, new_value);
}
void tc_internal_root_barrier_slow(const void* new_value) { internal::root_barrier_slow(new_value); }
void tc_internal_weak_barrier_slow(const void* new_value) { internal::weak_barrier_slow(new_value); }
// internal::debug_check_heap_pointer, in C terms.
void tc_internal_check_heap_pointer(const void* p, const char* what) {
  internal::ThreadFast* t = internal::tls_thread;
  if (p == nullptr || t == nullptr) return;
  TC_CHECK(internal::heap_contains(*t->heap, p),
           "%s: %p is not an object of this thread's tricolor heap (not a pointer that tc_alloc, tc_new or "
           "tc_alloc_buffer returned, a pointer into an object rather than to its start, or an object of another "
           "heap)",
           what, p);
}

namespace {

// internal::current_thread, with the fix C code needs in its message.
internal::ThreadFast* c_thread(const char* what) {
  internal::ThreadFast* t = internal::tls_thread;
  if (t == nullptr) [[unlikely]]
    internal::fatal(__FILE__, __LINE__,
                    "%s from a thread that is not attached to a tricolor heap: call tc_thread_attach(heap, name) "
                    "on this thread first",
                    what);
  return t;
}

// ---- Callbacks the collector runs
//
// A trace, root or destroy callback runs in the middle of a collection (marking waits for the trace
// to return; the next cycle waits for the sweep a destroy callback is part of), so it must not
// collect or allocate: that would wait for its own work and never return. The thunks below name the
// callback the thread is in; tc_collect and the allocation functions refuse, in C terms, to run
// there. A plain TLS slot (constant-initialised, no guard): two stores per user callback, and none for
// objects traced by their offsets alone.
__thread const char* t_c_callback = nullptr;

class InCallback {
 public:
  explicit InCallback(const char* what) : saved_(t_c_callback) { t_c_callback = what; }
  ~InCallback() { t_c_callback = saved_; }
  InCallback(const InCallback&) = delete;
  InCallback& operator=(const InCallback&) = delete;

 private:
  const char* saved_;
};

constexpr const char* kInTrace = "a trace callback";
constexpr const char* kInRoots = "a root callback";
constexpr const char* kInDestroy = "a destroy callback";
constexpr const char* kInWeak = "a weak callback";

void check_not_in_callback(const char* what) {
  const char* in = t_c_callback;
  if (in == nullptr) [[likely]]
    return;
  const char* fix = in == kInTrace   ? "a trace callback only visits its object's fields (tc_trace, tc_trace_slot, "
                                       "tc_trace_range, tc_trace_weak) and reads nothing that changes"
                    : in == kInRoots ? "a root callback only traces its slots (tc_trace, tc_trace_range)"
                    : in == kInWeak  ? "a weak callback only prunes or marks tombstones in its table"
                                     : "a destroy callback must not collect or allocate: do that work in a finalizer "
                                       "(tc_set_finalizer, run by tc_run_finalizers on an attached thread), or "
                                       "after tc_collect returns";
  internal::fatal(__FILE__, __LINE__,
                  "%s called from %s, which the collector runs in the middle of a collection: it would wait for "
                  "the collector's own work and never return. %s",
                  what, in, fix);
}

// ---- tc_last_error: why the last NULL from a function that can fail came back, on this thread.

thread_local std::string t_last_error;

[[gnu::format(printf, 1, 2), gnu::cold]] void set_last_error(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  t_last_error = buf;
}

// NULL where a handle or an out-pointer is required: the caller learns which function and which
// argument, instead of a segfault somewhere inside the library (or inside this file's own messages).
[[noreturn, gnu::cold]] void fail_null(const char* fn, const char* arg, const char* fix) {
  internal::fatal(__FILE__, __LINE__, "%s: the %s argument is NULL: %s", fn, arg, fix);
}
template <class T>
T* need(T* p, const char* fn, const char* arg, const char* fix) {
  if (p == nullptr) [[unlikely]]
    fail_null(fn, arg, fix);
  return p;
}
constexpr const char* kNeedHeap = "pass the tc_heap* that tc_heap_create returned";
constexpr const char* kNeedTracer = "pass the tc_tracer* the trace or root callback was given";

Tracer& as_tracer(tc_tracer* t, const char* fn) {
  return *reinterpret_cast<Tracer*>(need(t, fn, "tracer", kNeedTracer));
}
tc_tracer* as_c(Tracer& t) { return reinterpret_cast<tc_tracer*>(&t); }

// A tagged word, decoded. acquire: pairs with the release in tc_store_word.
const void* load_word(const void* slot, tc_decode_fn decode) {
  return decode(reinterpret_cast<const std::atomic<std::uintptr_t>*>(slot)->load(std::memory_order_acquire));
}

const void* load_slot(const void* slot) {
  return reinterpret_cast<const std::atomic<const void*>*>(slot)->load(std::memory_order_acquire);  // pairs with tc_store
}
internal::WeakSlot* weak_slot(const void* slot) {
  return reinterpret_cast<internal::WeakSlot*>(const_cast<void*>(slot));
}

// ---- Types

struct CType {
  std::uint32_t id = 0;
  std::size_t size = 0;
  tc_trace_fn trace = nullptr;
  std::vector<std::size_t> pointers;
  std::vector<std::size_t> weaks;
  std::vector<std::string> pointer_names;  // the descriptor's name, else "+16" (the offset), for paths
  std::vector<std::size_t> tagged;
  std::vector<std::string> tagged_names;   // "+16"
  tc_decode_fn decode = nullptr;
  bool trailing = false;
  std::size_t trailing_count_offset = 0;
  unsigned count_width = sizeof(std::size_t);  // 1, 2, 4 or 8
  // Trailing elements: element_size 0 means void* slots (the original form).
  std::size_t element_size = 0;
  std::vector<std::size_t> element_pointers;
  std::vector<std::size_t> element_tagged;
  std::size_t stride() const { return element_size != 0 ? element_size : sizeof(void*); }
  tc_destroy_fn destroy = nullptr;
  internal::SpanKind kind = internal::SpanKind::kScan;
};

std::atomic<const CType*> g_ctypes[internal::kMaxTypes];

const CType& ctype_of(const void* obj) {
  // acquire: pairs with the release in tc_type_register (an id travels to marker threads inside objects).
  return *g_ctypes[internal::header_of(obj)->type_id].load(std::memory_order_acquire);
}

const CType& ctype_checked(tc_type type, const char* what) {
  const CType* ct = type < internal::kMaxTypes ? g_ctypes[type].load(std::memory_order_acquire) : nullptr;
  TC_CHECK(ct != nullptr, "%s: %u is not a type handle returned by tc_type_register", what, type);
  return *ct;
}

// ---- Trailing counts
//
// A trailing count is a field the program writes, so the trace bounds it by what the object's slot
// can hold (a count of 10^6 on a 2-slot object would otherwise be traced far past its end). The slot
// is found through the page table of the object's heap, but a trace function is given no heap:
// ArenaOwners maps each arena (heaps reserve whole, aligned arenas: internal::kHeapArenaShift) to the
// heap that last allocated a C object in it.
// Why the entry read for an object being traced is never a destroyed heap's: tc_alloc writes the
// entry of a new trailing object's arena before it returns the object, so before any tracer can reach
// it (a tracer reaches an object only through a store or a handshake that happens after that); an
// arena belongs to at most one live heap at a time; so the last write to that entry came from the
// object's own heap, which is alive while its objects are traced. Leaves are never freed (at most
// kRootSize of them), so readers need no lock.
class ArenaOwners {
 public:
  const internal::HeapImpl* find(const void* p) const {
    const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p) >> kArenaShift;
    if (a >= kRootSize * kLeafSize) return nullptr;
    // acquire: pairs with the releases in note(), so a leaf's entries are seen initialised.
    const Leaf* leaf = root_[a / kLeafSize].load(std::memory_order_acquire);
    return leaf != nullptr ? (*leaf)[a % kLeafSize].load(std::memory_order_acquire) : nullptr;
  }
  // Called by the allocating thread before the object at p is published; returns false when p lies
  // above the address range the table covers (not on Linux/x86-64 or AArch64 without a hint to mmap).
  bool note(const void* p, const internal::HeapImpl* owner) {
    const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p) >> kArenaShift;
    if (a >= kRootSize * kLeafSize) return false;
    std::atomic<Leaf*>& slot = root_[a / kLeafSize];
    Leaf* leaf = slot.load(std::memory_order_acquire);
    if (leaf == nullptr) {
      auto fresh = std::make_unique<Leaf>();  // value-initialised: every entry null
      if (slot.compare_exchange_strong(leaf, fresh.get(), std::memory_order_acq_rel)) leaf = fresh.release();
    }
    std::atomic<const internal::HeapImpl*>& e = (*leaf)[a % kLeafSize];
    // release: pairs with the acquire in find(). Usually already ours: one load, no store.
    if (e.load(std::memory_order_relaxed) != owner) e.store(owner, std::memory_order_release);
    return true;
  }

 private:
  static constexpr unsigned kArenaShift = internal::kHeapArenaShift;
  static constexpr std::size_t kLeafSize = 1u << 11;
  static constexpr std::size_t kRootSize = std::size_t{1} << (48 - kArenaShift - 11);  // 48-bit addresses
  using Leaf = std::array<std::atomic<const internal::HeapImpl*>, kLeafSize>;
  std::atomic<Leaf*> root_[kRootSize] = {};
};

ArenaOwners g_arena_owners;

// How many trailing pointers obj's slot holds after the type's fixed part.
std::size_t trailing_capacity(const CType& ct, const void* obj) {
  const internal::HeapImpl* heap = g_arena_owners.find(obj);
  const std::optional<std::size_t> payload =
      heap != nullptr ? internal::slot_payload_bytes(*heap, obj) : std::nullopt;
  // Cannot fail for an object tc_alloc returned: it noted the object's arena before returning it.
  TC_CHECK(payload.has_value(),
           "tricolor: C object %p of type \"%s\" with trailing pointers was not allocated by tc_alloc in a live heap",
           obj, internal::type_info(ct.id).name);
  return (*payload - ct.size) / ct.stride();
}

// The trailing count, of whichever width the descriptor gave. relaxed: it is written before the
// object is published (or before the next safepoint) and never changes.
std::size_t read_trailing_count(const CType& ct, const char* base) {
  const char* p = base + ct.trailing_count_offset;
  switch (ct.count_width) {
    case 1: return __atomic_load_n(reinterpret_cast<const std::uint8_t*>(p), __ATOMIC_RELAXED);
    case 2: return __atomic_load_n(reinterpret_cast<const std::uint16_t*>(p), __ATOMIC_RELAXED);
    case 4: return __atomic_load_n(reinterpret_cast<const std::uint32_t*>(p), __ATOMIC_RELAXED);
    default: return static_cast<std::size_t>(__atomic_load_n(reinterpret_cast<const std::uint64_t*>(p), __ATOMIC_RELAXED));
  }
}

void write_trailing_count(const CType& ct, char* base, std::size_t n) {
  char* p = base + ct.trailing_count_offset;
  switch (ct.count_width) {
    case 1: { const auto v = static_cast<std::uint8_t>(n); std::memcpy(p, &v, 1); break; }
    case 2: { const auto v = static_cast<std::uint16_t>(n); std::memcpy(p, &v, 2); break; }
    case 4: { const auto v = static_cast<std::uint32_t>(n); std::memcpy(p, &v, 4); break; }
    default: { const auto v = static_cast<std::uint64_t>(n); std::memcpy(p, &v, 8); break; }
  }
}

[[noreturn, gnu::cold]] void fail_trailing_count(const CType& ct, const void* obj, std::size_t n,
                                                 std::size_t capacity) {
  internal::fatal(__FILE__, __LINE__,
                  "tricolor: an object of C type \"%s\" says it has %zu trailing elements (the %u-byte count at "
                  "offset %zu) but its allocation holds %zu (object %p): set the count to at most (the size given "
                  "to tc_alloc - %zu) / %zu, before the next safepoint, and never raise it",
                  internal::type_info(ct.id).name, n, ct.count_width, ct.trailing_count_offset, capacity, obj,
                  ct.size, ct.stride());
}

void trace_c_object(const void* obj, Tracer& t) {
  const CType& ct = ctype_of(obj);
  const char* base = static_cast<const char*>(obj);
  for (std::size_t i = 0; i < ct.pointers.size(); ++i)
    if (const void* p = load_slot(base + ct.pointers[i])) t.visit(p, ct.pointer_names[i].c_str(), Tracer::kNoIndex);
  for (std::size_t off : ct.weaks) t.visit_weak(weak_slot(base + off), "weak");
  for (std::size_t i = 0; i < ct.tagged.size(); ++i)
    if (const void* p = load_word(base + ct.tagged[i], ct.decode)) t.visit(p, ct.tagged_names[i].c_str(), Tracer::kNoIndex);
  if (ct.trailing) {
    std::size_t n = read_trailing_count(ct, base);
    // Beyond the slot lie other objects' headers and fields, or unmapped pages. A debug-checks build
    // stops; a release build traces what the slot holds (allocate() zeroed all of it).
    const std::size_t capacity = trailing_capacity(ct, obj);
    if (n > capacity) [[unlikely]] {
      if (TC_DCHECK_IS_ON) fail_trailing_count(ct, obj, n, capacity);
      n = capacity;
    }
    if (ct.element_size == 0) {
      for (std::size_t i = 0; i < n; ++i)
        if (const void* p = load_slot(base + ct.size + i * sizeof(void*))) t.visit(p, "trailing", i);
    } else {
      // An array of structs: element i's fields, named "element" with index i in paths.
      for (std::size_t i = 0; i < n; ++i) {
        const char* e = base + ct.size + i * ct.element_size;
        for (std::size_t off : ct.element_pointers)
          if (const void* p = load_slot(e + off)) t.visit(p, "element", i);
        for (std::size_t off : ct.element_tagged)
          if (const void* p = load_word(e + off, ct.decode)) t.visit(p, "element", i);
      }
    }
  }
  if (ct.trace != nullptr) {
    InCallback in(kInTrace);
    ct.trace(obj, as_c(t));
  }
}

void destroy_c_object(void* obj) {
  InCallback in(kInDestroy);
  ctype_of(obj).destroy(obj);
}

// Is [offset, offset + width) inside an object of `size` bytes? Written so that nothing wraps: with
// `offset + width <= size`, an offset of SIZE_MAX - 7 passes and the field lands on the object header.
constexpr bool field_fits(std::size_t offset, std::size_t width, std::size_t size) {
  return offset <= size && width <= size - offset;
}
static_assert(!field_fits(SIZE_MAX - 7, 8, 16) && !field_fits(16, 8, 16) && field_fits(8, 8, 16));

// What is wrong with a descriptor, as the sentence tc_type_register stops with (in tc_last_error's
// buffer), or nullptr when it is acceptable. Shared by tc_type_register (which stops) and
// tc_type_desc_check (which returns it), so the two cannot disagree.
const char* desc_problem(const tc_type_desc& d) {
  const char* name = d.name != nullptr ? d.name : "<unnamed C type>";
  if (d.pointer_count != 0 && d.pointer_offsets == nullptr) {
    set_last_error("tc_type_register(\"%s\"): pointer_count is %zu but pointer_offsets is NULL", name,
                   d.pointer_count);
    return t_last_error.c_str();
  }
  if (d.weak_count != 0 && d.weak_offsets == nullptr) {
    set_last_error("tc_type_register(\"%s\"): weak_count is %zu but weak_offsets is NULL", name, d.weak_count);
    return t_last_error.c_str();
  }
  auto bad_field = [&](const char* what, std::size_t offset) {
    if (offset % alignof(void*) == 0 && field_fits(offset, sizeof(void*), d.size)) return false;
    set_last_error("tc_type_register(\"%s\"): %s offset %zu is not an aligned void* field inside the type's %zu "
                   "bytes",
                   name, what, offset, d.size);
    return true;
  };
  for (std::size_t i = 0; i < d.pointer_count; ++i)
    if (bad_field("pointer", d.pointer_offsets[i])) return t_last_error.c_str();
  for (std::size_t i = 0; i < d.weak_count; ++i)
    if (bad_field("weak", d.weak_offsets[i])) return t_last_error.c_str();
  // A field is strong or weak, not both (weak clearing would null a field that keeps its target).
  for (std::size_t i = 0; i < d.weak_count; ++i)
    if (std::find(d.pointer_offsets, d.pointer_offsets + d.pointer_count, d.weak_offsets[i]) !=
        d.pointer_offsets + d.pointer_count) {
      set_last_error("tc_type_register(\"%s\"): offset %zu is listed both as a pointer and as a weak field", name,
                     d.weak_offsets[i]);
      return t_last_error.c_str();
    }
  if (d.tagged_count != 0 && d.tagged_offsets == nullptr) {
    set_last_error("tc_type_register(\"%s\"): tagged_count is %zu but tagged_offsets is NULL", name, d.tagged_count);
    return t_last_error.c_str();
  }
  for (std::size_t i = 0; i < d.tagged_count; ++i)
    if (bad_field("tagged", d.tagged_offsets[i])) return t_last_error.c_str();
  const bool any_tagged = d.tagged_count != 0 || d.element_tagged_count != 0;
  if (any_tagged && d.decode == nullptr) {
    set_last_error("tc_type_register(\"%s\"): tagged fields are listed but decode is NULL: give the function that "
                   "maps a tagged word to its object (or NULL for an immediate)",
                   name);
    return t_last_error.c_str();
  }
  // A field is one of strong, weak or tagged: two readings of one word cannot both be right.
  for (std::size_t i = 0; i < d.tagged_count; ++i) {
    const std::size_t o = d.tagged_offsets[i];
    if (std::find(d.pointer_offsets, d.pointer_offsets + d.pointer_count, o) != d.pointer_offsets + d.pointer_count ||
        std::find(d.weak_offsets, d.weak_offsets + d.weak_count, o) != d.weak_offsets + d.weak_count) {
      set_last_error("tc_type_register(\"%s\"): offset %zu is listed both as a tagged field and as a pointer or "
                     "weak field",
                     name, o);
      return t_last_error.c_str();
    }
  }
  if (!d.trailing_pointers && (d.element_size != 0 || d.element_pointer_count != 0 || d.element_tagged_count != 0 ||
                               d.trailing_count_width != 0)) {
    set_last_error("tc_type_register(\"%s\"): element_size, element offsets or trailing_count_width are set but "
                   "trailing_pointers is not",
                   name);
    return t_last_error.c_str();
  }
  if (d.trailing_pointers) {
    const unsigned w = d.trailing_count_width;
    if (w != 0 && w != 1 && w != 2 && w != 4 && w != 8) {
      set_last_error("tc_type_register(\"%s\"): trailing_count_width %u is not 0 (size_t), 1, 2, 4 or 8", name, w);
      return t_last_error.c_str();
    }
    if (d.element_size == 0 && (d.element_pointer_count != 0 || d.element_tagged_count != 0)) {
      set_last_error("tc_type_register(\"%s\"): element offsets are given but element_size is 0", name);
      return t_last_error.c_str();
    }
    if (d.element_size % alignof(void*) != 0) {
      set_last_error("tc_type_register(\"%s\"): element_size %zu is not a multiple of the pointer size", name,
                     d.element_size);
      return t_last_error.c_str();
    }
    if ((d.element_pointer_count != 0 && d.element_pointer_offsets == nullptr) ||
        (d.element_tagged_count != 0 && d.element_tagged_offsets == nullptr)) {
      set_last_error("tc_type_register(\"%s\"): an element offset count is nonzero but its table is NULL", name);
      return t_last_error.c_str();
    }
    auto bad_element = [&](const char* what, std::size_t offset) {
      if (offset % alignof(void*) == 0 && field_fits(offset, sizeof(void*), d.element_size)) return false;
      set_last_error("tc_type_register(\"%s\"): element %s offset %zu is not an aligned word inside the %zu-byte "
                     "element",
                     name, what, offset, d.element_size);
      return true;
    };
    for (std::size_t i = 0; i < d.element_pointer_count; ++i)
      if (bad_element("pointer", d.element_pointer_offsets[i])) return t_last_error.c_str();
    for (std::size_t i = 0; i < d.element_tagged_count; ++i) {
      if (bad_element("tagged", d.element_tagged_offsets[i])) return t_last_error.c_str();
      const std::size_t o = d.element_tagged_offsets[i];
      if (std::find(d.element_pointer_offsets, d.element_pointer_offsets + d.element_pointer_count, o) !=
          d.element_pointer_offsets + d.element_pointer_count) {
        set_last_error("tc_type_register(\"%s\"): element offset %zu is listed both as a pointer and as a tagged "
                       "word",
                       name, o);
        return t_last_error.c_str();
      }
    }
  }
  if (d.trailing_pointers) {
    if (d.size % alignof(void*) != 0) {
      set_last_error("tc_type_register(\"%s\"): with trailing_pointers the size (%zu) must be a multiple of the "
                     "pointer size (the slots start right after the fixed part)",
                     name, d.size);
      return t_last_error.c_str();
    }
    const std::size_t c = d.trailing_count_offset;
    const std::size_t width = d.trailing_count_width != 0 ? d.trailing_count_width : sizeof(std::size_t);
    if (c % width != 0 || !field_fits(c, width, d.size)) {
      char what[32] = "size_t";
      if (d.trailing_count_width != 0) std::snprintf(what, sizeof what, "%zu-byte", width);
      set_last_error("tc_type_register(\"%s\"): trailing_count_offset %zu is not an aligned %s field inside the "
                     "type's %zu bytes",
                     name, c, what, d.size);
      return t_last_error.c_str();
    }
    // The count is not a pointer: traced as one, it would reach the marker as a small integer. (A
    // narrow count sharing a word with a pointer field is caught the same way: the word is the unit.)
    const std::size_t cw = c - c % sizeof(void*);
    const bool overlaps = std::find(d.pointer_offsets, d.pointer_offsets + d.pointer_count, cw) !=
                              d.pointer_offsets + d.pointer_count ||
                          std::find(d.weak_offsets, d.weak_offsets + d.weak_count, cw) != d.weak_offsets + d.weak_count ||
                          std::find(d.tagged_offsets, d.tagged_offsets + d.tagged_count, cw) !=
                              d.tagged_offsets + d.tagged_count;
    if (overlaps) {
      set_last_error("tc_type_register(\"%s\"): trailing_count_offset %zu is also listed as a pointer or weak "
                     "field (or as a tagged one)",
                     name, c);
      return t_last_error.c_str();
    }
  }
  return nullptr;
}

// ---- Allocation

void check_not_blocking(internal::ThreadFast* t, const char* what) {
  TC_CHECK(internal::blocking_depth(t) == 0,
           "%s inside tc_blocking_enter: a blocked thread must not touch the heap (a collection counts it as "
           "stopped); call tc_blocking_leave() first",
           what);
}

// Sizes: a C caller's size is data, so nothing here may wrap. A size larger than the heap's whole
// reservation can never be satisfied: NULL (with tc_last_error) before any arithmetic on it; below
// that bound, size + header and the core's page rounding are far from SIZE_MAX.
bool size_fits_heap(internal::ThreadFast* t, std::size_t bytes, const char* what, const char* type) {
  const std::size_t reserve = internal::heap_config(*t->heap).reserve;
  if (bytes <= reserve) [[likely]]
    return true;
  set_last_error("%s(%s%s%s%zu): larger than the heap's whole reservation (%zu bytes, tc_config.reserve)", what,
                 type != nullptr ? "\"" : "", type != nullptr ? type : "", type != nullptr ? "\", " : "", bytes,
                 reserve);
  return false;
}

void* heap_limit_reached(const char* what, const char* type, std::size_t bytes) {
  set_last_error("%s(%s%s%s%zu): the heap limit (tc_config.max_heap) is reached even after a full collection",
                 what, type != nullptr ? "\"" : "", type != nullptr ? type : "", type != nullptr ? "\", " : "",
                 bytes);
  return nullptr;
}

void* allocate(const CType& ct, std::size_t bytes, const char* what) {
  check_not_in_callback(what);  // first: a marker or sweeper thread is not attached either
  internal::ThreadFast* t = c_thread(what);
  check_not_blocking(t, what);
  const char* name = internal::type_info(ct.id).name;
  TC_CHECK(bytes >= ct.size, "%s(\"%s\", %zu): the size is smaller than the type's size %zu", what, name, bytes,
           ct.size);
  // A payload of at least one byte keeps every object pointer strictly inside its own slot.
  bytes = std::max<std::size_t>(bytes, 1);
  if (!size_fits_heap(t, bytes, what, name)) return nullptr;
  void* obj = internal::allocate_object<0>(t, bytes, ct.kind, ct.id, /*may_fail=*/true);
  if (obj == nullptr) return heap_limit_reached(what, name, bytes);
  // No safepoint since the allocation: no marker or verifier can have read the object yet. Every C
  // object's arena is noted (usually one load: already ours), so that tc_object_size and the
  // trailing-count bound find its slot from any thread.
  TC_CHECK(g_arena_owners.note(obj, t->heap),
           "tc_alloc(\"%s\"): the heap lies above the addresses the trailing-count bound covers (48 bits)",
           internal::type_info(ct.id).name);
  // Zero the whole slot, slack included: the trailing-count bound and trace callbacks bounded by
  // tc_object_size read up to the slot's end, and must find NULLs there, not a former object's
  // pointers.
  bytes = *internal::slot_payload_bytes(*t->heap, obj);
  std::memset(obj, 0, bytes);
  return obj;
}

// ---- Roots

internal::RootNode* as_node(tc_root* r) { return reinterpret_cast<internal::RootNode*>(r); }

[[noreturn]] void fail_pop(const char* what, const tc_root* r) {
  internal::fatal(__FILE__, __LINE__,
                  "%s(\"%s\"): not the innermost root of this thread: pop roots and frames in reverse order of "
                  "pushing them (a return path that skipped a tc_root_pop / TC_FRAME_POP?), on the thread that "
                  "pushed them",
                  what, r->name ? r->name : "unnamed");
}

struct RootsCallback {
  tc_roots_fn fn;
  void* context;
};

struct CWeakCallback {
  tc_weak_callback_fn fn;
  void* context;
};

void call_roots(Tracer& t, void* ctx) {
  auto* cb = static_cast<RootsCallback*>(ctx);
  InCallback in(kInRoots);
  cb->fn(as_c(t), cb->context);
}

// ---- Threads

struct CThread {
  alignas(tricolor::Mutator) unsigned char mutator_storage[sizeof(tricolor::Mutator)];
  alignas(tricolor::BlockingScope) unsigned char blocking_storage[sizeof(tricolor::BlockingScope)];
  tricolor::Mutator* mutator = nullptr;
  tricolor::BlockingScope* blocking = nullptr;
  unsigned blocking_depth = 0;
  tc_heap* heap = nullptr;
  std::unordered_map<std::uint64_t, std::unique_ptr<RootsCallback>> callbacks;
};

thread_local CThread t_c;

// Is p in the calling thread's stack below `live_from` (nullptr: anywhere in it)? Frames there have
// returned, so a root pushed in one and never popped has had its memory reused: nothing in it may be
// read, not even its name for a message. Error paths only (pthread_getattr_np may read /proc).
bool in_returned_frame(const void* p, const void* live_from) {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return false;
  void* low = nullptr;
  std::size_t size = 0;
  const bool ok = pthread_attr_getstack(&attr, &low, &size) == 0;
  pthread_attr_destroy(&attr);
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const auto lo = reinterpret_cast<std::uintptr_t>(low);
  const auto live = live_from != nullptr ? reinterpret_cast<std::uintptr_t>(live_from) : lo + size;
  return ok && a >= lo && a < live;
}

// " \"name\"" for a message about root r, or what is known when r lies in a returned frame.
std::string describe_root(const internal::RootNode* r, const void* live_from) {
  if (in_returned_frame(r, live_from)) return " in a stack frame that has returned";
  return std::string(" \"") + (r->name != nullptr ? r->name : "unnamed") + "\"";
}

[[noreturn, gnu::cold]] void fail_roots_at_exit(internal::ThreadFast* t, const internal::RootNode* r) {
  const char* thread = internal::thread_name(t);
  internal::fatal(__FILE__, __LINE__,
                  "thread \"%s\" exited attached to a tricolor heap with a root%s still pushed: a thread that "
                  "exits is detached and its roots forgotten, so the object a root holds could be freed while "
                  "something still uses it. Pop every tc_root and TC_FRAME (a return path that skipped "
                  "tc_root_pop / TC_FRAME_POP?), or call tc_thread_detach(), before the thread exits",
                  *thread == '\0' ? "unnamed" : thread,
                  describe_root(r, nullptr).c_str());  // the thread's function has returned: all of its stack
}

// A thread that exits attached (tc_thread_attach without tc_thread_detach) is detached here. This
// runs before the core's exit hook (ExitDetach, gc/api.cpp), which would forget the thread's roots
// without a word: thread_local objects are destroyed in reverse order of construction, and this one
// is a function-local thread_local that arm_exit_check() constructs after the Mutator's constructor
// has constructed the core's hook. (A namespace-scope thread_local would not do: the compiler
// constructs all of a file's thread_locals together, at the first use of any, which is before.) So
// the thread is still attached here, with its roots.
struct CThreadExit {
  ~CThreadExit() {
    internal::ThreadFast* t = internal::tls_thread;
    if (t_c.mutator == nullptr || t == nullptr) return;  // detached already
    // A root still pushed lies in a dead stack frame, or in storage that outlives the thread and
    // whose object nothing would keep alive: either way a bug to report now, not a later "destroyed
    // out of order" or an object silently freed and reused.
    if (const internal::RootNode* r = t->roots) fail_roots_at_exit(t, r);
    if (t_c.blocking != nullptr) t_c.blocking->~BlockingScope();
    t_c.mutator->~Mutator();
    t_c.mutator = nullptr;
    t_c.heap = nullptr;
  }
};

void arm_exit_check() { thread_local CThreadExit exit_check; }

}  // namespace

// ---- Heaps

struct tc_heap {
  struct Slot {
    void** slot;
    const char* name;
  };

  explicit tc_heap(const tricolor::Config& c) : heap(c) {
    slots_roots = heap.add_roots(&trace_slots, this, "tc global slots");
  }

  static void trace_slots(Tracer& t, void* ctx) {
    auto* self = static_cast<tc_heap*>(ctx);
    std::lock_guard lock(self->mu);
    for (const Slot& s : self->slots)
      if (const void* p = load_slot(s.slot)) t.visit(p, s.name, Tracer::kNoIndex);
  }

  // Lock order: the core's roots lock (held while it runs callbacks), then mu. So mu is never held
  // while calling into Heap::add_roots / remove_roots.
  std::mutex mu;
  std::vector<Slot> slots;
  std::unordered_map<std::uint64_t, std::unique_ptr<RootsCallback>> callbacks;
  std::unordered_map<std::uint64_t, std::unique_ptr<CWeakCallback>> weak_callbacks;
  std::uint64_t slots_roots = 0;
  std::atomic<std::size_t> globals{0};  // live tc_globals, for tc_heap_destroy's message
  // Last, so it is destroyed first: its collector thread may run the callbacks above until then.
  tricolor::Heap heap;
};

struct tc_global {
  internal::GlobalNode node;
  tc_heap* heap;
};

namespace {

// The live heaps made by tc_heap_create, so that tc_type_name_of can tell an object from a stack,
// static or foreign address on a thread that is not attached (not a hot path).
std::mutex g_heaps_mu;
std::vector<tc_heap*> g_heaps;

bool is_heap_object(const void* p) {
  if (internal::ThreadFast* t = internal::tls_thread; t != nullptr && internal::heap_contains(*t->heap, p))
    return true;
  std::lock_guard lock(g_heaps_mu);
  return std::any_of(g_heaps.begin(), g_heaps.end(), [&](tc_heap* h) { return h->heap.contains(p); });
}

}  // namespace

void tc_config_init(tc_config* c) {
  need(c, "tc_config_init", "config", "pass the tc_config to fill");
  const tricolor::Config d;
  *c = tc_config{};
  c->initial_heap = d.initial_heap;
  c->gc_percent = d.gc_percent;
  c->max_heap = d.max_heap;
  c->soft_limit = d.soft_limit;
  c->marker_threads = d.marker_threads;
  c->concurrent = d.concurrent;
  c->verify = d.verify;
  c->gctrace = d.gctrace;
  c->background_sweeper = d.background_sweeper;
  c->scavenge_delay_ms = d.scavenge_delay_ms;
  c->periodic_gc_ms = d.periodic_gc_ms;
  c->alloc_sites = d.alloc_sites;
  c->find_leak = nullptr;
  c->reserve = d.reserve;
  c->collect_every = d.collect_every;
  c->mark_cpu_percent = d.mark_cpu_percent;
}

// The most any reservation can get: the user address space of x86-64 and AArch64 (47/48 bits; mmap
// goes above 2^47 only when asked to). Checked before PageHeap rounds the size up, which would wrap
// for a reserve near SIZE_MAX.
constexpr std::size_t kMaxReserve = std::size_t{1} << 47;

tc_heap* tc_heap_create(const tc_config* config) {
  tc_config c;
  if (config != nullptr) c = *config;
  else tc_config_init(&c);
  tricolor::Config cc;
  cc.initial_heap = c.initial_heap;
  cc.gc_percent = c.gc_percent;
  cc.max_heap = c.max_heap;
  cc.soft_limit = c.soft_limit;
  cc.marker_threads = c.marker_threads;
  cc.concurrent = c.concurrent != 0;
  cc.verify = c.verify != 0;
  cc.gctrace = c.gctrace != 0;
  cc.background_sweeper = c.background_sweeper != 0;
  cc.scavenge_delay_ms = c.scavenge_delay_ms;
  cc.periodic_gc_ms = c.periodic_gc_ms;
  cc.alloc_sites = c.alloc_sites;
  cc.find_leak = c.find_leak != nullptr ? c.find_leak : "";
  cc.reserve = c.reserve;
  cc.collect_every = c.collect_every;
  cc.mark_cpu_percent = c.mark_cpu_percent;
  if (c.on_event != nullptr) {
    cc.on_event = [fn = c.on_event, ctx = c.event_context](const tricolor::Event& e) {
      const tc_event ce{static_cast<tc_phase>(e.phase), e.cycle, e.time_ns, e.heap_bytes};
      fn(&ce, ctx);
    };
  }
  // NULL, as promised, when the heap cannot be set up: no exception may cross into C.
  if (cc.reserve > kMaxReserve) {
    set_last_error("tc_heap_create: cannot reserve %zu bytes of address space (more than the %zu a process has): "
                   "lower tc_config.reserve",
                   cc.reserve, kMaxReserve);
    errno = ENOMEM;
    return nullptr;
  }
  tc_heap* heap = nullptr;
  try {
    heap = new tc_heap(cc);
  } catch (const std::bad_alloc&) {
    // The reservation failed (or memory for the heap's tables). The C++ message names Config::reserve.
    set_last_error("tc_heap_create: cannot reserve %zu bytes of address space for the heap: lower "
                   "tc_config.reserve (or TRICOLOR_RESERVE), or raise the address-space limit (ulimit -v)",
                   cc.reserve);
    errno = ENOMEM;
    return nullptr;
  } catch (const std::exception& e) {  // e.g. the marker threads could not be started
    set_last_error("tc_heap_create: %s", e.what());
    errno = EAGAIN;
    return nullptr;
  }
  std::lock_guard lock(g_heaps_mu);
  g_heaps.push_back(heap);
  return heap;
}

const char* tc_last_error(void) { return t_last_error.empty() ? nullptr : t_last_error.c_str(); }

void tc_heap_destroy(tc_heap* heap) {
  if (heap == nullptr) return;
  internal::ThreadFast* t = internal::tls_thread;
  TC_CHECK(t == nullptr || t->heap != &heap->heap.impl(),
           "tc_heap_destroy: the calling thread is still attached to this heap: call tc_thread_detach() first");
  const std::size_t attached = internal::attached_thread_count(heap->heap.impl());
  TC_CHECK(attached == 0,
           "tc_heap_destroy: %zu thread(s) are still attached to this heap: each calls tc_thread_detach() (or "
           "exits) first",
           attached);
  const std::size_t globals = heap->globals.load(std::memory_order_relaxed);
  TC_CHECK(globals == 0, "tc_heap_destroy: %zu tc_global(s) of this heap are still alive: tc_global_free them first",
           globals);
  {
    std::lock_guard lock(g_heaps_mu);
    g_heaps.erase(std::find(g_heaps.begin(), g_heaps.end(), heap));
  }
  delete heap;
}

void tc_collect(tc_heap* heap) {
  need(heap, "tc_collect", "heap", kNeedHeap);
  check_not_in_callback("tc_collect");
  heap->heap.collect();
}

void tc_collect_async(tc_heap* heap) {
  need(heap, "tc_collect_async", "heap", kNeedHeap);
  heap->heap.start_collection();
}

void tc_heap_set_collect_every(tc_heap* heap, std::size_t n) {
  need(heap, "tc_heap_set_collect_every", "heap", kNeedHeap);
  heap->heap.set_collect_every(n);
}

namespace {
void call_weak_callback(void* ctx) {
  auto* cb = static_cast<CWeakCallback*>(ctx);
  InCallback in(kInWeak);
  cb->fn(cb->context);
}
}  // namespace

std::uint64_t tc_heap_add_weak_callback(tc_heap* heap, tc_weak_callback_fn fn, void* context) {
  need(heap, "tc_heap_add_weak_callback", "heap", kNeedHeap);
  need(fn, "tc_heap_add_weak_callback", "fn", "pass the function that prunes the weak table");
  auto cb = std::make_unique<CWeakCallback>(CWeakCallback{fn, context});
  std::lock_guard lock(heap->mu);
  const std::uint64_t id = tricolor::add_weak_callback(heap->heap, &call_weak_callback, cb.get());
  heap->weak_callbacks.emplace(id, std::move(cb));
  return id;
}

void tc_heap_remove_weak_callback(tc_heap* heap, std::uint64_t id) {
  need(heap, "tc_heap_remove_weak_callback", "heap", kNeedHeap);
  {
    std::lock_guard lock(heap->mu);
    TC_CHECK(heap->weak_callbacks.count(id) != 0,
             "tc_heap_remove_weak_callback: %llu is not a callback id that tc_heap_add_weak_callback returned for "
             "this heap (or it was removed already)",
             static_cast<unsigned long long>(id));
  }
  // First the core (which waits out a call in progress: it holds its lock while calling), then the
  // context it was calling with. mu is not held across it: lock order is the core's lock, then mu.
  tricolor::remove_weak_callback(heap->heap, id);
  std::lock_guard lock(heap->mu);
  heap->weak_callbacks.erase(id);
}

static tc_pause_summary to_c(const tricolor::PauseSummary& p) {
  return tc_pause_summary{p.count, p.p50_ms, p.p90_ms, p.p99_ms, p.max_ms, p.total_ms};
}

void tc_heap_stats(tc_heap* heap, tc_stats* out) {
  need(heap, "tc_heap_stats", "heap", kNeedHeap);
  need(out, "tc_heap_stats", "out", "pass the tc_stats to fill");
  const tricolor::Stats s = heap->heap.stats();
  *out = tc_stats{};
  out->heap_bytes = s.heap_bytes;
  out->heap_peak_bytes = s.heap_peak_bytes;
  out->committed_bytes = s.committed_bytes;
  out->released_bytes = s.released_bytes;
  out->live_bytes = s.live_bytes;
  out->allocated_bytes = s.allocated_bytes;
  out->heap_goal = s.heap_goal;
  out->cycles = s.cycles;
  out->objects_freed = s.objects_freed;
  out->mark_wall_ms = s.mark_wall_ms;
  out->mark_cpu_ms = s.mark_cpu_ms;
  out->assist_ms = s.assist_ms;
  out->global_pauses = to_c(s.global_pauses);
  out->thread_pauses = to_c(s.thread_pauses);
  out->allocated_objects = s.allocated_objects;
}

int tc_heap_set_gc_percent(tc_heap* heap, int gc_percent) {
  return need(heap, "tc_heap_set_gc_percent", "heap", kNeedHeap)->heap.set_gc_percent(gc_percent);
}

size_t tc_heap_set_soft_limit(tc_heap* heap, size_t soft_limit) {
  return need(heap, "tc_heap_set_soft_limit", "heap", kNeedHeap)->heap.set_soft_limit(soft_limit);
}

int tc_heap_contains(tc_heap* heap, const void* p) {
  return need(heap, "tc_heap_contains", "heap", kNeedHeap)->heap.contains(p) ? 1 : 0;
}

// ---- Threads

void tc_thread_attach(tc_heap* heap, const char* name) {
  need(heap, "tc_thread_attach", "heap", kNeedHeap);
  TC_CHECK(internal::tls_thread == nullptr,
           "tc_thread_attach: this thread is already attached to a heap (one heap per thread; call "
           "tc_thread_detach() first)");
  t_c.mutator = new (t_c.mutator_storage) tricolor::Mutator(heap->heap, name);
  t_c.heap = heap;
  arm_exit_check();  // after the Mutator: destroyed before the core's exit hook (see CThreadExit)
}

void tc_thread_detach() {
  TC_CHECK(t_c.mutator != nullptr && internal::tls_thread != nullptr,
           "tc_thread_detach: this thread is not attached with tc_thread_attach");
  TC_CHECK(t_c.blocking_depth == 0, "tc_thread_detach inside tc_blocking_enter: call tc_blocking_leave() first");
  const internal::RootNode* r = internal::tls_thread->roots;
  TC_CHECK(r == nullptr,
           "tc_thread_detach: a root%s of this thread is still pushed: pop every tc_root and TC_FRAME first",
           describe_root(r, __builtin_frame_address(0)).c_str());  // frames below this one have returned
  t_c.mutator->~Mutator();
  t_c.mutator = nullptr;
  t_c.heap = nullptr;
  t_c.callbacks.clear();  // they died with the thread's state
}

tc_heap* tc_current_heap() { return internal::tls_thread != nullptr ? t_c.heap : nullptr; }

void tc_blocking_enter() {
  c_thread("tc_blocking_enter");
  if (t_c.blocking_depth++ == 0) t_c.blocking = new (t_c.blocking_storage) tricolor::BlockingScope();
}

void tc_blocking_leave() {
  TC_CHECK(t_c.blocking_depth > 0, "tc_blocking_leave without a matching tc_blocking_enter on this thread");
  if (--t_c.blocking_depth == 0) {
    t_c.blocking->~BlockingScope();
    t_c.blocking = nullptr;
  }
}

void tc_safepoint() {
  c_thread("tc_safepoint");
  tricolor::safepoint();
}

// ---- Types

tc_type tc_type_register(const tc_type_desc* d) {
  need(d, "tc_type_register", "desc", "pass a zero-initialised tc_type_desc with the type's fields set");
  if (const char* problem = desc_problem(*d)) [[unlikely]]
    internal::fatal(__FILE__, __LINE__, "%s", problem);
  const char* name = d->name != nullptr ? d->name : "<unnamed C type>";
  auto ct = std::make_unique<CType>();
  ct->size = d->size;
  ct->trace = d->trace;
  ct->destroy = d->destroy;
  for (std::size_t i = 0; i < d->pointer_count; ++i) {
    ct->pointers.push_back(d->pointer_offsets[i]);
    if (d->pointer_names != nullptr && d->pointer_names[i] != nullptr) {
      ct->pointer_names.emplace_back(d->pointer_names[i]);
      continue;
    }
    // "+16": the field's offset. (Built with snprintf: GCC 12 at -O3 misreports `"+" + std::to_string`
    // as an overlapping memcpy, -Werror=restrict.)
    char field[24];
    std::snprintf(field, sizeof field, "+%zu", d->pointer_offsets[i]);
    ct->pointer_names.emplace_back(field);
  }
  ct->weaks.assign(d->weak_offsets, d->weak_offsets + d->weak_count);
  for (std::size_t i = 0; i < d->tagged_count; ++i) {
    ct->tagged.push_back(d->tagged_offsets[i]);
    char field[24];
    std::snprintf(field, sizeof field, "+%zu", d->tagged_offsets[i]);
    ct->tagged_names.emplace_back(field);
  }
  ct->decode = d->decode;
  if (d->trailing_pointers) {
    ct->trailing = true;
    ct->trailing_count_offset = d->trailing_count_offset;
    ct->count_width = d->trailing_count_width != 0 ? d->trailing_count_width : sizeof(std::size_t);
    ct->element_size = d->element_size;
    ct->element_pointers.assign(d->element_pointer_offsets, d->element_pointer_offsets + d->element_pointer_count);
    ct->element_tagged.assign(d->element_tagged_offsets, d->element_tagged_offsets + d->element_tagged_count);
  }
  const bool scans =
      ct->trace != nullptr || !ct->pointers.empty() || !ct->weaks.empty() || !ct->tagged.empty() || ct->trailing;
  // Span kinds (include/tricolor/internal/size_classes.hpp): only "finalize" spans have their dead
  // objects visited by the sweeper; "noscan" ones are never read by the marker.
  ct->kind = ct->destroy != nullptr ? internal::SpanKind::kFinalize
             : scans                ? internal::SpanKind::kScan
                                    : internal::SpanKind::kNoScan;
  ct->id = internal::register_dynamic_type(name, scans ? &trace_c_object : nullptr,
                                           ct->destroy != nullptr ? &destroy_c_object : nullptr, d->size);
  const std::uint32_t id = ct->id;
  g_ctypes[id].store(ct.release(), std::memory_order_release);  // pairs with the acquire in ctype_of; never freed
  return id;
}

const char* tc_type_desc_check(const tc_type_desc* d) {
  return desc_problem(*need(d, "tc_type_desc_check", "desc", "pass the tc_type_desc to check"));
}

tc_type tc_type_register_traced(const char* name, std::size_t size, tc_trace_fn trace, tc_destroy_fn destroy) {
  tc_type_desc d{};
  d.name = name;
  d.size = size;
  d.trace = trace;
  d.destroy = destroy;
  return tc_type_register(&d);
}

tc_type tc_type_register_offsets(const char* name, std::size_t size, const std::size_t* offsets,
                                 std::size_t count, tc_destroy_fn destroy) {
  tc_type_desc d{};
  d.name = name;
  d.size = size;
  d.pointer_offsets = offsets;
  d.pointer_count = count;
  d.destroy = destroy;
  return tc_type_register(&d);
}

const char* tc_type_name_of(const void* obj) {
  need(obj, "tc_type_name_of", "obj", "pass an object of a tricolor heap");
  TC_CHECK(is_heap_object(obj),
           "tc_type_name_of(%p): not an object of a tricolor heap (a stack, static or malloc'ed address, a pointer "
           "into an object rather than to its start, or an object of a heap created in C++ while this thread is "
           "not attached to it)",
           obj);
  return tricolor::type_name_of(obj);
}

// ---- Allocation

void* tc_alloc(tc_type type, std::size_t size) {
  return allocate(ctype_checked(type, "tc_alloc"), size, "tc_alloc");
}

void* tc_new(tc_type type) {
  const CType& ct = ctype_checked(type, "tc_new");
  return allocate(ct, ct.size, "tc_new");
}

void* tc_alloc_trailing(tc_type type, std::size_t count) {
  const CType& ct = ctype_checked(type, "tc_alloc_trailing");
  TC_CHECK(ct.trailing,
           "tc_alloc_trailing(\"%s\", %zu): the type has no trailing pointers (set trailing_pointers and "
           "trailing_count_offset in its tc_type_desc, or use tc_alloc)",
           internal::type_info(ct.id).name, count);
  // size + count * stride, refused before it can wrap.
  if (count > (SIZE_MAX - ct.size) / ct.stride()) {
    set_last_error("tc_alloc_trailing(\"%s\", %zu): %zu + %zu * %zu bytes is not representable",
                   internal::type_info(ct.id).name, count, ct.size, count, ct.stride());
    return nullptr;
  }
  if (ct.count_width < sizeof(std::size_t) && (count >> (8 * ct.count_width)) != 0) {
    set_last_error("tc_alloc_trailing(\"%s\", %zu): the count does not fit the type's %u-byte count field",
                   internal::type_info(ct.id).name, count, ct.count_width);
    return nullptr;
  }
  void* obj = allocate(ct, ct.size + count * ct.stride(), "tc_alloc_trailing");
  // Before any safepoint: no tracer can have seen the object yet.
  if (obj != nullptr) write_trailing_count(ct, static_cast<char*>(obj), count);
  return obj;
}

void* tc_alloc_buffer(std::size_t bytes) {
  check_not_in_callback("tc_alloc_buffer");
  internal::ThreadFast* t = c_thread("tc_alloc_buffer");
  check_not_blocking(t, "tc_alloc_buffer");
  if (!size_fits_heap(t, bytes, "tc_alloc_buffer", nullptr)) return nullptr;
  void* p = tricolor::try_make_buffer(std::max<std::size_t>(bytes, 1));
  return p != nullptr ? p : heap_limit_reached("tc_alloc_buffer", nullptr, bytes);
}

std::size_t tc_object_size(const void* obj) {
  need(obj, "tc_object_size", "obj", "pass an object that tc_alloc returned");
  const internal::HeapImpl* heap = g_arena_owners.find(obj);
  if (heap == nullptr)
    if (internal::ThreadFast* t = internal::tls_thread; t != nullptr && internal::heap_contains(*t->heap, obj))
      heap = t->heap;
  const std::optional<std::size_t> payload =
      heap != nullptr ? internal::slot_payload_bytes(*heap, obj) : std::nullopt;
  TC_CHECK(payload.has_value(),
           "tc_object_size(%p): not an object allocated by tc_alloc, tc_new or tc_alloc_trailing in a live heap",
           obj);
  return *payload;
}

// ---- Tracing

// The NULL checks here are one predictable branch per call, on the marking path only.
void tc_trace(tc_tracer* t, const void* obj) {
  Tracer& tr = as_tracer(t, "tc_trace");
  if (obj != nullptr) tr.visit(obj, nullptr, Tracer::kNoIndex);
}

void tc_trace_named(tc_tracer* t, const void* obj, const char* field) {
  Tracer& tr = as_tracer(t, "tc_trace_named");
  if (obj != nullptr) tr.visit(obj, field, Tracer::kNoIndex);
}

void tc_trace_indexed(tc_tracer* t, const void* obj, const char* field, std::size_t index) {
  Tracer& tr = as_tracer(t, "tc_trace_indexed");
  if (obj != nullptr) tr.visit(obj, field, index);
}

void tc_trace_word(tc_tracer* t, const std::uintptr_t* slot, tc_decode_fn decode, const char* field) {
  Tracer& tr = as_tracer(t, "tc_trace_word");
  need(slot, "tc_trace_word", "slot", "pass the address of the tagged field (&obj->field)");
  need(decode, "tc_trace_word", "decode", "pass the function that decodes the VM's tagged words");
  if (const void* p = load_word(slot, decode)) tr.visit(p, field, Tracer::kNoIndex);
}

void tc_trace_slot(tc_tracer* t, void* const* slot) {
  Tracer& tr = as_tracer(t, "tc_trace_slot");
  need(slot, "tc_trace_slot", "slot", "pass the address of the field (&obj->field)");
  if (const void* p = load_slot(slot)) tr.visit(p, nullptr, Tracer::kNoIndex);
}

void tc_trace_range(tc_tracer* t, void* const* slots, std::size_t n) {
  Tracer& tr = as_tracer(t, "tc_trace_range");
  if (n == 0) return;
  need(slots, "tc_trace_range", "slots", "pass the address of the first of n fields");
  for (std::size_t i = 0; i < n; ++i)
    if (const void* p = load_slot(slots + i)) tr.visit(p, nullptr, i);
}

void tc_trace_weak(tc_tracer* t, void* const* slot) {
  Tracer& tr = as_tracer(t, "tc_trace_weak");
  tr.visit_weak(weak_slot(need(slot, "tc_trace_weak", "slot", "pass the address of the weak field")), nullptr);
}

void tc_trace_ephemeron(tc_tracer* t, void* const* key_slot, void* const* value_slot) {
  Tracer& tr = as_tracer(t, "tc_trace_ephemeron");
  need(key_slot, "tc_trace_ephemeron", "key_slot", "pass the address of the (weak) key field");
  need(value_slot, "tc_trace_ephemeron", "value_slot", "pass the address of the value field");
  auto* value = reinterpret_cast<std::atomic<const void*>*>(const_cast<void**>(value_slot));
  tr.visit_ephemeron(weak_slot(key_slot), value, nullptr);
}

// ---- Roots

void tc_root_push(tc_root* r, void* obj, const char* name) {
  need(r, "tc_root_push", "root", "pass a tc_root the caller owns (normally a local variable)");
  internal::ThreadFast* t = c_thread("tc_root_push");
  internal::RootNode* n = as_node(r);
  n->prev = t->roots;
  n->ptr = obj;
  n->name = name;
  // As Root<T>: until every thread's roots are scanned, a pointer that arrives in a root from outside
  // the heap is shaded.
  internal::shade_if_roots_pending(obj);
  t->roots = n;
}

void tc_root_pop(tc_root* r) {
  need(r, "tc_root_pop", "root", "pass the tc_root that tc_root_push linked");
  internal::ThreadFast* t = internal::tls_thread;
  if (t == nullptr || t->roots != as_node(r)) [[unlikely]]
    fail_pop("tc_root_pop", r);
  t->roots = as_node(r)->prev;
}

void tc_frame_push(tc_root* roots, std::size_t n, const char* name) {
  if (n != 0) need(roots, "tc_frame_push", "roots", "pass an array of n tc_roots (TC_FRAME declares one)");
  internal::ThreadFast* t = c_thread("TC_FRAME");
  for (std::size_t i = 0; i < n; ++i) {
    internal::RootNode* node = as_node(&roots[i]);
    node->prev = t->roots;
    node->ptr = nullptr;
    node->name = name;
    t->roots = node;
  }
}

void tc_frame_pop(tc_root* roots, std::size_t n) {
  if (n == 0) return;
  need(roots, "tc_frame_pop", "roots", "pass the array tc_frame_push linked");
  internal::ThreadFast* t = internal::tls_thread;
  if (t == nullptr || t->roots != as_node(&roots[n - 1])) [[unlikely]]
    fail_pop("TC_FRAME_POP", &roots[n - 1]);
  t->roots = as_node(&roots[0])->prev;
}

tc_scope tc_scope_enter() {
  internal::ThreadFast* t = c_thread("tc_scope_enter");
  return tc_scope{reinterpret_cast<tc_root*>(t->roots)};
}

void tc_scope_leave(tc_scope scope) {
  internal::ThreadFast* t = c_thread("tc_scope_leave");
  internal::RootNode* target = as_node(scope.top);
  internal::RootNode* r = t->roots;
  while (r != target && r != nullptr) r = r->prev;
  TC_CHECK(r == target,
           "tc_scope_leave: the roots of this scope were already popped (scopes must nest, and be left on the "
           "thread that entered them)");
  t->roots = target;
}

tc_global* tc_global_new(tc_heap* heap, void* obj, const char* name) {
  need(heap, "tc_global_new", "heap", kNeedHeap);
  auto* g = new tc_global;
  g->node.name = name;
  g->heap = heap;
  internal::register_global(heap->heap, &g->node);
  heap->globals.fetch_add(1, std::memory_order_relaxed);
  if (obj != nullptr) tc_global_set(g, obj);
  return g;
}

void tc_global_set(tc_global* g, void* obj) {
  need(g, "tc_global_set", "global", "pass the tc_global* that tc_global_new returned");
  // As Global<T>: the markers scan globals concurrently, so stores are barriered like field stores.
  c_thread("tc_global_set");
  internal::write_barrier(g->node.ptr.load(std::memory_order_acquire), obj);  // acquire: as tc_store
  g->node.ptr.store(obj, std::memory_order_release);  // pairs with the acquire in tc_global_get
}

void* tc_global_get(const tc_global* g) {
  need(g, "tc_global_get", "global", "pass the tc_global* that tc_global_new returned");
  return const_cast<void*>(g->node.ptr.load(std::memory_order_acquire));
}

void tc_global_free(tc_global* g) {
  if (g == nullptr) return;
  internal::unregister_global(&g->node);
  g->heap->globals.fetch_sub(1, std::memory_order_relaxed);
  delete g;
}

// Scanned at mark start with the world stopped. A slot's later stores go through tc_store: the
// deletion half of its barrier keeps what was scanned, and the insertion half (while the storing
// thread's roots are unscanned) covers a pointer moved into the slot from a root not yet scanned.
// Removing a slot needs no barrier of its own for the same reason.
void tc_add_global_slot(tc_heap* heap, void** slot, const char* name) {
  need(heap, "tc_add_global_slot", "heap", kNeedHeap);
  need(slot, "tc_add_global_slot", "slot", "pass the address of a void* variable (&my_global)");
  std::lock_guard lock(heap->mu);
  for (const tc_heap::Slot& s : heap->slots)
    TC_CHECK(s.slot != slot, "tc_add_global_slot: slot %p (\"%s\") is already registered", static_cast<void*>(slot),
             s.name ? s.name : "unnamed");
  heap->slots.push_back({slot, name});
}

void tc_remove_global_slot(tc_heap* heap, void** slot) {
  need(heap, "tc_remove_global_slot", "heap", kNeedHeap);
  need(slot, "tc_remove_global_slot", "slot", "pass the address given to tc_add_global_slot");
  std::lock_guard lock(heap->mu);
  auto it = std::find_if(heap->slots.begin(), heap->slots.end(), [&](const tc_heap::Slot& s) { return s.slot == slot; });
  TC_CHECK(it != heap->slots.end(), "tc_remove_global_slot: slot %p was not registered with tc_add_global_slot",
           static_cast<void*>(slot));
  heap->slots.erase(it);
}

std::uint64_t tc_heap_add_roots(tc_heap* heap, tc_roots_fn fn, void* context, const char* name) {
  need(heap, "tc_heap_add_roots", "heap", kNeedHeap);
  if (fn == nullptr) fail_null("tc_heap_add_roots", "fn", "pass the function that traces the roots");
  auto cb = std::make_unique<RootsCallback>(RootsCallback{fn, context});
  const std::uint64_t id = heap->heap.add_roots(&call_roots, cb.get(), name);
  std::lock_guard lock(heap->mu);
  heap->callbacks.emplace(id, std::move(cb));
  return id;
}

void tc_heap_remove_roots(tc_heap* heap, std::uint64_t id) {
  need(heap, "tc_heap_remove_roots", "heap", kNeedHeap);
  std::unique_ptr<RootsCallback> cb;  // freed after the core forgets it
  {
    std::lock_guard lock(heap->mu);
    auto it = heap->callbacks.find(id);
    TC_CHECK(it != heap->callbacks.end(),
             "tc_heap_remove_roots: %llu is not an id that tc_heap_add_roots returned for this heap (or it was "
             "removed already)",
             static_cast<unsigned long long>(id));
    cb = std::move(it->second);
    heap->callbacks.erase(it);
  }
  heap->heap.remove_roots(id);  // after this the collector no longer calls it
}

std::uint64_t tc_thread_add_roots(tc_roots_fn fn, void* context, const char* name) {
  if (fn == nullptr) fail_null("tc_thread_add_roots", "fn", "pass the function that traces the roots");
  tricolor::Mutator* m = tricolor::Mutator::current();
  TC_CHECK(m != nullptr && internal::tls_thread != nullptr,
           "tc_thread_add_roots from a thread that is not attached: call tc_thread_attach first");
  auto cb = std::make_unique<RootsCallback>(RootsCallback{fn, context});
  const std::uint64_t id = m->add_roots(&call_roots, cb.get(), name);
  t_c.callbacks.emplace(id, std::move(cb));
  return id;
}

void tc_thread_remove_roots(std::uint64_t id) {
  tricolor::Mutator* m = tricolor::Mutator::current();
  TC_CHECK(m != nullptr && internal::tls_thread != nullptr,
           "tc_thread_remove_roots from a thread that is not attached");
  auto it = t_c.callbacks.find(id);
  TC_CHECK(it != t_c.callbacks.end(),
           "tc_thread_remove_roots: %llu is not an id that tc_thread_add_roots returned on this thread (or it was "
           "removed already)",
           static_cast<unsigned long long>(id));
  m->remove_roots(id);
  t_c.callbacks.erase(it);
}

// ---- Finalizers

void tc_set_finalizer(tc_heap* heap, void* obj, tc_finalizer_fn fn, void* context) {
  need(heap, "tc_set_finalizer", "heap", kNeedHeap);
  need(obj, "tc_set_finalizer", "obj", "pass an object of the heap");
  TC_CHECK(heap->heap.contains(obj),
           "tc_set_finalizer: %p is not an object of this heap (not a pointer tc_alloc or tc_new returned, a pointer "
           "into an object rather than to its start, or an object of another heap)",
           obj);
  heap->heap.set_finalizer(obj, fn, context);
}

std::size_t tc_run_finalizers(tc_heap* heap, std::size_t max) {
  need(heap, "tc_run_finalizers", "heap", kNeedHeap);
  TC_CHECK(c_thread("tc_run_finalizers")->heap == &heap->heap.impl(),
           "tc_run_finalizers: this thread is attached to another heap: finalizers run on a thread attached to "
           "their own heap");
  return heap->heap.run_finalizers(max);
}
std::size_t tc_pending_finalizers(tc_heap* heap) {
  return need(heap, "tc_pending_finalizers", "heap", kNeedHeap)->heap.pending_finalizers();
}

// ---- Leak checks

struct tc_leak_check {
  explicit tc_leak_check(tricolor::Heap& heap) : scope(heap) {}
  tricolor::LeakCheck scope;
  internal::ThreadFast* thread = internal::tls_thread;  // the opener: runs must happen there
  bool ran = false;
};

constexpr const char* kNeedScope = "pass the tc_leak_check* that tc_leak_check_begin returned";

tc_leak_check* tc_leak_check_begin(tc_heap* heap) {
  need(heap, "tc_leak_check_begin", "heap", kNeedHeap);
  TC_CHECK(c_thread("tc_leak_check_begin")->heap == &heap->heap.impl(),
           "tc_leak_check_begin: this thread is attached to another heap: open the scope on a thread attached to "
           "the heap it checks");
  return new tc_leak_check(heap->heap);
}

void tc_leak_check_ignore_type(tc_leak_check* s, const char* glob) {
  need(s, "tc_leak_check_ignore_type", "scope", kNeedScope);
  need(glob, "tc_leak_check_ignore_type", "glob", "pass a type-name pattern (\"*\" matches any run)");
  s->scope.ignore_type(glob);
}
void tc_leak_check_ignore_root(tc_leak_check* s, const char* glob) {
  need(s, "tc_leak_check_ignore_root", "scope", kNeedScope);
  need(glob, "tc_leak_check_ignore_root", "glob", "pass a root-name pattern (\"*\" matches any run)");
  s->scope.ignore_root(glob);
}

namespace {
void check_opener(const tc_leak_check* s, const char* what) {
  TC_CHECK(internal::tls_thread == s->thread,
           "%s on a thread other than the one that called tc_leak_check_begin: run and end a scope on the thread "
           "that opened it",
           what);
}
}  // namespace

std::size_t tc_leak_check_run(tc_leak_check* s, char** report) {
  need(s, "tc_leak_check_run", "scope", kNeedScope);
  check_not_in_callback("tc_leak_check_run");  // it collects
  check_opener(s, "tc_leak_check_run");
  tricolor::LeakReport r = s->scope.check();
  s->ran = true;
  r.title = "tc_leak_check";
  if (report != nullptr) {
    const std::string text = r.to_string();
    *report = static_cast<char*>(std::malloc(text.size() + 1));
    TC_CHECK(*report != nullptr, "tc_leak_check_run: out of memory for a %zu-byte report", text.size());
    std::memcpy(*report, text.c_str(), text.size() + 1);
  }
  return r.objects;
}

void tc_leak_check_end(tc_leak_check* s) {
  if (s == nullptr) return;  // a no-op, as free(NULL)
  if (!s->ran) {
    // What ~LeakCheck would do for a scope never checked, with the C names in the message.
    check_opener(s, "tc_leak_check_end");
    tricolor::LeakReport r = s->scope.check();
    r.title = "tc_leak_check";
    if (!r.empty())
      internal::fatal(__FILE__, __LINE__,
                      "tc_leak_check_end: the scope was never run and it leaked (call tc_leak_check_run to handle "
                      "the report yourself):\n%s",
                      r.to_string().c_str());
  }
  delete s;
}

void tc_release(const void* obj) {
  if (obj == nullptr) return;  // a no-op, as free(NULL)
  internal::ThreadFast* t = c_thread("tc_release");
  TC_CHECK(!internal::find_leak_mode(*t->heap) || internal::heap_contains(*t->heap, obj),
           "tc_release(%p): not an object of this thread's heap (not a pointer tc_alloc or tc_new returned, or a "
           "pointer into an object rather than to its start)",
           obj);
  tricolor::release(obj);
}
