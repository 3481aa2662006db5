; Symbols made at run time stay one per name across collections, and global bindings survive even
; when no code refers to their names any more (the Global cell holds the symbol).
(define (show . xs) (for-each display xs) (newline))
(define s1 (string->symbol "made-at-run-time"))
(collect-garbage)
(show (eq? s1 (string->symbol "made-at-run-time")) " " (eq? s1 'made-at-run-time))
(define defined-later 42)
(let loop ((i 0)) (when (< i 10000) (string->symbol (number->string i)) (loop (+ i 1))))
(collect-garbage)
(show defined-later " " (eq? (string->symbol "5000") (string->symbol "5000")))
