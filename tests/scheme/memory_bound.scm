;; test-options: --max-peak=32m
; Issue 6's memory bound, at 10^5 iterations (examples/scheme/programs/loop.scm runs 10^7): a tail
; call per iteration, each allocating a 100-slot vector (about 1.6 KB). Without proper tail calls
; the frames would hold on to ~160 MB; the driver checks that the heap's peak stays under 32 MB
; (a healthy run peaks near 5 MB: the first trigger is at 4 MB and nothing stays live).
(define (loop n) (if (> n 0) (begin (make-vector 100 0) (loop (- n 1))) 'done))
(display (loop 100000))
(newline)
