; Proper tail calls: loops run in constant space; deep non-tail recursion uses the value stack.
(define (show . xs) (for-each display xs) (newline))
(define (count-down n) (if (= n 0) 'done (count-down (- n 1))))
(show (count-down 1000000))
(define (my-even? n) (if (= n 0) #t (my-odd? (- n 1))))
(define (my-odd? n) (if (= n 0) #f (my-even? (- n 1))))
(show (my-even? 100001))
; Tail position inside cond, and, or, when, begin, let.
(define (t1 n) (cond ((= n 0) 'cond) (else (t1 (- n 1)))))
(define (t2 n) (and #t (if (= n 0) 'and (t2 (- n 1)))))
(define (t3 n) (or #f (if (= n 0) 'or (t3 (- n 1)))))
(define (t4 n) (let ((m (- n 1))) (begin (if (< m 0) 'let-begin (t4 m)))))
(define (t5 n) (if (= n 0) 'apply (apply t5 (list (- n 1)))))
(show (t1 300000) " " (t2 300000) " " (t3 300000) " " (t4 300000) " " (t5 300000))
; Not a tail call: the value stack holds the pending frames.
(define (sum-to n) (if (= n 0) 0 (+ n (sum-to (- n 1)))))
(show (sum-to 200000))
(define (build n) (if (= n 0) '() (cons n (build (- n 1)))))
(show (length (build 200000)))
