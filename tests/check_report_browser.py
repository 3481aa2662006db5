#!/usr/bin/env python3
"""The benchmark report in a real browser (meson test report-browser, issue 15).

Builds a small saved run from synthetic raw records, passed through the same code a real run goes
through (tools/bench_stats.py's analyse/relate/analyse_scaling/analyse_rss, tools/report.py's slim),
so the fixture has the shape of today's reports and cannot rot; it has every section the report
draws (a workload with all five collectors, mark-scaling, rss-return in every mode, micro
benchmarks). Renders it with `tools/report.py --render`, opens the page in headless Chromium over
the DevTools protocol (--remote-debugging-pipe, python3 standard library only), and checks:

- the page loads (navigation without error, load event, document complete, the report's title);
- no script error: no uncaught exception, no console.error/assert, no error entry in the browser's
  log (a resource that fails to load is one);
- every chart is drawn: every <svg> has a layout box and at least one data mark with a non-empty
  box inside it, and every slot of a chart row (div.charts) is such an <svg>. The renderer draws a
  chart as inline SVG whose data are circles, polylines and bars (rects with a <title> tooltip);
  the frame, grid, reference lines and legend swatches are not data. A chart without data is drawn
  as a <p> in its slot ("nothing recorded"), which this test reports as an empty chart.

Before trusting a clean result it opens a control page (the same report with a deliberate uncaught
exception, syntax error, console.error, missing resource, empty chart and empty chart slot added) and
requires each of those to be reported, so a checker that stopped seeing errors (a protocol change)
fails instead of passing.

Exit 77 (meson: skipped) when no Chromium is found: tools/setup installs Debian's `chromium`;
TRICOLOR_CHROMIUM=/path/to/chrome selects another.

Usage: check_report_browser.py [SOURCE_ROOT]
"""

import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else \
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)

DEADLINE_S = 90  # the whole browser session; Chromium starts in 1-3 s on an idle 2-core machine
SKIP = 77

MS = 1_000_000


# ---------------------------------------------------------------------------------------------
# The fixture: raw records as the benchmark processes write them, analysed as a real run is.


def workload_record(c, dur_ms=300):
    """One process's raw record of a workload: pauses, latency-probe samples, CPU-probe counts."""
    dur = dur_ms * MS
    idle = c in ("idle", "go-idle")
    slow = {"idle": 0, "tricolor": 1, "boehm": 3, "go-idle": 0, "go": 2}[c]
    pauses = []
    if not idle:
        for k in range(6):
            t = (20 + 45 * k) * MS
            if c == "tricolor":
                pauses += [[t, 150_000 + 10_000 * k, "mark_start"], [t + 2 * MS, 40_000, "handshake"],
                           [t + 4 * MS, 300_000 + 20_000 * k, "assist"], [t + 9 * MS, 250_000, "mark_termination"]]
            elif c == "boehm":
                pauses.append([t, (2 + k) * MS, "stw"])
            else:
                pauses += [[t, 60_000, "sweep_termination"], [t + 3 * MS, 90_000, "mark_termination"]]
    # Latency probe: [woke_ns, late_ns, after_wake_ns], one per ms, later while a pause is near.
    probe = []
    for i in range(dur_ms):
        late = 50_000 + (i % 7) * 10_000 + (slow * 400_000 if i % 45 == 21 else 0)
        probe.append([i * MS, late, late // 10])
    counts = [1000 - (slow * 150 if i % 45 in (20, 21, 22) else 0) - (i % 5) for i in range(dur_ms)]
    rec = {"collector": c, "workload": "synthetic", "status": "ok", "message": "", "duration_ns": dur,
           "wall_s": dur / 1e9 * (1 + slow / 10), "cpu_user_s": 0.5 + slow / 10, "cpu_sys_s": 0.05,
           "collections": 0 if idle else 6, "max_rss_kb": 40_000 + slow * 4000,
           "heap_limit_bytes": 0 if idle else 64 << 20, "loadavg": [0.4, 0.6],
           "pauses": pauses, "probe": probe, "marks": [],
           "cpu_probe": {"counts": counts, "window_ns": MS, "start_ns": 0, "thread_cpu_s": dur / 1e9,
                         "dropped": 0},
           "extra": {"idle_truncated": 0, "idle_budget_bytes": 1 << 30} if idle else {}}
    return rec


def scaling_record(c, markers, process=0):
    mark = (120.0 if c == "tricolor" else 150.0) / (markers ** 0.8) * (1.0 + 0.1 * process)
    rows = [[mark * f, mark * markers * f, mark * f, mark * 1.1 * f, 0.3 if c == "tricolor" else mark,
             mark * 1.3 * f, 1] for f in (0.98, 1.0, 1.03)]
    return {"collector": c, "workload": "mark-scaling", "status": "ok", "message": "", "params": {"markers": markers},
            "pauses": [], "probe": [], "marks": [],
            "extra": {"live_bytes": 64 << 20, "markers": markers},
            "series": {"collections": {"columns": ["mark_wall_ms", "mark_cpu_ms", "stats_mark_wall_ms", "collect_ms",
                                                   "global_pause_ms", "process_cpu_ms", "cycles"], "rows": rows}}}


def rss_record(c, mode):
    big, small = 200 << 20, 10 << 20
    base = 6 << 20
    fall_ms = {"idle": None, "collect": 50, "churn": 400}[mode]
    fall_ms = fall_ms if c == "tricolor" or fall_ms is None else fall_ms * 3
    rows = [[t, big + small + base] for t in range(-500, 1, 100)]
    for t in range(10, 2001, 10):
        drop = fall_ms is not None and t >= fall_ms
        rows.append([t, (2 * small if drop else big + small) + base + (t % 30) * 1000])
    ex = {"big_live_bytes": big, "small_live_bytes": small, "threshold_bytes": 2 * small,
          "rss_baseline_bytes": base, "rss_at_drop_bytes": big + small + base, "rss_final_bytes": rows[-1][1],
          "time_to_threshold_ms": -1 if fall_ms is None else fall_ms, "waited_ms": 2000, "limit_s": 2.0,
          "collections_after_drop": 0 if fall_ms is None else 1, "churn_bytes": (64 << 20) if mode == "churn" else 0,
          "tricolor_released_bytes_at_end": big, "tricolor_committed_bytes_at_end": big + small,
          "boehm_unmapped_bytes_at_end": big // 2, "boehm_heap_bytes_at_end": big + small}
    return {"collector": c, "workload": "rss-return", "status": "ok", "message": "", "pauses": [], "probe": [],
            "marks": [], "extra": ex, "series": {"rss": {"columns": ["t_ms_since_drop", "rss_bytes"], "rows": rows}}}


def fixture():
    """A saved report (what tools/report.py writes to bench-report.json) with every section."""
    from bench_stats import (IDLE, analyse, analyse_rss, analyse_scaling, merge_scaling, relate, scaling_speedups,
                             throughput)
    from report import slim

    runs = {c: analyse(workload_record(c)) for c in ("idle", "tricolor", "boehm", "go-idle", "go")}
    relate(runs)
    # Three repetitions, as tools/bench runs by default: the table's note lists their walls.
    workload = {"name": "synthetic", "args": ["--workload", "synthetic"], "runs": {c: slim(r) for c, r in runs.items()},
                "repeats": {c: [r["wall_s"] * 0.9, r["wall_s"], r["wall_s"] * 1.2] for c, r in runs.items()
                            if r.get("status") == "ok"},
                # The runs without probes (throughput), three each, for every collector but the baselines.
                "throughput": {c: throughput([dict(workload_record(c), wall_s=workload_record(c)["wall_s"] * f)
                                              for f in (0.8, 0.75, 0.85)])
                               for c in runs if c not in IDLE}}
    markers = [1, 2, 4]
    # Three processes per marker count, pooled as tools/report.py does (bench_stats.merge_scaling).
    scaling = {"name": "mark-scaling", "args": ["--workload", "mark-scaling"], "markers": markers, "live_mb": 64,
               "collections": 3, "processes": 3,
               "runs": {c: [merge_scaling([analyse_scaling(scaling_record(c, m, p)) for p in range(3)])
                            for m in markers]
                        for c in ("tricolor", "boehm")}}
    scaling_speedups(scaling)
    scaling["runs"] = {c: [slim(r) for r in recs] for c, recs in scaling["runs"].items()}
    modes = ["idle", "collect", "churn"]
    rss = {"name": "rss-return", "args": ["--workload", "rss-return"], "modes": modes, "live_mb": 200,
           "small_mb": 10, "limit_s": 2.0, "churn_mb_s": 32.0,
           "runs": {c: {m: slim(analyse_rss(rss_record(c, m))) for m in modes} for c in ("tricolor", "boehm")}}

    def bench(name, ns, **kw):
        return dict({"name": name, "real_time_ns": ns, "cpu_time_ns": ns, "iterations": 1000, "time_unit": "ns"}, **kw)

    micro = {c: {"collector": c, "status": "ok", "context": {},
                 "benchmarks": [bench("Alloc16", 20.0 * k, **{"allocs/op": 1, "bytes/op": 16}),
                                bench("MemberStore", 1.5 * k, **{"ns/store": 1.5 * k})]}
             for c, k in (("tricolor", 1), ("boehm", 2))}
    return {"meta": {"date": "2026-01-01T00:00:00", "mode": "quick", "cpus": 2, "cpu_model": "synthetic",
                     "commit": "fixture", "heap_multiple": 2.5, "threads": 2, "go": True, "repeat": 1,
                     "command": "tests/check_report_browser.py (synthetic fixture)", "suite_seconds": 1.0},
            "workloads": [workload], "micro": micro, "mark_scaling": scaling, "rss_return": rss}


# ---------------------------------------------------------------------------------------------
# Chromium over the DevTools protocol: JSON messages separated by NUL bytes, written to the
# browser's fd 3 and read from its fd 4 (--remote-debugging-pipe).


def find_chromium():
    env = os.environ.get("TRICOLOR_CHROMIUM")
    if env:
        return env  # asked for: used as given, and a wrong path fails rather than skips
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class ProtocolError(Exception):
    pass


class Browser:
    def __init__(self, exe, workdir, deadline):
        self.deadline = deadline
        self.next_id = 0
        self.events = []
        self.buf = b""
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        # Above any descriptor the child's dup2 onto 3 and 4 could overwrite.
        hi_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)
        hi_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_child_r)
        os.close(from_child_w)

        def child_fds():
            os.dup2(hi_r, 3)  # dup2 leaves the copies inheritable; everything else Python opened is CLOEXEC
            os.dup2(hi_w, 4)

        self.log_path = os.path.join(workdir, "chromium.log")
        self.logf = open(self.log_path, "w")
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
               f"--user-data-dir={os.path.join(workdir, 'profile')}", "--no-first-run", "--no-default-browser-check",
               "--disable-extensions", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-dev-shm-usage", "--mute-audio", "about:blank"]
        # meson test sets MALLOC_PERTURB_ for the tests it runs; the browser need not pay for it.
        env = {k: v for k, v in os.environ.items() if k != "MALLOC_PERTURB_"}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=env, close_fds=False, preexec_fn=child_fds, start_new_session=True)
        os.close(hi_r)
        os.close(hi_w)

    def log_tail(self, n=3000):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def _read_message(self):
        while b"\0" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError(f"no answer from Chromium within {DEADLINE_S} s")
            ready, _, _ = select.select([self.from_child], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.from_child, 1 << 16)
            if not chunk:
                raise ProtocolError(f"Chromium closed the DevTools pipe (exit status {self.proc.poll()})")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read_message()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise ProtocolError(f"{method}: {m['error'].get('message')}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method, session):
        """Returns the first event `method` of the session, received before or now."""
        while True:
            for m in self.events:
                if m.get("method") == method and m.get("sessionId") == session:
                    self.events.remove(m)
                    return m
            m = self._read_message()
            if "method" in m:
                self.events.append(m)

    def close(self):
        if self.proc.poll() is None:
            try:
                os.write(self.to_child, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group we started (start_new_session)
            except ProcessLookupError:
                pass
            self.proc.wait()
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self.logf.close()


# Runs in the page after its load event and one more turn of the event loop (a chart drawn from a
# requestAnimationFrame or a timeout of 0 is there). Returns what it found; the verdict is Python's.
PAGE_CHECK = r"""
new Promise(done => requestAnimationFrame(() => setTimeout(() => {
  const section = el => {
    for (let e = el; e; e = e.previousElementSibling || e.parentElement) {
      if (e.tagName === 'H2' || e.tagName === 'H1') return (e.firstChild ? e.firstChild.textContent : e.textContent).trim();
    }
    return '(top)';
  };
  const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const charts = [];
  for (const svg of document.querySelectorAll('svg')) {
    const title = svg.querySelector('text');
    const outer = box(svg);
    let marks = 0, kinds = {};
    for (const m of svg.querySelectorAll('circle, ellipse, polyline, polygon, path, rect')) {
      const tag = m.tagName.toLowerCase();
      // Bars carry a <title> tooltip; the frame and legend swatches are rects without one.
      if (tag === 'rect' && !Array.from(m.children).some(c => c.tagName.toLowerCase() === 'title')) continue;
      if ((tag === 'polyline' || tag === 'polygon') && m.points.numberOfItems < 2) continue;
      const s = getComputedStyle(m);
      if (s.display === 'none' || s.visibility === 'hidden') continue;
      const b = box(m);
      const nonEmpty = b[2] - b[0] > 0 || b[3] - b[1] > 0;
      const inside = b[2] >= outer[0] && b[0] <= outer[2] && b[3] >= outer[1] && b[1] <= outer[3];
      if (nonEmpty && inside) { marks++; kinds[tag] = (kinds[tag] || 0) + 1; }
    }
    charts.push({section: section(svg), title: title ? title.textContent.trim() : '(untitled svg)',
                 width: outer[2] - outer[0], height: outer[3] - outer[1], marks, kinds,
                 inRow: !!svg.closest('.charts')});
  }
  const slots = [];
  for (const row of document.querySelectorAll('.charts')) {
    for (const child of row.children) {
      if (child.tagName.toLowerCase() !== 'svg') slots.push({section: section(row), text: child.textContent.trim()});
    }
  }
  done({title: document.title, ready: document.readyState, h1: (document.querySelector('h1') || {}).textContent || '',
        rows: document.querySelectorAll('.charts').length, charts, slots});
}, 0)))
"""


def open_page(b, url):
    """Opens url in a new tab with the runtime, log and page domains listening from the start;
    returns (findings of PAGE_CHECK, error strings)."""
    target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    s = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Page"):
        b.call(f"{domain}.enable", session=s)
    errors = []
    nav = b.call("Page.navigate", {"url": url}, session=s)
    if nav.get("errorText"):
        errors.append(f"the page did not load: {nav['errorText']}")
        return None, errors
    b.wait_event("Page.loadEventFired", s)
    res = b.call("Runtime.evaluate", {"expression": PAGE_CHECK, "awaitPromise": True, "returnByValue": True},
                 session=s)
    if res.get("exceptionDetails"):
        errors.append("the page check itself threw: " + describe_exception(res["exceptionDetails"]))
        found = None
    else:
        found = res["result"]["value"]
    # Everything the page reported up to now (the check's own answer came after its events).
    for m in [e for e in b.events if e.get("sessionId") == s]:
        p = m.get("params", {})
        if m["method"] == "Runtime.exceptionThrown":
            errors.append("uncaught exception: " + describe_exception(p["exceptionDetails"]))
        elif m["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            errors.append(f"console.{p['type']}: {text}")
        elif m["method"] == "Log.entryAdded" and p["entry"].get("level") == "error":
            e = p["entry"]
            errors.append(f"browser log error ({e.get('source')}): {e.get('text')}"
                          + (f" [{e['url']}]" if e.get("url") else ""))
    b.events = [e for e in b.events if e.get("sessionId") != s]
    b.call("Target.closeTarget", {"targetId": target})
    return found, errors


def describe_exception(d):
    ex = d.get("exception") or {}
    what = ex.get("description") or d.get("text") or "?"
    where = os.path.basename(d.get("url") or "") or "?"
    return f"{what.splitlines()[0]} ({where} line {d.get('lineNumber', -1) + 1}, column {d.get('columnNumber', -1) + 1})"


def verdict(found, errors, expect_rows):
    """Every problem of one page as a line naming the chart or the error."""
    problems = list(errors)
    if found is None:
        return problems
    if found["ready"] != "complete":
        problems.append(f"document.readyState is {found['ready']!r} after the load event")
    if found["title"] != "tricolor benchmark report":
        problems.append(f"the page's title is {found['title']!r}, not the report's")
    if found["rows"] < expect_rows:
        problems.append(f"{found['rows']} chart rows (div.charts), expected {expect_rows}: a section is missing")
    for c in found["charts"]:
        name = f"chart \"{c['title']}\" (section {c['section']})"
        if c["width"] <= 0 or c["height"] <= 0:
            problems.append(f"{name}: not laid out ({c['width']:.0f}x{c['height']:.0f} px)")
        if c["marks"] == 0:
            problems.append(f"{name}: empty: no circle, line or bar with a non-empty box inside the chart")
    for s in found["slots"]:
        problems.append(f"chart slot in section {s['section']} is not a chart but {s['text']!r}: an empty chart")
    return problems


CONTROL = """
<div class="charts"><svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><text x="10" y="14">control: empty chart</text>
<rect x="10" y="20" width="180" height="70" fill="none" stroke="#888"/></svg><p>control: nothing recorded</p></div>
<img src="control-missing.png" alt="">
<script>console.error("control: console.error");</script>
<script>var control = ;</script>
<script>throw new Error("control: uncaught");</script>
</body>"""

CONTROL_EXPECT = ["control: empty chart", "control: nothing recorded", "control-missing.png", "control: console.error",
                  "SyntaxError", "control: uncaught"]


def main():
    exe = find_chromium()
    if exe is None:
        print("report-browser: SKIPPED: no Chromium found (chromium, chromium-browser, google-chrome on PATH). "
              "tools/setup installs Debian's chromium; TRICOLOR_CHROMIUM=/path/to/chrome selects another.")
        return SKIP
    with tempfile.TemporaryDirectory(prefix="report-browser-") as tmp:
        report = fixture()
        saved = os.path.join(tmp, "bench-report.json")
        with open(saved, "w") as f:
            json.dump(report, f, indent=1)
        p = subprocess.run([sys.executable, os.path.join(TOOLS, "report.py"), "--render", saved],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        page = os.path.splitext(saved)[0] + ".html"
        if p.returncode != 0 or not os.path.exists(page):
            print(f"FAIL: tools/report.py --render {saved} exited {p.returncode}:\n{p.stdout[-3000:]}")
            return 1
        with open(page) as f:
            text = f.read()
        control = os.path.join(tmp, "control.html")
        with open(control, "w") as f:
            f.write(text.replace("</body>", CONTROL, 1))
        expect_rows = len(report["workloads"]) + 2  # one per workload, mark-scaling, rss-return

        try:
            b = Browser(exe, tmp, time.monotonic() + DEADLINE_S)
        except OSError as e:
            print(f"FAIL: cannot start {exe}: {e}")
            return 1
        try:
            version = b.call("Browser.getVersion").get("product", "?")
            c_found, c_errors = open_page(b, "file://" + control)
            found, errors = open_page(b, "file://" + page)
        except ProtocolError as e:
            print(f"FAIL: {e}\nChromium ({exe}) said:\n{b.log_tail()}")
            return 1
        finally:
            b.close()

    # The control first: a checker that does not see deliberate errors proves nothing.
    c_problems = "\n".join(verdict(c_found, c_errors, expect_rows + 1))
    missed = [x for x in CONTROL_EXPECT if x not in c_problems]
    if missed:
        print(f"FAIL: the control page's deliberate faults were not all reported (missed: {', '.join(missed)}); "
              f"the check cannot be trusted with {version}. It reported:\n{c_problems or '(nothing)'}")
        return 1

    problems = verdict(found, errors, expect_rows)
    if problems:
        print(f"FAIL: the report rendered from a synthetic run, in {version}:")
        for x in problems:
            print("  " + x)
        return 1
    n = len(found["charts"])
    kinds = {}
    for c in found["charts"]:
        for k, v in c["kinds"].items():
            kinds[k] = kinds.get(k, 0) + v
    print(f"ok: {version} loaded the report without script errors; {n} charts in {found['rows']} rows, every one "
          f"drawn ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}); control page: "
          f"{len(CONTROL_EXPECT)} deliberate faults all reported")
    for c in found["charts"]:
        print(f"  {c['section']}: {c['title'][:70]}: {c['marks']} marks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
