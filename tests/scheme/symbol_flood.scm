;; test-backends: tricolor
;; test-options: --max-peak=24m
; Issue 14: interning 10^6 distinct symbols that nothing keeps must leave the heap bounded, not only
; the symbol count. The symbol table is an open-addressing weak table: its pruner (a weak callback)
; turns dead entries into tombstones each cycle, and a rehash keeps only live keys, so the slot array
; shrinks back. The live heap after the flood stays within 4 MB of what it was before (a table that
; kept dead entries would hold a 2^21-slot array, about 19 MB), the table's capacity stays far below
; the 2^21 slots such a table needs, and the driver checks that the heap's peak stayed under 24 MB.
; The capacity bound is 2^20: how large the array gets depends on how many symbols are interned
; between two cycles' prunes, which the pacer and the machine's scheduling decide (under a loaded CI
; run one rehash saw ~100k unpruned symbols and chose 2^18 slots); only a table that never pruned
; would need 2^21.
(define (show . xs) (for-each display xs) (newline))
(define (flood i n)
  (if (< i n)
      (begin (string->symbol (string-append "flood-" (number->string i))) (flood (+ i 1) n))
      'done))
(define base-count (symbol-table-size))
(define base-live (collect-garbage))
(show (flood 0 1000000))
(define after-live (collect-garbage))
; One more interning: the table rehashes into an array sized for the live symbols only.
(show "interned again: " (eq? (string->symbol "flood-7") (string->symbol "flood-7")))
(collect-garbage)
(show "symbols bounded: " (< (- (symbol-table-size) base-count) 100))
(show "live heap bounded: " (< (- after-live base-live) 4000000))
(show "capacity bounded: " (< (symbol-table-capacity) 1048576))
