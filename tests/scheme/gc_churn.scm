; Allocation churn with live data threaded through it: the results check that nothing live was freed
; and nothing was corrupted, whatever the collector did in between.
(define (show . xs) (for-each display xs) (newline))
(define (iota n) (let loop ((i n) (acc '())) (if (= i 0) acc (loop (- i 1) (cons (- i 1) acc)))))
(define (sum l) (fold-left + 0 l))
; A long-lived table mutated while garbage is produced: old objects point to new ones (barriers).
(define table (make-vector 256 '()))
(define (churn round)
  (let loop ((i 0))
    (when (< i 256)
      (vector-set! table i (cons (list round i) (vector-ref table i)))
      (iota 20)
      (loop (+ i 1)))))
(let loop ((r 0)) (when (< r 40) (churn r) (loop (+ r 1))))
(show (length (vector-ref table 17)) " " (car (vector-ref table 200)) " " (list-ref (vector-ref table 5) 39))
(show (let loop ((i 0) (acc 0)) (if (= i 256) acc (loop (+ i 1) (+ acc (sum (map cadr (vector-ref table i))))))))
; Long lists built and dropped.
(define (rounds n acc)
  (if (= n 0) acc (rounds (- n 1) (+ acc (sum (iota 10000))))))
(show (rounds 30 0))
; Deep structure that survives many cycles.
(define (tree d) (if (= d 0) 'leaf (cons (tree (- d 1)) (tree (- d 1)))))
(define (leaves t) (if (pair? t) (+ (leaves (car t)) (leaves (cdr t))) 1))
(define keep (tree 14))
(let loop ((i 0)) (when (< i 20) (tree 10) (loop (+ i 1))))
(collect-garbage)
(show (leaves keep))
; Strings and symbols made at run time.
(define names (map (lambda (i) (string-append "n" (number->string i))) (iota 3000)))
(iota 50000)
(show (length names) " " (list-ref names 2999) " " (string->symbol (list-ref names 42)))
