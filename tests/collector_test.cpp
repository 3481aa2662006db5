// The cycle's protocol (gc/collector.cpp): ragged rounds instead of global stops, mark-termination
// restarts, and the safepoint watchdog. Synchronisation is by gates (atomics and condition
// variables), never by sleeping.
#include "gc/heap_impl.hpp"
#include "gc/testing.hpp"
#include "test_heap.hpp"

#include <unistd.h>

#include <condition_variable>
#include <functional>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

using namespace tricolor;
using tctest::Node;

namespace {

using tctest::Gate;

// Captures what this process writes to stderr (fd 2) while alive.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    file_ = std::tmpfile();
    saved_ = dup(2);
    dup2(fileno(file_), 2);
  }
  std::string finish() {
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    std::string text;
    std::rewind(file_);
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, file_)) > 0;) text.append(buf, n);
    std::fclose(file_);
    return text;
  }

 private:
  std::FILE* file_;
  int saved_;
};

internal::ThreadState* state_of_this_thread() { return internal::as_state(internal::tls_thread); }

// Answers exactly the rounds posted in `pending` for `self`, as poll_slow does for each (safepoint()
// would go on to answer any round posted meanwhile, a round the test means to hold included).
void answer_rounds(Heap& heap, internal::ThreadState* self, std::uint32_t pending) {
  heap.impl().collector.perform(self, pending, false);
  self->poll.fetch_and(~pending, std::memory_order_release);
  heap.impl().safepoint.notify_progress();
}

// An attached thread that polls nothing until released: the test hook for "a loop without polls".
// hold_until_cycle() starts a cycle and returns once the barrier round is posted to it.
class HeldThread {
 public:
  explicit HeldThread(Heap& heap) : heap_(heap) {
    thread_ = std::thread([this] {
      Mutator m(heap_, "held");
      state_.store(state_of_this_thread(), std::memory_order_release);
      while (!release_.load(std::memory_order_acquire)) std::this_thread::yield();
      safepoint();
    });
    while (state_.load(std::memory_order_acquire) == nullptr) std::this_thread::yield();
  }
  void hold_until_cycle() {
    heap_.impl().collector.request_cycle();
    while (state_.load(std::memory_order_acquire)->poll.load(std::memory_order_acquire) == 0) std::this_thread::yield();
  }
  void release() {
    release_.store(true, std::memory_order_release);
    BlockingScope wait_here;
    thread_.join();
  }

 private:
  Heap& heap_;
  std::atomic<internal::ThreadState*> state_{nullptr};
  std::atomic<bool> release_{false};
  std::thread thread_;
};

// An attached thread that answers every handshake round but the one that posts `hold`: there it
// runs at_hold() without reaching a safepoint, then polls nothing until released. after_answer()
// runs after each round it answers, also without a safepoint (so it cannot answer the next round
// from inside an allocation).
class RoundHolder {
 public:
  RoundHolder(Heap& heap, std::uint32_t hold, std::function<void()> after_answer = {}, std::function<void()> at_hold = {})
      : heap_(heap), hold_(hold), after_answer_(std::move(after_answer)), at_hold_(std::move(at_hold)) {
    thread_ = std::thread([this] {
      Mutator m(heap_, "held");
      internal::ThreadState* self = state_of_this_thread();
      attached_.store(true, std::memory_order_release);
      for (;;) {
        if (release_.load(std::memory_order_acquire)) return;  // the round never came (a failing test)
        const std::uint32_t pending = self->poll.load(std::memory_order_acquire);
        if (pending & hold_) break;
        if (pending != 0) {
          answer(self, pending);
          NoSafepoint quiet(self);
          if (after_answer_) after_answer_();
        }
        std::this_thread::yield();
      }
      {
        NoSafepoint quiet(self);
        if (at_hold_) at_hold_();
      }
      holding_.store(true, std::memory_order_release);
      while (!release_.load(std::memory_order_acquire)) std::this_thread::yield();
      safepoint();
    });
    while (!attached_.load(std::memory_order_acquire)) std::this_thread::yield();
  }
  bool holding() const { return holding_.load(std::memory_order_acquire); }
  void release() {
    release_.store(true, std::memory_order_release);
    BlockingScope wait_here;
    thread_.join();
  }

 private:
  void answer(internal::ThreadState* self, std::uint32_t pending) {
    if (pending & internal::kActionPark) {  // a stop: the real poll (this test's cycles have none)
      safepoint();
      return;
    }
    answer_rounds(heap_, self, pending);
  }
  struct NoSafepoint {
    explicit NoSafepoint(internal::ThreadState* t) : t_(t) { ++t_->no_safepoint_depth; }
    ~NoSafepoint() { --t_->no_safepoint_depth; }
    internal::ThreadState* t_;
  };
  Heap& heap_;
  const std::uint32_t hold_;
  std::function<void()> after_answer_, at_hold_;
  std::atomic<bool> attached_{false}, holding_{false}, release_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("a thread that never reaches a safepoint does not stop the other mutators", "[collector][ragged]") {
  Config c = tctest::test_config();
  c.initial_heap = 64u << 20;  // no cycle but the one this test starts
  Heap heap(c);
  Mutator main_thread(heap, "main");
  internal::set_safepoint_warning_for_testing(heap, 20'000'000);  // 20 ms

  HeldThread held(heap);
  StderrCapture capture;
  const std::uint64_t cycles_at_start = heap.impl().collector.cycles_completed();
  held.hold_until_cycle();  // the barrier round is posted; the held thread does not answer

  // This mutator answers its own handshake and keeps allocating: with a global stop it would park
  // here until the held thread answered, which it never does before release.
  Root<Node> keep(make<Node>(7));
  for (int i = 0; i < 100000; ++i) {
    Node* n = make<Node>(std::uint64_t(i));
    if (i % 1000 == 0) keep->left = n;
    safepoint();
  }
  const bool barrier_on_here = state_of_this_thread()->marking;
  // The watchdog names the thread the collector waits for.
  while (internal::safepoint_warnings_for_testing(heap) == 0) std::this_thread::yield();
  const bool cycle_still_open = heap.impl().collector.cycles_completed() == cycles_at_start;
  held.release();
  heap.collect();
  const std::string err = capture.finish();
  INFO(err);
  REQUIRE(barrier_on_here);
  REQUIRE(cycle_still_open);
  REQUIRE(err.find("thread 'held'") != std::string::npos);
  REQUIRE(err.find("safepoint") != std::string::npos);
  REQUIRE(keep->intact());
  REQUIRE(keep->left->intact());
}

// The hybrid barrier's root part (gc/write_barrier.cpp): a Root<T> assignment shades only while some
// thread's roots are not scanned. Here a thread whose roots are scanned receives, outside the heap, an
// object from a thread whose roots are not, which drops it before its own scan: only the receiver's
// shade keeps the object (and what it reaches) alive. Fails if the root barrier's window closes
// before the root round is over (the verifier aborts on the unmarked object, or it is freed).
TEST_CASE("a pointer handed outside the heap by a thread not yet scanned survives", "[collector][ragged][roots]") {
  Config c = tctest::test_config();
  c.initial_heap = 64u << 20;  // no cycle but the ones this test starts
  Heap heap(c);
  Mutator main_thread(heap, "main");
  std::atomic<Node*> handed{nullptr};
  std::atomic<bool> giver_ready{false}, received{false};
  std::thread giver([&] {
    Mutator m(heap, "giver");
    internal::ThreadState* self = state_of_this_thread();
    {
      Root<Node> mine(make<Node>(42));
      mine->left = make<Node>(43);  // reachable only through mine
      giver_ready.store(true, std::memory_order_release);
      ++self->no_safepoint_depth;  // no allocation below may answer the root round by the way
      for (;;) {
        const std::uint32_t pending = self->poll.load(std::memory_order_acquire);
        if (pending & internal::kActionScanRoots) break;
        if (pending != 0) answer_rounds(heap, self, pending);
        std::this_thread::yield();
      }
      handed.store(mine.get(), std::memory_order_release);
      mine = nullptr;  // dropped before this thread's roots are scanned
      --self->no_safepoint_depth;
    }
    while (!received.load(std::memory_order_acquire)) std::this_thread::yield();
    safepoint();  // the root round, now with nothing of the object in this thread's roots
  });
  while (!giver_ready.load(std::memory_order_acquire)) std::this_thread::yield();
  heap.impl().collector.request_cycle();
  internal::ThreadState* self = state_of_this_thread();
  while (handed.load(std::memory_order_acquire) == nullptr) safepoint();
  while (!self->allocate_black) safepoint();  // this thread's roots are scanned now
  const bool window_open = internal::g_root_barrier_active.load();
  Root<Node> got(handed.load(std::memory_order_acquire));
  received.store(true, std::memory_order_release);
  {
    BlockingScope joining;
    giver.join();
  }
  heap.collect();  // the cycle above ends, and one more runs whole
  heap.collect();
  REQUIRE(window_open);
  REQUIRE(got->intact());
  REQUIRE(got->value == 42);
  REQUIRE(got->left->intact());
  REQUIRE(got->left->value == 43);
}

namespace {
// An object whose one field is a weak slot (recorded when a marker scans the object).
template <class T>
struct WeakBox : Object<WeakBox<T>> {
  Weak<T> ref;
  void trace(Tracer& t) const { t.trace(ref, "ref"); }
};
}  // namespace

TEST_CASE("a termination stop that finds a late shade resumes concurrent marking", "[collector][termination]") {
  Config c = tctest::test_config();
  c.initial_heap = 64u << 20;
  Heap heap(c);
  Mutator m(heap, "main");
  // A weak callback runs with the world stopped: termination takes the stop (step 5b), the path this
  // test is about. (Without weak work it is ragged, and a late white shade cannot happen: the next
  // test.)
  const std::uint64_t callback = add_weak_callback(heap, [](void*) {}, nullptr);
  heap.collect();  // no cycle under way from here on until the one below

  // White when the cycle starts: allocated outside marking and held only weakly, so nothing marks it
  // unless a thread reads the weak reference, which is what a shade arriving after the last flush
  // round looks like.
  Root<WeakBox<Node>> box(make<WeakBox<Node>>());
  {
    Root<Node> late(make<Node>(99));
    late->left = make<Node>(100);  // reachable only through `late`
    box->ref = late.get();
  }

  struct Ctx {
    Gate in_window, shaded;
  } ctx;
  internal::set_before_termination_hook_for_testing(
      heap,
      [](void* p) {
        auto* x = static_cast<Ctx*>(p);
        x->in_window.open();
        x->shaded.wait();
      },
      &ctx);
  const auto restarts_before = internal::mark_termination_restarts_for_testing(heap);
  std::thread requester([&] { heap.collect(); });  // unattached: only waits
  {
    BlockingScope wait_here;  // the rounds are answered on our behalf
    ctx.in_window.wait();
  }
  // Between the last quiet round and the stop: a weak read shades its target into our barrier buffer.
  Root<Node> r(box->ref.get());
  ctx.shaded.open();
  {
    BlockingScope wait_here;
    requester.join();
  }
  internal::set_before_termination_hook_for_testing(heap, nullptr, nullptr);
  remove_weak_callback(heap, callback);
  REQUIRE(internal::mark_termination_restarts_for_testing(heap) > restarts_before);
  // The verifier ran at the end of that cycle; the objects survive the sweep and the next cycle.
  heap.collect();
  REQUIRE(r->intact());
  REQUIRE(r->value == 99);
  REQUIRE(r->left->intact());
  REQUIRE(r->left->value == 100);
}

namespace {

// Holds the controller at a test hook's point the first time it gets there (later visits pass),
// until the test lets it go.
struct HookWindow {
  std::atomic<int> fired{0};
  Gate in_window, done;
  static void hold(void* p) {
    auto* w = static_cast<HookWindow*>(p);
    if (w->fired.fetch_add(1) != 0) return;
    w->in_window.open();
    w->done.wait();
  }
  // The calling mutator waits as a blocked thread (the rounds go on without it) until the controller
  // is held there.
  void wait_for_controller() {
    BlockingScope wait_here;
    in_window.wait();
  }
};

// A heap in which no cycle runs but those the test starts (no trigger, no periodic cycle).
Config only_requested_cycles() {
  Config c = tctest::test_config();
  c.initial_heap = 64u << 20;
  c.periodic_gc_ms = 0;
  return c;
}

// Joins a thread as a blocked one: handshakes and stops do this thread's part meanwhile.
void join_blocked(std::thread& t) {
  BlockingScope wait_here;
  t.join();
}
}  // namespace

TEST_CASE("a weak read between the last quiet round and the weak check sends ragged termination back to marking",
          "[collector][termination][weak]") {
  // The fuzzer's case: a thread reads a weak slot whose target is white after the last quiet flush
  // round, keeps the target, and overwrites the slot before step 5a looks at it. 5a then sees no
  // white target and takes the ragged way; without the extra flush round, round 1 found the target
  // in the thread's buffer after marking had ended (a debug check aborts; in release builds the
  // target's children were freed while it was reachable).
  Heap heap(only_requested_cycles());
  Mutator m(heap, "main");
  Root<WeakBox<Node>> box(make<WeakBox<Node>>());
  Root<Node> other(make<Node>(1));
  heap.collect();  // no cycle under way from here on until the one below
  {
    // White when the next cycle starts (allocated outside marking) and reachable from no root: only
    // the weak slot of `box` knows it, and 5a would clear that slot.
    Node* x = make<Node>(99);
    x->left = make<Node>(100);  // reachable only through x
    box->ref = x;
  }
  HookWindow before_5a;  // only the first termination waits for the test
  internal::set_before_termination_hook_for_testing(heap, HookWindow::hold, &before_5a);
  const auto restarts_before = internal::mark_termination_restarts_for_testing(heap);
  std::thread requester([&] { heap.collect(); });  // unattached: only waits
  before_5a.wait_for_controller();
  // Between step 4's last round and 5a: the read shades the white target into our buffer and we keep
  // it; then the slot no longer shows it.
  Root<Node> r(box->ref.get());
  box->ref = other.get();
  before_5a.done.open();
  join_blocked(requester);
  internal::set_before_termination_hook_for_testing(heap, nullptr, nullptr);
  REQUIRE(r.get() != nullptr);
  REQUIRE(internal::mark_termination_restarts_for_testing(heap) > restarts_before);
  // The verifier ran at the end of that cycle; the object and its child survive the sweep and the next cycle.
  heap.collect();
  REQUIRE(r->intact());
  REQUIRE(r->value == 99);
  REQUIRE(r->left->intact());
  REQUIRE(r->left->value == 100);
  REQUIRE(box->ref.get() == other.get());
}

TEST_CASE("the extra round after weak reads counts scanning since step 4's quiet round, not since it began",
          "[collector][termination][weak]") {
  // A weak read after the last quiet round hands this thread a white X; its buffer fills and X goes
  // to the markers, which scan it (recording X's own weak slot) after 5a took the recorded slots and
  // before the extra round begins. A round that measured scanning from its own start saw nothing,
  // and termination went the ragged way with X's slot never looked at: X.w kept pointing at a
  // target the sweep freed.
  Heap heap(only_requested_cycles());
  Mutator m(heap, "main");
  using Holder = WeakBox<tctest::Counted>;  // X: its weak slot is recorded only when X is scanned
  Root<WeakBox<Holder>> box(make<WeakBox<Holder>>());
  Root<Holder> other(make<Holder>());
  heap.collect();
  internal::wait_for_sweeping_for_testing(heap);
  const long live_before = tctest::Counted::live.load();
  {
    // X and its weak target Y: white when the cycle starts, X known only to box's weak slot.
    Holder* x = make<Holder>();
    box->ref = x;
    x->ref = make<tctest::Counted>();
  }
  HookWindow before_5a, after_5a;
  internal::set_before_termination_hook_for_testing(heap, HookWindow::hold, &before_5a);
  internal::set_after_weak_check_hook_for_testing(heap, HookWindow::hold, &after_5a);
  const auto restarts_before = internal::mark_termination_restarts_for_testing(heap);
  std::thread requester([&] { heap.collect(); });  // unattached: only waits
  before_5a.wait_for_controller();
  // Before 5a: take X from the weak slot (shaded into our buffer) and overwrite the slot.
  Root<Holder> r(box->ref.get());
  box->ref = other.get();
  before_5a.done.open();
  after_5a.wait_for_controller();
  // After 5a, before the extra round: fill the buffer (each weak read records its target) so that X
  // goes to the markers, and let them scan it.
  for (std::size_t i = 0; i < internal::BarrierBuffer::kCapacity + 1; ++i) Root<Holder> shade(box->ref.get());
  internal::wait_for_markers_for_testing(heap);
  const bool x_marked = internal::is_marked_for_testing(heap, r.get());
  after_5a.done.open();
  join_blocked(requester);
  internal::set_before_termination_hook_for_testing(heap, nullptr, nullptr);
  internal::set_after_weak_check_hook_for_testing(heap, nullptr, nullptr);
  internal::wait_for_sweeping_for_testing(heap);
  REQUIRE(r.get() != nullptr);
  REQUIRE(x_marked);
  CHECK(internal::mark_termination_restarts_for_testing(heap) > restarts_before);
  // X's slot was looked at: its target, reachable from nothing, is gone and the slot reads null.
  REQUIRE(r->ref.peek() == nullptr);
  REQUIRE(tctest::Counted::live.load() == live_before);
}

TEST_CASE("a weak store by a thread whose roots are not scanned yet keeps its target for the cycle",
          "[collector][ragged][weak]") {
  // The object the weak slot lives in was allocated black by a thread already scanned, so no marker
  // scans it and its slot is never recorded: nothing clears the slot at termination. The storing
  // thread allocated the target white (its roots are not scanned) and drops it. Without the weak
  // store's insertion half the target stays white and is freed with the slot still pointing at it.
  Heap heap(only_requested_cycles());
  Mutator main_thread(heap, "main");
  heap.collect();
  internal::wait_for_sweeping_for_testing(heap);
  const long live_before = tctest::Counted::live.load();
  std::atomic<WeakBox<tctest::Counted>*> box{nullptr};
  Gate box_ready;
  std::atomic<bool> stored{false};
  // Held at the root round: its barrier is on, its roots unscanned, it allocates white.
  RoundHolder held(heap, internal::kActionScanRoots, {}, [&] {
    box_ready.wait();
    box.load()->ref = make<tctest::Counted>();  // white, and held by nothing but the weak slot
    stored.store(true);
  });
  Root<WeakBox<tctest::Counted>> keep;
  const std::uint64_t cycles_at_start = heap.impl().collector.cycles_completed();
  heap.impl().collector.request_cycle();
  // This thread answers the root round itself and then allocates black.
  while (!state_of_this_thread()->roots_scanned || !state_of_this_thread()->allocate_black) safepoint();
  keep = make<WeakBox<tctest::Counted>>();
  const bool box_black = internal::is_marked_for_testing(heap, keep.get());
  box.store(keep.get());
  box_ready.open();
  while (!held.holding()) safepoint();
  held.release();
  while (heap.impl().collector.cycles_completed() == cycles_at_start) safepoint();
  internal::wait_for_sweeping_for_testing(heap);
  REQUIRE(box_black);
  REQUIRE(stored.load());
  // The target survives this cycle (shaded by the store): the slot still points at a live object.
  REQUIRE(keep->ref.peek() != nullptr);
  REQUIRE(tctest::Counted::live.load() == live_before + 1);
  // The next cycle scans the box, records the slot and clears it; the target goes.
  heap.collect();
  internal::wait_for_sweeping_for_testing(heap);
  REQUIRE(keep->ref.peek() == nullptr);
  REQUIRE(tctest::Counted::live.load() == live_before);
}

TEST_CASE("mark start is ragged: no global stop without heap-wide root callbacks", "[collector][ragged]") {
  tctest::TestHeap h;
  Root<Node> keep(make<Node>(1));
  for (int i = 0; i < 3; ++i) h.collect_now();
  std::size_t mark_start_stops = 0;
  for (const Pause& p : h.stats().pauses) mark_start_stops += p.kind == PauseKind::kMarkStart;
  REQUIRE(mark_start_stops == 0);
  REQUIRE(h.stats().cycles >= 3);
}

TEST_CASE("heap-wide root callbacks are scanned in a mark-start stop and keep their objects", "[collector][roots]") {
  tctest::TestHeap h;
  static Node* slot = nullptr;
  slot = make<Node>(5);
  const auto id = h.heap.add_roots([](Tracer& t, void*) { t.trace(slot, "slot"); }, nullptr, "raw-slot");
  for (int i = 0; i < 20000; ++i) make<Node>(std::uint64_t(i));
  h.collect_now();
  h.collect_now();
  std::size_t mark_start_stops = 0;
  for (const Pause& p : h.stats().pauses) mark_start_stops += p.kind == PauseKind::kMarkStart;
  REQUIRE(mark_start_stops >= 2);
  REQUIRE(slot->intact());
  REQUIRE(slot->value == 5);
  h.heap.remove_roots(id);
}

TEST_CASE("no thread scans objects before every thread's barrier is on", "[collector][ragged]") {
  // While the barrier round is open (another thread has not answered), this thread has its barrier
  // on and its buffer flushes make objects grey; if it assisted, it would scan them and make them
  // black while the other thread could still store into them without a barrier (the torture program
  // found exactly that).
  Config c = tctest::test_config();
  c.initial_heap = 4u << 20;
  Heap heap(c);
  Mutator main_thread(heap, "main");
  Root<Node> list(nullptr);
  for (int i = 0; i < 2000; ++i) {
    Node* n = make<Node>(std::uint64_t(i));
    n->left = list.get();
    n->right = make<Node>(std::uint64_t(i) + 100000);
    list = n;
  }
  heap.collect();  // the pacer now expects this much live data: allocation while marking owes work

  HeldThread held(heap);
  held.hold_until_cycle();
  while (!state_of_this_thread()->marking) safepoint();  // this thread answers the barrier round

  // Deletion-barrier shades overflow the buffer (published grey objects), then allocation owes work.
  int cut = 0;
  for (Node* n = list.get(); n != nullptr && cut < 1000; n = n->left, ++cut) n->right = nullptr;
  const std::size_t pauses_before = heap.stats().pauses.size();
  // ~2 MB: enough to owe several assists' worth of work, well below the point where this thread
  // would wait for the cycle (which cannot end while the other thread is held).
  for (int i = 0; i < 40000; ++i) make<Node>(std::uint64_t(i));
  std::size_t assists = 0;
  const Stats s = heap.stats();
  for (std::size_t i = pauses_before; i < s.pauses.size(); ++i) assists += s.pauses[i].kind == PauseKind::kAssist;
  const bool round_open = !state_of_this_thread()->allocate_black;
  held.release();
  heap.collect();
  REQUIRE(round_open);
  REQUIRE(assists == 0);
  std::size_t n = 0;
  for (Node* x = list.get(); x != nullptr; x = x->left, ++n) REQUIRE(x->intact());
  REQUIRE(n == 2000);
}

TEST_CASE("termination without weak work is ragged: no global stop in a cycle", "[collector][ragged][termination]") {
  Config c = tctest::test_config();
  c.verify = false;  // the verifier checks the termination claim in a stop of its own
  Heap heap(c);
  Mutator m(heap, "main");
  Root<Node> keep(make<Node>(1));
  for (int round = 0; round < 3; ++round) {
    // Not collect(): its caller waits as a blocked thread, and its rounds are answered on its behalf.
    const std::uint64_t before = heap.impl().collector.cycles_completed();
    heap.impl().collector.request_cycle();
    for (std::uint64_t i = 0; heap.impl().collector.cycles_completed() == before; ++i) {
      keep->left = make<Node>(i);
      safepoint();
    }
  }
  std::size_t stops = 0, handshakes = 0;
  const Stats s = heap.stats();
  for (const Pause& p : s.pauses) {
    stops += p.kind == PauseKind::kMarkTermination || p.kind == PauseKind::kMarkStart;
    handshakes += p.kind == PauseKind::kHandshake;
  }
  REQUIRE(s.cycles >= 3);
  REQUIRE(stops == 0);
  REQUIRE(handshakes > 0);  // this thread answered its own termination rounds
  REQUIRE(keep->intact());
  REQUIRE(keep->left->intact());
}

TEST_CASE("a thread that has not answered the termination round does not stop the other mutators",
          "[collector][ragged][termination]") {
  Config c = tctest::test_config();
  c.initial_heap = 64u << 20;  // no cycle but the one this test starts
  Heap heap(c);
  Mutator main_thread(heap, "main");
  heap.collect();
  Root<Node> keep(make<Node>(7));
  keep->left = make<Node>(8);
  RoundHolder held(heap, internal::kActionMarkDone);
  const std::uint64_t cycles_at_start = heap.impl().collector.cycles_completed();
  heap.impl().collector.request_cycle();
  // This thread answers every round, the termination's first included, and keeps allocating: with
  // a termination stop it would park until the held thread answered, which it does not before release.
  // (Any allocation may answer several rounds at once: the loop may run no iteration at all.)
  while ((!held.holding() || state_of_this_thread()->marking) && heap.impl().collector.cycles_completed() == cycles_at_start) {
    keep->left = make<Node>(8);
    safepoint();
  }
  const bool held_at_round = held.holding();
  for (int i = 0; i < 20000; ++i) {
    Node* n = make<Node>(std::uint64_t(i));
    if (i % 1000 == 0) keep->right = n;
  }
  const bool cycle_still_open = heap.impl().collector.cycles_completed() == cycles_at_start;
  const bool still_black = state_of_this_thread()->allocate_black;  // no flip before every barrier is off
  held.release();
  heap.collect();
  REQUIRE(held_at_round);
  REQUIRE(cycle_still_open);
  REQUIRE(still_black);
  REQUIRE(keep->intact());
  REQUIRE(keep->left->intact());
  REQUIRE(keep->right->intact());
}

TEST_CASE("a cache held across the sweep flip keeps what it allocated and its span is swept",
          "[collector][ragged][termination]") {
  // The held thread answers every round until the one after the flip: its cache holds a span of the
  // marking's generation, pre-marked, from which it allocates after the flip. When it answers, the
  // span goes to what are now the unswept lists: the sweep keeps those objects (born black) and
  // clears the span's marks before the next cycle (central_mark_bits_clear(), a debug check at every
  // cycle's start, fails if the span came back as swept with its marks).
  Config c = tctest::test_config();
  c.initial_heap = 64u << 20;
  // No verifier: its stop parks the held thread, and a parked thread answers the round that follows
  // the stop before it returns from the park (the round this test holds at).
  c.verify = false;
  Heap heap(c);
  Mutator main_thread(heap, "main");
  heap.collect();
  Global<Node> chain(heap);
  auto push = [&chain](std::uint64_t v) {
    Node* n = make<Node>(v);
    n->left = chain.get();
    chain = n;
  };
  std::size_t pushed = 0;
  RoundHolder held(
      heap, internal::kActionAllocateWhite, [&] { push(pushed++); },
      [&] {
        for (int i = 0; i < 40; ++i) push(pushed++);
      });
  const std::uint64_t cycles_at_start = heap.impl().collector.cycles_completed();
  heap.impl().collector.request_cycle();
  while (!held.holding() && heap.impl().collector.cycles_completed() == cycles_at_start) safepoint();
  const bool held_at_round = held.holding();
  held.release();
  REQUIRE(held_at_round);
  for (int i = 0; i < 3; ++i) heap.collect();  // the verifier runs after each
  std::size_t n = 0;
  for (Node* x = chain.get(); x != nullptr; x = x->left.get(), ++n) {
    REQUIRE(x->intact());
    REQUIRE(x->value == pushed - 1 - n);
  }
  REQUIRE(n == pushed);
  REQUIRE(pushed >= 41);
}
