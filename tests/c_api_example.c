#include <tricolor/tricolor.h>
#include <stddef.h>
#include <stdio.h>

typedef struct Cell {
  void* next;  /* a pointer field: every store goes through tc_store */
  long value;
} Cell;

int main(void) {
  static const size_t cell_pointers[] = {offsetof(Cell, next)};
  tc_type cell = tc_type_register_offsets("Cell", sizeof(Cell), cell_pointers, 1, NULL);
  tc_heap* heap = tc_heap_create(NULL);  /* defaults, then the TRICOLOR_* environment */
  if (heap == NULL) {                    /* no address space for it (a ulimit -v?) */
    fprintf(stderr, "%s\n", tc_last_error());
    return 1;
  }
  tc_thread_attach(heap, "main");
  TC_FRAME(roots, 1);                    /* roots[0]: the list, a precise stack root */
  for (long i = 0; i < 1000000; ++i) {
    Cell* c = tc_new(cell);              /* garbage is reclaimed as we go */
    c->value = i;
    if (i % 1000 == 0) {
      tc_store(&c->next, tc_root_get(&roots[0]));
      tc_root_set(&roots[0], c);
    }
  }
  tc_collect(heap);
  long kept = 0;
  for (Cell* c = tc_root_get(&roots[0]); c != NULL; c = tc_load(&c->next)) ++kept;
  TC_FRAME_POP(roots);
  tc_thread_detach();
  tc_heap_destroy(heap);
  printf("kept %ld cells\n", kept);
  return kept == 1000 ? 0 : 1;
}
