// The write barrier's slow path. Inline (include/tricolor/internal/fast_path.hpp, and its C twin in
// tricolor.h): the check that some heap marks, and the common record -- barrier on, roots scanned,
// room in the buffer: the old value alone. Everything else comes here.
//
// Go's hybrid barrier. For a store *slot = new while this thread's heap marks:
//     shade(old value of *slot);   if this thread's roots are not yet scanned: shade(new)
// and objects allocated while marking are black. Shading only records the pointer in the thread's
// buffer (no atomic read-modify-write); the buffer is marked and published when full or at a handshake.
//
// Why this keeps every object that is reachable at mark termination marked, without re-scanning
// any stack. Let X be reachable at termination through a path from a root R.
//  - If X was allocated during marking it is black. Otherwise X existed at mark start.
//  - Snapshot part (deletion half): every object reachable from the heap or the roots *at the moment a
//    given thread's roots were scanned* stays reachable from something the marker visits, because any
//    pointer removed from the heap after mark start is shaded when it is overwritten. Globals are heap
//    slots for this purpose (barriered stores, scanned by the markers).
//  - Root part: a thread's roots are scanned once, atomically with respect to that thread (at its own
//    safepoint, or on its behalf while it is blocked). After that, every pointer it holds came either
//    from the heap (where its old location is protected by the deletion half until the load, and a
//    root store does not delete anything from the heap), or from an allocation (black), or from
//    another thread outside the heap, or from a weak read or a pool (which shade while marking:
//    shade_if_marking). The hand-off case needs Root<T> (and tc_root_set / tc_root_push) to shade
//    only while some thread's roots are not scanned yet: from the barrier round's start until the
//    root round ends (g_root_barrier_active, include/tricolor/internal/fast_path.hpp). Inside that
//    window the giver may be a thread not yet scanned, which drops the pointer before its scan: only
//    the receiver's shade keeps it. After it, every thread is scanned (a thread that attaches later
//    has no roots), and by the main rule a pointer in transit between threads is held in some root
//    across every safepoint: so whatever a giver holds is something its scan saw (grey), or what it
//    obtained since by one of the ways above, black or protected by the heap barrier, and handing it
//    on changes neither. (Shading on every Root assignment while marking made binary-trees record
//    about 65 million pointers per run, each flushed and found already black.)
//  - Before its roots are scanned, a thread may move a pointer from its roots into a heap object that
//    is already black and then drop it from its roots; the insertion half (shade(new) while unscanned)
//    covers exactly this window.
//  - Every thread turns the barrier on in the barrier round (gc/collector.cpp step 2), which ends
//    before any root is scanned: otherwise thread A could scan its roots, load p from X.f, and thread
//    B (barrier still off) could overwrite X.f, leaving p only in A's already-scanned roots. For the
//    same reason no object may turn black before the round ends: markers start after it, no cache
//    pre-marks before the thread's root scan, and a thread assists only after its root scan
//    (tests/collector_test.cpp has the case the torture program found when assists did not wait).
//  - A thread allocates white until its own root scan: such an object is in its roots when they are
//    scanned, or was stored into the heap under the insertion half, or is garbage.
//  - The old value is loaded with acquire (Member::store, tc_store): it may be an object another
//    thread allocated white during the barrier round and published with a release store, and a
//    marker will read its header and fields after this thread hands it over.
// Termination: proven without a stop by a flush round in which nothing was found and nothing was
// scanned (the argument is at the top of gc/collector.cpp); then every reachable object is black,
// and every buffer holds only black objects. The verifier (gc/verifier.cpp) checks this claim after
// each cycle in tests, and ragged termination's round 1 checks the buffers (TC_DCHECK).
#include "gc/heap_impl.hpp"

namespace tricolor::internal {

// A full buffer is flushed out of line (once per BarrierBuffer::kCapacity records).
[[gnu::noinline]] static void flush_full_buffer(ThreadState* t) { t->impl.flush_barrier(t); }

// The thread's buffer, with room for k more records: the one capacity check of both barriers.
static inline BarrierBuffer& buffer_with_room(ThreadState* t, std::size_t k) {
  BarrierBuffer& b = t->barrier;
  if (b.n + k > BarrierBuffer::kCapacity) [[unlikely]]
    flush_full_buffer(t);
  return b;
}

// The calling thread, if it is attached to a heap that marks; else null (unattached: nothing of
// ours to protect; another heap marking: not ours).
static inline ThreadState* marking_thread() {
  ThreadFast* tf = tls_thread;
  return tf != nullptr && tf->marking ? as_state(tf) : nullptr;
}

// One record, for the barriers that shade a single pointer (a root's or a weak slot's new value).
static inline void record_one(ThreadState* t, const void* p) {
  BarrierBuffer& b = buffer_with_room(t, 1);
  b.items[b.n++] = p;
}

// What the inline record leaves: a store before this thread's root scan (two records), a full
// buffer, another heap marking, a thread not attached. Room for both records is made once, before
// either is written (measured when this was the whole barrier: BM_MemberStore_MarkingOn 5.19 -> 4.51
// ns against a check and a call per record).
void write_barrier_slow(const void* old_value, const void* new_value) {
  ThreadFast* tf = tls_thread;
  TC_CHECK(tf != nullptr,
           "store into a tricolor::Member from a thread that is not attached to a heap: create a "
           "tricolor::Mutator on this thread first");
  if (!tf->marking) return;  // another heap is marking, not ours
  ThreadState* t = as_state(tf);
  BarrierBuffer& b = buffer_with_room(t, 2);
  std::size_t n = b.n;
  if (old_value != nullptr) b.items[n++] = old_value;
  if (new_value != nullptr && !t->roots_scanned) b.items[n++] = new_value;
  b.n = n;
}

// A store into a weak slot (Weak<T>, tc_weak_store) deletes no strong edge, but it may put an object
// into a slot that is never recorded: one in an object another thread allocated black, which no
// marker scans. Before this thread's roots are scanned, the object it stores may be one it
// allocated white, or hold only in its (unscanned) roots, and then drop: white at termination, the
// slot not cleared, the target freed under it. So the insertion half, as for a Member store: shade
// the new value until the roots are scanned. After that, whatever the thread holds is black or
// protected (see the top of this file), and the termination proof's "slots not recorded hold black
// values" holds (gc/collector.cpp, "Weak reads after the quiet round").
void weak_barrier_slow(const void* new_value) {
  if (ThreadState* t = marking_thread(); t != nullptr && !t->roots_scanned) record_one(t, new_value);
}

void root_barrier_slow(const void* new_value) {
  if (ThreadState* t = marking_thread()) record_one(t, new_value);
}

std::size_t HeapImpl::flush_barrier(ThreadState* t) {
  BarrierBuffer& b = t->barrier;
  std::size_t grey = 0;
  // In batches: the mark-bit tests of a batch are independent loads whose misses overlap.
  for (std::size_t i = 0; i < b.n; i += Marker::kShadeBatch)
    grey += marker.shade_batch(b.items + i, std::min(Marker::kShadeBatch, b.n - i), t->mark);
  b.n = 0;
  grey += t->mark.work.local_size();  // left over from an assist
  t->mark.work.publish();
  marker.merge(t->mark);
  return grey;
}

}  // namespace tricolor::internal
