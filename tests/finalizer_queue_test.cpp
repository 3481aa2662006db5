// The finalizer queue (gc/finalizer_queue.*), alone: the mark state is a set of addresses the test
// holds, the objects are addresses of a local array, and a finalizer call is a plain call. A white
// registered object moves to the ready queue and is shaded, a marked one stays registered, a null
// finalizer unregisters, ready finalizers run oldest first, at most max per call, outside the queue's
// lock, and set_finalizer refuses what the heap does not contain, with Heap::set_finalizer's message.
#include "gc/finalizer_queue.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <stdexcept>
#include <vector>

#include "death.hpp"

using namespace tricolor::internal;

namespace {

// Objects: the addresses of obj[0..kObjects). The queue's heap contains exactly those.
constexpr int kObjects = 4;
char obj[kObjects];

bool is_object(const void* p) {
  for (const char& o : obj)
    if (p == &o) return true;
  return false;
}

// The collector's side: what is marked, and what was shaded (in order).
struct MarkState {
  std::set<const void*> marked;
  std::vector<const void*> shaded;

  bool queue(FinalizerQueue& q) {
    return q.queue_finalizers([&](const void* p) { return marked.count(p) != 0; },
                              [&](const void* p) { shaded.push_back(p); marked.insert(p); });
  }
  bool has_unmarked(FinalizerQueue& q) {
    return q.has_unmarked([&](const void* p) { return marked.count(p) != 0; });
  }
};

std::vector<const void*> ready(FinalizerQueue& q) {
  std::vector<const void*> v;
  q.for_each_ready_finalizer([&](const void* p) { v.push_back(p); });
  return v;
}

// A finalizer that records the object it ran on, in the vector its context points to.
void record(void* o, void* ctx) { static_cast<std::vector<const void*>*>(ctx)->push_back(o); }
void call(const void* o, const FinalizerQueue::Finalizer& f) { f.fn(const_cast<void*>(o), f.context); }

}  // namespace

TEST_CASE("finalizer queue: a white registered object becomes ready and is shaded; a marked one stays registered",
          "[finalizer_queue]") {
  FinalizerQueue q(&is_object);
  MarkState m;
  std::vector<const void*> ran;
  q.set_finalizer(&obj[0], &record, &ran);
  q.set_finalizer(&obj[1], &record, &ran);
  m.marked.insert(&obj[1]);
  CHECK(m.has_unmarked(q));

  REQUIRE(m.queue(q));
  CHECK(m.shaded == std::vector<const void*>{&obj[0]});
  CHECK(ready(q) == std::vector<const void*>{&obj[0]});
  CHECK(q.pending_finalizers() == 1);
  // obj[0] left the registered map (it moves once); obj[1] is still registered, and marked.
  CHECK_FALSE(m.has_unmarked(q));
  CHECK_FALSE(m.queue(q));
  CHECK(m.shaded.size() == 1);

  // The next cycle: obj[1] is white now, obj[0] is still only in the ready queue.
  m.marked.clear();
  CHECK(m.has_unmarked(q));
  REQUIRE(m.queue(q));
  CHECK(m.shaded == std::vector<const void*>{&obj[0], &obj[1]});
  CHECK(ready(q) == std::vector<const void*>{&obj[0], &obj[1]});
  CHECK(q.pending_finalizers() == 2);
  CHECK(ran.empty());  // queueing runs nothing
}

TEST_CASE("finalizer queue: a null finalizer unregisters; a second one replaces the first", "[finalizer_queue]") {
  FinalizerQueue q(&is_object);
  MarkState m;
  std::vector<const void*> first, second;
  q.set_finalizer(&obj[0], &record, &first);
  q.set_finalizer(&obj[0], nullptr, nullptr);
  CHECK_FALSE(m.has_unmarked(q));
  CHECK_FALSE(m.queue(q));
  CHECK(m.shaded.empty());
  CHECK(q.pending_finalizers() == 0);
  q.set_finalizer(&obj[1], nullptr, nullptr);  // never registered: nothing to remove, no error

  q.set_finalizer(&obj[2], &record, &first);
  q.set_finalizer(&obj[2], &record, &second);
  REQUIRE(m.queue(q));
  CHECK(q.run_finalizers(SIZE_MAX, &call) == 1);
  CHECK(first.empty());
  CHECK(second == std::vector<const void*>{&obj[2]});
}

TEST_CASE("finalizer queue: run_finalizers runs at most max, oldest first, and returns how many ran",
          "[finalizer_queue]") {
  FinalizerQueue q(&is_object);
  MarkState m;
  std::vector<const void*> ran;
  // One object queued per cycle, so the queue's order is known: obj[2], obj[0], obj[3].
  for (int i : {2, 0, 3}) {
    q.set_finalizer(&obj[i], &record, &ran);
    REQUIRE(m.queue(q));
  }
  CHECK(ready(q) == std::vector<const void*>{&obj[2], &obj[0], &obj[3]});
  CHECK(q.run_finalizers(0, &call) == 0);
  CHECK(q.pending_finalizers() == 3);

  CHECK(q.run_finalizers(2, &call) == 2);
  CHECK(ran == std::vector<const void*>{&obj[2], &obj[0]});
  CHECK(q.pending_finalizers() == 1);
  CHECK(ready(q) == std::vector<const void*>{&obj[3]});

  CHECK(q.run_finalizers(5, &call) == 1);
  CHECK(ran == std::vector<const void*>{&obj[2], &obj[0], &obj[3]});
  CHECK(q.pending_finalizers() == 0);
  CHECK(q.run_finalizers(5, &call) == 0);  // each once
  CHECK(ran.size() == 3);
}

TEST_CASE("finalizer queue: a finalizer runs outside the lock; one that throws has left the queue",
          "[finalizer_queue]") {
  FinalizerQueue q(&is_object);
  MarkState m;
  // obj[0]'s finalizer registers one for obj[1] (under the queue's lock that would deadlock) and
  // throws; obj[2]'s, queued a cycle later, records.
  q.set_finalizer(&obj[0], [](void*, void* ctx) {
    static_cast<FinalizerQueue*>(ctx)->set_finalizer(&obj[1], [](void*, void*) {}, nullptr);
    throw std::runtime_error("finalizer failed");
  }, &q);
  REQUIRE(m.queue(q));
  std::vector<const void*> ran;
  q.set_finalizer(&obj[2], &record, &ran);
  REQUIRE(m.queue(q));
  REQUIRE(ready(q) == std::vector<const void*>{&obj[0], &obj[2]});

  CHECK_THROWS_WITH(q.run_finalizers(SIZE_MAX, &call), "finalizer failed");
  CHECK(ready(q) == std::vector<const void*>{&obj[2]});
  CHECK(m.has_unmarked(q));  // obj[1], registered from inside the finalizer
  CHECK(q.run_finalizers(SIZE_MAX, &call) == 1);
  CHECK(ran == std::vector<const void*>{&obj[2]});
  CHECK(q.pending_finalizers() == 0);
}

TEST_CASE("finalizer queue: set_finalizer refuses a pointer its heap does not contain", "[finalizer_queue]") {
  FinalizerQueue q(&is_object);
  int local = 0;
  // The address differs in the child that dies (each run is a fresh exec): the message's two halves.
  REQUIRE_DEATH("Heap::set_finalizer: 0x", { q.set_finalizer(&local, [](void*, void*) {}, nullptr); });
  REQUIRE_DEATH("is not an object of this heap", { q.set_finalizer(&local, nullptr, nullptr); });  // clearing too
}
