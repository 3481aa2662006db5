; binary-trees (the Computer Language Benchmarks Game), as a client-level GC benchmark: many short-lived
; trees of every depth next to one long-lived tree. Usage: scheme binary-trees.scm [max-depth]
(define (arg n default)
  (let ((args (command-line)))
    (if (> (length args) n) (string->number (list-ref args n)) default)))

(define (make-tree depth)
  (if (= depth 0)
      (cons '() '())
      (cons (make-tree (- depth 1)) (make-tree (- depth 1)))))

(define (check tree)
  (if (null? (car tree))
      1
      (+ 1 (check (car tree)) (check (cdr tree)))))

(define (pow2 k) (if (= k 0) 1 (* 2 (pow2 (- k 1)))))

(define (show . xs) (for-each display xs) (newline))

(define min-depth 4)
(define max-depth (max (+ min-depth 2) (arg 0 16)))

(let ((stretch (+ max-depth 1)))
  (show "stretch tree of depth " stretch "\t check: " (check (make-tree stretch))))

(define long-lived (make-tree max-depth))

(let loop ((depth min-depth))
  (when (<= depth max-depth)
    (let ((iterations (pow2 (+ (- max-depth depth) min-depth))))
      (let sum ((i 0) (acc 0))
        (if (< i iterations)
            (sum (+ i 1) (+ acc (check (make-tree depth))))
            (show iterations "\t trees of depth " depth "\t check: " acc))))
    (loop (+ depth 2))))

(show "long lived tree of depth " max-depth "\t check: " (check long-lived))
