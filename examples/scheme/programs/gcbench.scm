; GCBench (Hans Boehm's and John Ellis's collector benchmark, after the Java version) in Scheme.
; A node is a vector #(left right i j). Trees are built top-down (allocate, then store the children:
; write barriers on old objects) and bottom-up (children first), next to a long-lived tree and a
; long-lived array of 500000 slots. Usage: scheme gcbench.scm [max-tree-depth] (default 16; the
; stretch tree is two levels deeper and the long-lived tree is max-tree-depth deep).
(define (arg n default)
  (let ((args (command-line)))
    (if (> (length args) n) (string->number (list-ref args n)) default)))

(define max-tree-depth (arg 0 16))
(define min-tree-depth 4)
(define long-lived-depth max-tree-depth)
(define stretch-depth (+ max-tree-depth 2))
(define array-size (if (< max-tree-depth 16) 50000 500000))

(define (show . xs) (for-each display xs) (newline))

(define (make-node left right) (vector left right 0 0))
(define (left n) (vector-ref n 0))
(define (right n) (vector-ref n 1))

(define (tree-size depth) (- (expt2 (+ depth 1)) 1))
(define (expt2 k) (if (= k 0) 1 (* 2 (expt2 (- k 1)))))
(define (iterations depth) (quotient (* 2 (tree-size stretch-depth)) (tree-size depth)))

; Top-down: the node exists before its children, which are stored into it.
(define (populate! depth node)
  (when (> depth 0)
    (vector-set! node 0 (make-node #f #f))
    (vector-set! node 1 (make-node #f #f))
    (populate! (- depth 1) (left node))
    (populate! (- depth 1) (right node))))

; Bottom-up: children first.
(define (make-tree depth)
  (if (<= depth 0)
      (make-node #f #f)
      (make-node (make-tree (- depth 1)) (make-tree (- depth 1)))))

(define (count node) (if node (+ 1 (count (left node)) (count (right node))) 0))

(define (time-construction depth)
  (let ((n (iterations depth)))
    (let loop ((i 0) (checked 0))
      (if (< i n)
          (let ((top (make-node #f #f)))
            (populate! depth top)
            (loop (+ i 1) (+ checked (count top))))
          (show "top-down, depth " depth ": " n " trees, " checked " nodes")))
    (let loop ((i 0) (checked 0))
      (if (< i n)
          (loop (+ i 1) (+ checked (count (make-tree depth))))
          (show "bottom-up, depth " depth ": " n " trees, " checked " nodes")))))

(show "stretch tree of depth " stretch-depth ": " (count (make-tree stretch-depth)) " nodes")

(define long-lived (make-node #f #f))
(populate! long-lived-depth long-lived)

(define array (make-vector array-size 0))
(let fill ((i 0))
  (when (< i (quotient array-size 2))
    (vector-set! array i (- array-size i))
    (fill (+ i 1))))

(let loop ((depth min-tree-depth))
  (when (<= depth max-tree-depth)
    (time-construction depth)
    (loop (+ depth 2))))

(if (or (not long-lived) (not (= (vector-ref array 1000) (- array-size 1000))))
    (error "gcbench: long-lived data was lost")
    (show "long-lived tree: " (count long-lived) " nodes; array ok"))
