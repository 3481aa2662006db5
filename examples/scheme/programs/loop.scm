; The memory bound from issue 6: a tail-recursive loop that allocates a 100-slot vector per iteration
; must run in bounded memory. Usage: scheme --stats loop.scm [n] (default 10^7).
(define (arg n default)
  (let ((args (command-line)))
    (if (> (length args) n) (string->number (list-ref args n)) default)))
(define (loop n) (if (> n 0) (begin (make-vector 100 0) (loop (- n 1))) 'done))
(display (loop (arg 0 10000000)))
(newline)
