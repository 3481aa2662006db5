;; test-options: --max-heap=16m
;; test-backends: tricolor
; Running out of heap is a Scheme error like any other: the program catches it, the partial
; structure becomes garbage, and allocation works again afterwards.
(define (grow l) (grow (cons (make-vector 1000 0) l)))
(display (catch-error (lambda () (grow '()))))
(newline)
(define (iota n) (let loop ((i n) (acc '())) (if (= i 0) acc (loop (- i 1) (cons i acc)))))
(display (length (iota 100000)))
(newline)
(grow '())
(display "after an uncaught one")
(newline)
