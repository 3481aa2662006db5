// Code the collector calls back — a trace() function, a root callback, a destructor run by the
// sweeper — runs in the middle of the collector's own work, so it must not collect and must not
// allocate: a collection would wait for the very work the thread is doing (marking waits for the
// trace() to return, the next cycle for the sweep the destructor is part of), and an allocation may
// need an emergency collection, a sweep or a handshake. tls_collector_work names the work the
// calling thread is doing; Heap::collect() and the allocation slow paths check it and stop with a
// message instead of hanging.
//
// Fast-path allocations never look at it. A thread that must not allocate for a while parks its
// allocation windows instead (park_allocation: every allocation then reaches the slow path and is
// refused there); BlockingScope, Heap::collect() and the sweep's destructors do that. Only the
// thread itself, while running (not blocked), parks or unparks: a blocked thread's cache belongs to
// the collector.
#pragma once

namespace tricolor::internal {

struct ThreadState;

// Null, or what collector work this thread is doing ("a trace() function", ...). __thread: a plain
// TLS slot with no initialisation guard; only its own thread reads or writes it.
extern __thread const char* tls_collector_work;

class CollectorWorkScope {
 public:
  explicit CollectorWorkScope(const char* what) : saved_(tls_collector_work) { tls_collector_work = what; }
  ~CollectorWorkScope() { tls_collector_work = saved_; }
  CollectorWorkScope(const CollectorWorkScope&) = delete;
  CollectorWorkScope& operator=(const CollectorWorkScope&) = delete;

 private:
  const char* saved_;
};

inline constexpr const char* kInTrace = "a trace() function";
inline constexpr const char* kInRootCallback = "a root callback";
inline constexpr const char* kInSweepDestructor = "a destructor run by the sweeper";
inline constexpr const char* kInWeakCallback = "a weak callback";

// `operation` ("Heap::collect()", "an allocation") was called from tls_collector_work.
[[noreturn, gnu::cold]] void fail_reentrant(const char* operation);
// The allocation slow paths call it when tls_collector_work is set or t is inside a BlockingScope.
[[noreturn, gnu::cold]] void refuse_allocation(const ThreadState* t);

void park_allocation(ThreadState* t);
void unpark_allocation(ThreadState* t);

}  // namespace tricolor::internal
