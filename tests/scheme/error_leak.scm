; Errors unwind without leaking: after thousands of errors thrown from deep inside allocating code,
; the live heap is what it was before.
(define (show . xs) (for-each display xs) (newline))
(define (fail-deep n)
  (if (= n 0)
      (begin (make-vector 1000 0) (car 'oops))
      (cons (make-vector 100 n) (fail-deep (- n 1)))))
(define (spin i)
  (when (> i 0)
    (catch-error (lambda () (fail-deep 20)))
    (spin (- i 1))))
(spin 50)
(define before (collect-garbage))
(spin 500)
(define after (collect-garbage))
; 500 failures left ~48 KB each behind them: a leak would show as megabytes.
(show (if (< (- after before) 1000000) "bounded" (list "grew from" before "to" after)))
(show (catch-error (lambda () (fail-deep 3))))
