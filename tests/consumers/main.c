/* The C consumer of tricolor: built by tests/consumers/check_consumers.py with exactly what
 * `pkg-config --cflags --libs tricolor` says, against the shared library and against the static
 * one, and through the CMake package, then run. It allocates, collects, and checks what survived. */
#include <tricolor/tricolor.h>

#include <stddef.h>
#include <stdio.h>

typedef struct Cell {
  void* next; /* a pointer field: every store goes through tc_store */
  long value;
} Cell;

int main(void) {
  static const size_t cell_pointers[] = {offsetof(Cell, next)};
  tc_type cell = tc_type_register_offsets("Cell", sizeof(Cell), cell_pointers, 1, NULL);
  tc_heap* heap = tc_heap_create(NULL);
  tc_stats stats;
  long kept = 0;
  long sum = 0;
  long i;
  Cell* c;
  tc_thread_attach(heap, "main");
  {
    TC_FRAME(roots, 1);
    for (i = 0; i < 200000; ++i) {
      c = tc_new(cell);
      c->value = i;
      if (i % 100 == 0) {
        tc_store(&c->next, tc_root_get(&roots[0]));
        tc_root_set(&roots[0], c);
      }
    }
    tc_collect(heap);
    for (c = tc_root_get(&roots[0]); c != NULL; c = tc_load(&c->next)) {
      ++kept;
      sum += c->value;
    }
    TC_FRAME_POP(roots);
  }
  tc_heap_stats(heap, &stats);
  tc_thread_detach();
  tc_heap_destroy(heap);
  printf("tricolor %s (C): kept %ld cells, %llu collections, %llu objects freed\n", TRICOLOR_VERSION_STRING, kept,
         (unsigned long long)stats.cycles, (unsigned long long)stats.objects_freed);
  /* 2000 cells (every 100th) stay reachable, with the values 0, 100, ..., 199900. */
  return kept == 2000 && sum == 100L * (1999L * 2000L / 2) && stats.cycles > 0 && stats.objects_freed > 0 ? 0 : 1;
}
