;; test-backends: tricolor
; The symbol table holds symbols weakly: symbols nothing refers to are collected, and a symbol that
; is still referenced (by data, by code, by a global binding) stays the one symbol for its name.
(define (show . xs) (for-each display xs) (newline))
(collect-garbage)
(define base (symbol-table-size))
(define (make-symbols n)
  (let loop ((i 0) (acc '()))
    (if (= i n)
        acc
        (loop (+ i 1) (cons (string->symbol (string-append "tmp-" (number->string i))) acc)))))
(define syms (make-symbols 10000))
(collect-garbage)
(show "held: " (>= (- (symbol-table-size) base) 10000) " " (eq? (car syms) (string->symbol "tmp-9999")))
(set! syms '())
(define kept (list (string->symbol "tmp-kept")))
(define tmp-global 'value)
(collect-garbage)
(show "dropped: " (< (- (symbol-table-size) base) 100))
(show "data: " (eq? (car kept) (string->symbol "tmp-kept")))
(show "code: " (eq? 'quoted-in-code (string->symbol "quoted-in-code")))
(show "global: " tmp-global)
; Interning after the table dropped entries reuses and prunes its chains.
(show "again: " (length (make-symbols 3000)) " " (eq? (string->symbol "tmp-5") (string->symbol "tmp-5")))
