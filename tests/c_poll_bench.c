/* The inline safepoint poll (tc_safepoint_poll) against the out-of-line call (tc_safepoint) in a
 * loop that does nothing else, on an attached thread with no collection pending: the cost a bytecode
 * loop pays per backward branch. Prints ns per poll for each. Not a test (timings vary):
 *     ninja -C build tests/c_poll_bench && build/tests/c_poll_bench */
#include <tricolor/tricolor.h>

#include <stdio.h>
#include <time.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(void) {
  const long n = 200000000L;
  volatile long sink = 0;
  long i;
  int round;
  tc_config c;
  tc_heap* heap;
  tc_config_init(&c);
  c.reserve = (size_t)1 << 30;
  heap = tc_heap_create(&c);
  if (heap == NULL) return 1;
  tc_thread_attach(heap, "bench");
  for (round = 0; round < 3; ++round) {
    double tb = now_ns(), t0, t1, t2;
    for (i = 0; i < n; ++i) sink += i; /* the loop alone */
    t0 = now_ns();
    for (i = 0; i < n; ++i) {
      sink += i;
      tc_safepoint_poll();
    }
    t1 = now_ns();
    for (i = 0; i < n / 10; ++i) {
      sink += i;
      tc_safepoint();
    }
    t2 = now_ns();
    printf("loop alone: %.3f ns/iter   with inline tc_safepoint_poll: %.3f   with out-of-line tc_safepoint: "
           "%.3f\n",
           (t0 - tb) / (double)n, (t1 - t0) / (double)n, (t2 - t1) / (double)(n / 10));
  }
  tc_thread_detach();
  tc_heap_destroy(heap);
  return (int)(sink & 0);
}
