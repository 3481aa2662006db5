// The macro workloads of bench/ as a Go program, for the Go column of tools/bench: the same steps and
// parameters as bench/boehm/*.cpp and bench/tricolor/*.cpp (see bench/common/workloads.hpp). Go's
// collector is the one the tricolor design starts from; GOGC is set by tools/report.py for the same
// heap multiple. Pauses are not recorded here: tools/report.py reads them from GODEBUG=gctrace=1 on
// stderr (every cycle's two stop-the-world phases, with their start times), so this program reports
// when its workload began relative to process start.
//
// Like the C++ processes it runs a latency probe (a goroutine sleeping 1 ms) and a CPU probe (units of
// fixed arithmetic counted per 1 ms window, bench/common/harness.hpp), and with --idle it is Go's
// idle-collector baseline (tools/report.py sets GOGC=off): the Go probe is Go code, so its counts are
// compared with this baseline, not with the C++ one.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// As close to the runtime's own start (gctrace's time origin) as a Go program can observe.
var processStart = time.Now()

type options struct {
	workload     string
	depth        int
	threads      int
	rounds       int
	heapMultiple float64
	probe        bool
	cpuProbe     bool
	idle         bool
	idleBudgetMB float64
	jsonPath     string
}

// The CPU probe's record: the same fields as the C++ harness writes.
type cpuProbeRecord struct {
	StartNs      int64    `json:"start_ns"`
	WindowNs     int64    `json:"window_ns"`
	StepsPerUnit int      `json:"steps_per_unit"`
	PollEvery    int      `json:"poll_every"`
	ThreadCPUS   float64  `json:"thread_cpu_s"`
	Dropped      int      `json:"dropped"`
	Counts       []uint32 `json:"counts"`
}

type record struct {
	Collector    string             `json:"collector"`
	Workload     string             `json:"workload"`
	Params       map[string]any     `json:"params"`
	Status       string             `json:"status"`
	Message      string             `json:"message"`
	WallS        float64            `json:"wall_s"`
	DurationNs   int64              `json:"duration_ns"`
	StartOffsetS float64            `json:"start_offset_s"`
	CPUUserS     float64            `json:"cpu_user_s"`
	CPUSysS      float64            `json:"cpu_sys_s"`
	MaxRSSKB     int64              `json:"max_rss_kb"`
	Collections  uint32             `json:"collections"`
	LiveEstimate uint64             `json:"live_estimate_bytes"`
	HeapLimit    uint64             `json:"heap_limit_bytes"`
	HeapPeak     uint64             `json:"heap_peak_bytes"`
	Extra        map[string]float64 `json:"extra"`
	Marks        [][2]any           `json:"marks"`
	Pauses       [][3]any           `json:"pauses"`
	Probe        [][2]int64         `json:"probe"`
	CPUProbe     *cpuProbeRecord    `json:"cpu_probe,omitempty"`
	start        time.Time
	// Guards Marks and Extra: an idle run that reaches its RSS budget writes the record from the
	// watchdog while the workload may still be adding to it.
	mu sync.Mutex
}

func (r *record) mark(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Marks = append(r.Marks, [2]any{what, time.Since(r.start).Nanoseconds()})
}

func (r *record) note(key string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Extra[key] = v
}

// checkFailed carries a failed result check up to main.
type checkFailed string

func fail(msg string) { panic(checkFailed(msg)) }

func binaryTreeNodes(depth int) uint64 { return (uint64(2) << depth) - 1 }
func quadTreeNodes(depth int) uint64   { return ((uint64(1) << (2 * (depth + 1))) - 1) / 3 }

// ---- GCBench

const (
	kStretchTreeDepth   = 18
	kLongLivedTreeDepth = 16
	kArraySize          = 500000
	kMinTreeDepth       = 4
	kMaxTreeDepth       = 16
)

type node struct {
	left, right *node
	i, j        int32
}

func populate(depth int, n *node) {
	if depth <= 0 {
		return
	}
	depth--
	n.left = &node{}
	n.right = &node{}
	populate(depth, n.left)
	populate(depth, n.right)
}

func makeTree(depth int) *node {
	if depth <= 0 {
		return &node{}
	}
	l := makeTree(depth - 1)
	r := makeTree(depth - 1)
	return &node{left: l, right: r}
}

func count(n *node) uint64 {
	if n == nil {
		return 0
	}
	return 1 + count(n.left) + count(n.right)
}

func oneGCBench() {
	if count(makeTree(kStretchTreeDepth)) != binaryTreeNodes(kStretchTreeDepth) {
		fail("gcbench: stretch tree has the wrong size")
	}
	longLived := &node{}
	populate(kLongLivedTreeDepth, longLived)
	array := make([]float64, kArraySize)
	for i := 0; i < kArraySize/2; i++ {
		array[i] = 1.0 / float64(i)
	}
	for d := kMinTreeDepth; d <= kMaxTreeDepth; d += 2 {
		iters := 2 * binaryTreeNodes(kStretchTreeDepth) / binaryTreeNodes(d)
		for i := uint64(0); i < iters; i++ {
			t := &node{}
			populate(d, t)
		}
		for i := uint64(0); i < iters; i++ {
			makeTree(d)
		}
	}
	if array[1000] != 1.0/1000 || count(longLived) != binaryTreeNodes(kLongLivedTreeDepth) {
		fail("gcbench: long-lived data was damaged")
	}
}

func gcbench(o options, r *record) {
	if o.threads == 1 {
		oneGCBench()
		return
	}
	parallel(o.threads, func(int) { oneGCBench() })
}

// ---- binary-trees

type treeNode struct{ left, right *treeNode }

func bottomUpTree(depth int) *treeNode {
	if depth <= 0 {
		return &treeNode{}
	}
	l := bottomUpTree(depth - 1)
	r := bottomUpTree(depth - 1)
	return &treeNode{l, r}
}

func itemCheck(n *treeNode) uint64 {
	if n.left == nil {
		return 1
	}
	return 1 + itemCheck(n.left) + itemCheck(n.right)
}

const kMinDepth = 4

func binaryTrees(o options, r *record) {
	maxD := o.depth
	if maxD < 0 {
		maxD = 19
	}
	if maxD < kMinDepth+2 {
		maxD = kMinDepth + 2
	}
	if itemCheck(bottomUpTree(maxD+1)) != binaryTreeNodes(maxD+1) {
		fail("binary-trees: wrong check for the stretch tree")
	}
	longLived := bottomUpTree(maxD)
	r.mark("long-lived tree built")
	ndepths := (maxD-kMinDepth)/2 + 1
	checks := make([]uint64, ndepths*o.threads)
	parallel(o.threads, func(t int) {
		for k := 0; k < ndepths; k++ {
			d := kMinDepth + 2*k
			n := uint64(1) << (maxD - d + kMinDepth)
			lo, hi := n*uint64(t)/uint64(o.threads), n*uint64(t+1)/uint64(o.threads)
			var check uint64
			for i := lo; i < hi; i++ {
				check += itemCheck(bottomUpTree(d))
			}
			checks[k*o.threads+t] = check
		}
	})
	for k := 0; k < ndepths; k++ {
		d := kMinDepth + 2*k
		var sum uint64
		for t := 0; t < o.threads; t++ {
			sum += checks[k*o.threads+t]
		}
		if sum != (uint64(1)<<(maxD-d+kMinDepth))*binaryTreeNodes(d) {
			fail("binary-trees: wrong check for a depth's trees")
		}
	}
	if itemCheck(longLived) != binaryTreeNodes(maxD) {
		fail("binary-trees: wrong check for the long-lived tree")
	}
}

// ---- quad-tree churn

type qnode struct {
	kid   [4]*qnode
	check uint64
}

const kChurnDepth = 3

func liveCheck(d int) uint64  { return 0x4c49564500000000 | uint64(d) }
func churnCheck(d int) uint64 { return 0x4348524e00000000 | uint64(d) }

func build(depth int, tag func(int) uint64) *qnode {
	var kids [4]*qnode
	if depth > 0 {
		for i := range kids {
			kids[i] = build(depth-1, tag)
		}
	}
	return &qnode{kid: kids, check: tag(depth)}
}

func walk(n *qnode, depth int, tag func(int) uint64) uint64 {
	if n.check != tag(depth) {
		fail("quad-tree: a node's check value was overwritten")
	}
	if depth == 0 {
		for _, k := range n.kid {
			if k != nil {
				fail("quad-tree: a leaf has children")
			}
		}
		return 1
	}
	c := uint64(1)
	for _, k := range n.kid {
		if k == nil {
			fail("quad-tree: an inner node lost a child")
		}
		c += walk(k, depth-1, tag)
	}
	return c
}

func quadTree(o options, r *record) {
	depth := o.depth
	if depth < 0 {
		depth = 10
	}
	tree := build(depth, liveCheck)
	r.mark("long-lived tree built")
	m := o.heapMultiple
	if m <= 0 {
		m = 2.5
	}
	perRound := uint64(m*float64(quadTreeNodes(depth))/7.5/float64(quadTreeNodes(kChurnDepth))) + 1
	r.note("churn_trees_per_round", float64(perRound))
	parallel(o.threads, func(t int) {
		mine := perRound*uint64(t+1)/uint64(o.threads) - perRound*uint64(t)/uint64(o.threads)
		for round := 0; round < o.rounds; round++ {
			var nodes uint64
			for i := uint64(0); i < mine; i++ {
				nodes += walk(build(kChurnDepth, churnCheck), kChurnDepth, churnCheck)
			}
			if nodes != mine*quadTreeNodes(kChurnDepth) {
				fail("quad-tree: churn count")
			}
			for k := t; k < 4; k += o.threads {
				if walk(tree.kid[k], depth-1, liveCheck) != quadTreeNodes(depth-1) {
					fail("quad-tree: the long-lived tree lost nodes")
				}
			}
		}
	})
	if walk(tree, depth, liveCheck) != quadTreeNodes(depth) {
		fail("quad-tree: the long-lived tree lost nodes")
	}
}

// ---- plumbing

// Runs body(0..n-1) in n goroutines; a failed check in any of them is re-raised here.
func parallel(n int, body func(int)) {
	var wg sync.WaitGroup
	var failure atomic.Value
	for t := 0; t < n; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			defer func() {
				if e := recover(); e != nil {
					failure.CompareAndSwap(nil, e)
				}
			}()
			body(t)
		}(t)
	}
	wg.Wait()
	if e := failure.Load(); e != nil {
		panic(e)
	}
}

// ---- the CPU probe (bench/common/harness.hpp, CpuProbe)

const (
	cpuProbeWindowNs  = 1000000
	cpuProbeSteps     = 32
	cpuProbePollEvery = 64
	cpuProbeMaxWindow = 1 << 22
)

// One unit of fixed work: a dependent chain of xorshift64 steps.
//
//go:noinline
func cpuProbeUnit(x uint64) uint64 {
	for i := 0; i < cpuProbeSteps; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

var cpuProbeSink uint64

// Counts units per 1 ms window of the monotonic clock until stop is set. The goroutine keeps its OS
// thread so that the thread's CPU time is the probe's. Go preempts it for stops like any goroutine.
// It yields every cpuProbePollEvery units: Go runs goroutines on GOMAXPROCS Ps, and a goroutine that
// never reaches a scheduling point holds its P until the 10 ms forced preemption, so the latency
// probe's timer would wait for it; the C++ probes share cores through the OS scheduler, which lets a
// woken sleeper in at once. The yields cost the same in the go-idle baseline, against which the counts
// are compared.
func runCPUProbe(stop *atomic.Bool, rec *cpuProbeRecord, base time.Time) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	rec.StartNs = start.Sub(base).Nanoseconds()
	windowEnd := int64(cpuProbeWindowNs)
	x := uint64(0x9e3779b97f4a7c15)
	var inWindow uint32
	push := func(c uint32) {
		if len(rec.Counts) < cpuProbeMaxWindow {
			rec.Counts = append(rec.Counts, c)
		} else {
			rec.Dropped++
		}
	}
	untilPoll := cpuProbePollEvery
	for !stop.Load() {
		x = cpuProbeUnit(x)
		if untilPoll--; untilPoll == 0 {
			untilPoll = cpuProbePollEvery
			runtime.Gosched()
		}
		t := time.Since(start).Nanoseconds()
		inWindow++
		if t >= windowEnd {
			push(inWindow)
			inWindow = 0
			windowEnd += cpuProbeWindowNs
			for t >= windowEnd {
				push(0)
				windowEnd += cpuProbeWindowNs
			}
		}
	}
	cpuProbeSink = x
	var ru syscall.Rusage
	if syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru) == nil {
		rec.ThreadCPUS = float64(ru.Utime.Nano()+ru.Stime.Nano()) * 1e-9
	}
}

// Resident set size from /proc/self/statm, in bytes (0 if unreadable).
func currentRSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

func usage() (user, sys float64, maxRSSKB int64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()) * 1e-9, float64(ru.Stime.Nano()) * 1e-9, ru.Maxrss
}

func main() {
	var o options
	flag.StringVar(&o.workload, "workload", "", "gcbench | gcbench-mt | binary-trees | quad-tree")
	flag.IntVar(&o.depth, "depth", -1, "binary-trees / quad-tree depth")
	flag.IntVar(&o.threads, "threads", 2, "mutator goroutines")
	flag.IntVar(&o.rounds, "rounds", 20, "quad-tree churn rounds")
	flag.Float64Var(&o.heapMultiple, "heap-multiple", 2.5, "heap multiple (informational: GOGC is set by the caller)")
	noProbe := flag.Bool("no-probe", false, "no latency probe")
	noCPUProbe := flag.Bool("no-cpu-probe", false, "no CPU probe")
	flag.BoolVar(&o.idle, "idle", false, "idle-collector baseline (collection off; run with GOGC=off)")
	flag.Float64Var(&o.idleBudgetMB, "idle-budget-mb", 0, "idle: RSS at which the run ends (0: none)")
	flag.StringVar(&o.jsonPath, "json", "", "record path (default stdout)")
	flag.Parse()
	o.probe = !*noProbe
	o.cpuProbe = !*noCPUProbe
	if o.idle {
		debug.SetGCPercent(-1)
	}
	if o.workload == "gcbench" {
		o.threads = 1
	}
	run := map[string]func(options, *record){
		"gcbench": gcbench, "gcbench-mt": gcbench, "binary-trees": binaryTrees, "quad-tree": quadTree,
	}[o.workload]
	if run == nil || o.threads < 1 {
		fmt.Fprintln(os.Stderr, "go-bench: unknown workload or bad --threads")
		os.Exit(2)
	}

	collector := "go"
	if o.idle {
		collector = "go-idle"
	}
	r := &record{Collector: collector, Workload: o.workload, Status: "ok", Extra: map[string]float64{},
		Marks: [][2]any{}, Pauses: [][3]any{}, Probe: make([][2]int64, 0, 1<<20),
		Params: map[string]any{"depth": o.depth, "threads": o.threads, "rounds": o.rounds,
			"heap_multiple": o.heapMultiple, "probe": o.probe, "cpu_probe": o.cpuProbe, "idle": o.idle,
			"gogc": os.Getenv("GOGC")}}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	u0, s0, _ := usage()
	r.start = time.Now()
	r.StartOffsetS = r.start.Sub(processStart).Seconds()

	// A goroutine that sleeps 1 ms in a loop: what a goroutine feels of marking, assists and STW.
	var stop atomic.Bool
	var probeDone sync.WaitGroup
	if o.probe {
		probeDone.Add(1)
		go func() {
			defer probeDone.Done()
			for !stop.Load() {
				t0 := time.Now()
				time.Sleep(time.Millisecond)
				t1 := time.Now()
				late := t1.Sub(t0) - time.Millisecond
				if late < 0 {
					late = 0
				}
				if len(r.Probe) < cap(r.Probe) {
					r.Probe = append(r.Probe, [2]int64{t1.Sub(r.start).Nanoseconds(), late.Nanoseconds()})
				}
			}
		}()
	}
	if o.cpuProbe {
		r.CPUProbe = &cpuProbeRecord{WindowNs: cpuProbeWindowNs, StepsPerUnit: cpuProbeSteps, PollEvery: cpuProbePollEvery,
			Counts: make([]uint32, 0, cpuProbeMaxWindow)}
		probeDone.Add(1)
		go func() {
			defer probeDone.Done()
			runCPUProbe(&stop, r.CPUProbe, r.start)
		}()
	}

	// Everything after the workload, once: by main, or by the idle run's watchdog when RSS passes the
	// budget (it then ends the process with the workload still running).
	var finishMu sync.Mutex
	finished := false
	finish := func(end time.Time, truncated bool) {
		stop.Store(true)
		probeDone.Wait()
		u1, s1, rss := usage()
		r.WallS = end.Sub(r.start).Seconds()
		r.DurationNs = end.Sub(r.start).Nanoseconds()
		r.CPUUserS, r.CPUSysS, r.MaxRSSKB = u1-u0, s1-s0, rss
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		r.Collections = after.NumGC - before.NumGC
		r.HeapPeak = after.HeapSys
		r.mu.Lock()
		defer r.mu.Unlock()
		r.Extra["go_gc_cpu_fraction"] = after.GCCPUFraction
		r.Extra["go_gomaxprocs"] = float64(runtime.GOMAXPROCS(0))
		if o.idle {
			r.Extra["idle_budget_bytes"] = o.idleBudgetMB * 1048576
			r.Extra["idle_truncated"] = 0
			if truncated {
				r.Extra["idle_truncated"] = 1
				r.Message = "ended at the idle run's RSS budget"
			}
		}
		out := os.Stdout
		if o.jsonPath != "" {
			f, err := os.Create(o.jsonPath)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			defer f.Close()
			out = f
		}
		enc := json.NewEncoder(out)
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if o.idle && o.idleBudgetMB > 0 {
		budget := uint64(o.idleBudgetMB * 1048576)
		go func() {
			for {
				if currentRSS() > budget {
					finishMu.Lock()
					if finished {
						finishMu.Unlock()
						return
					}
					finished = true
					finish(time.Now(), true)
					os.Exit(0)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	func() {
		defer func() {
			if e := recover(); e != nil {
				if msg, ok := e.(checkFailed); ok {
					r.mu.Lock()
					r.Status, r.Message = "check-failed", string(msg)
					r.mu.Unlock()
					return
				}
				panic(e)
			}
		}()
		run(o, r)
	}()
	end := time.Now()
	finishMu.Lock()
	if finished {
		// The watchdog is writing the record and will end the process.
		select {}
	}
	finished = true
	finishMu.Unlock()
	finish(end, false)
	if r.Status != "ok" {
		os.Exit(1)
	}
}
