// The scheme command: runs a program file, an expression, or a REPL.
//
//   scheme [options] [file.scm [args...]]     args are (command-line)
//   scheme [options] -e '(display (+ 1 2))'
//   scheme [options]                          REPL when stdin is a terminal, else runs stdin
//
// Options:
//   --stress          collect all the time and verify each cycle (tricolor; also SCHEME_STRESS=1)
//   --collect-every=N a full, verified collection every N allocations (tricolor; also
//                     TRICOLOR_COLLECT_EVERY=N, which leaves the verifier as configured)
//   --max-heap=N      heap limit in bytes (k/m/g suffixes); allocation past it is a Scheme error
//   --stats           heap statistics on stderr at exit
//   --max-peak=N      exit with status 3 if the heap's peak size exceeded N bytes
//   --check-teardown  after the program, drop the interpreter, collect, and exit with status 4 if
//                     anything is still live (the VM's roots must be the only roots)
//
// Exit status: 0, 1 if the program signalled an error, 2 on bad usage, 3/4 as above.
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "builtins.hpp"
#include "reader.hpp"
#include "vm.hpp"

namespace scheme {
namespace {

struct Options {
  gc::Options gc;
  bool stats = false;
  bool check_teardown = false;
  std::size_t max_peak = 0;
  std::optional<std::string> expression;
  std::optional<std::string> file;
  std::vector<std::string> args;
};

[[noreturn]] void usage(const char* message) {
  std::fprintf(stderr,
               "scheme: %s\nusage: scheme [--stress] [--collect-every=N] [--max-heap=N] [--stats] [--max-peak=N] "
               "[--check-teardown] [-e EXPR | FILE [ARGS...]]\n",
               message);
  std::exit(2);
}

std::size_t parse_size(const char* text) {
  char* end = nullptr;
  const unsigned long long n = std::strtoull(text, &end, 10);
  if (end == text) usage("bad size");
  std::size_t scale = 1;
  if (*end == 'k' || *end == 'K') scale = std::size_t{1} << 10;
  else if (*end == 'm' || *end == 'M') scale = std::size_t{1} << 20;
  else if (*end == 'g' || *end == 'G') scale = std::size_t{1} << 30;
  else if (*end != '\0') usage("bad size suffix");
  return static_cast<std::size_t>(n) * scale;
}

Options parse(int argc, char** argv) {
  Options o;
  if (const char* s = std::getenv("SCHEME_STRESS"); s != nullptr && std::strcmp(s, "0") != 0)
    o.gc.stress = true;
  int i = 1;
  for (; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strcmp(a, "--stress") == 0) o.gc.stress = true;
    else if (std::strcmp(a, "--stats") == 0) o.stats = true;
    else if (std::strcmp(a, "--check-teardown") == 0) o.check_teardown = true;
    else if (std::strncmp(a, "--max-heap=", 11) == 0) o.gc.max_heap = parse_size(a + 11);
    else if (std::strncmp(a, "--max-peak=", 11) == 0) o.max_peak = parse_size(a + 11);
    else if (std::strncmp(a, "--collect-every=", 16) == 0) o.gc.collect_every = parse_size(a + 16);
    else if (std::strcmp(a, "-e") == 0 && i + 1 < argc) o.expression = argv[++i];
    else if (std::strcmp(a, "--") == 0) { ++i; break; }
    else if (a[0] == '-' && a[1] != '\0') usage("unknown option");
    else break;
  }
  if (i < argc && !o.expression) o.file = argv[i++];
  for (; i < argc; ++i) o.args.emplace_back(argv[i]);
  return o;
}

void report(VM& vm, const char* message) {
  vm.flush();  // the program's output so far comes before the message
  std::fprintf(stderr, "error: %s\n", message);
}

// Runs every datum of `text`; returns false if any failed. A read error ends the run (the reader
// cannot know where the next datum starts); any other error only abandons its top-level form.
bool run_text(VM& vm, std::string_view text) {
  bool ok = true;
  Reader reader(vm, text);
  for (;;) {
    try {
      const Value datum = reader.read();
      if (datum == Value::eof()) break;
      vm.eval_toplevel(datum);
    } catch (const ReadError& e) {
      report(vm, e.what());
      return false;
    } catch (const SchemeError& e) {
      report(vm, e.what());
      ok = false;
    } catch (const gc::OutOfMemory&) {
      report(vm, "out of memory: the heap limit is reached");
      ok = false;
    }
  }
  vm.flush();
  return ok;
}

bool repl(VM& vm) {
  std::string pending;
  for (;;) {
    std::fputs(pending.empty() ? "> " : "  ", stdout);
    std::fflush(stdout);
    std::string line;
    bool got;
    {
      // Waiting for the user must not hold up a collection: the thread counts as stopped (its roots
      // are scanned on its behalf) until it touches the heap again.
      gc::Blocking waiting;
      got = static_cast<bool>(std::getline(std::cin, line));
    }
    if (!got) break;
    pending += line;
    pending += '\n';
    for (;;) {
      Reader reader(vm, pending);
      Value datum;
      try {
        datum = reader.read();
      } catch (const ReadError& e) {
        if (!e.incomplete) {
          report(vm, e.what());
          pending.clear();
        }
        break;
      } catch (const gc::OutOfMemory&) {
        report(vm, "out of memory: the heap limit is reached");
        pending.clear();
        break;
      }
      if (datum == Value::eof()) {
        pending.clear();
        break;
      }
      const std::size_t consumed = reader.position();
      try {
        const Value v = vm.eval_toplevel(datum);
        if (!(v == Value::unspecified())) {
          print(vm.out(), v, true);  // print does not allocate: v needs no root
          vm.out() += '\n';
        }
      } catch (const SchemeError& e) {
        report(vm, e.what());
      } catch (const gc::OutOfMemory&) {
        report(vm, "out of memory: the heap limit is reached");
      }
      vm.flush();
      pending.erase(0, consumed);
    }
  }
  std::fputs("\n", stdout);
  return true;
}

void print_stats(const char* when, const gc::Stats& s) {
  std::fprintf(stderr,
               "scheme[%s] %s: heap %zu bytes, peak %zu bytes, live %zu bytes, %" PRIu64 " collections\n",
               gc::kBackendName, when, s.heap_bytes, s.heap_peak_bytes, s.live_bytes, s.cycles);
}

int main_impl(int argc, char** argv) {
  const Options options = parse(argc, argv);
  std::string text;
  if (options.file) {
    std::ifstream in(*options.file, std::ios::binary);
    if (!in) usage(("cannot open " + *options.file).c_str());
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }

  gc::Runtime runtime(options.gc);
  bool ok;
  gc::Stats at_end;
  {
    VM vm(runtime);
    try {
      install_builtins(vm);
    } catch (const SchemeError& e) {
      report(vm, e.what());
      return 1;
    } catch (const gc::OutOfMemory&) {
      report(vm, "out of memory while starting");
      return 1;
    }
    vm.command_line() = options.args;
    if (options.expression) {
      ok = run_text(vm, *options.expression);
    } else if (options.file) {
      ok = run_text(vm, text);
    } else if (isatty(STDIN_FILENO)) {
      ok = repl(vm);
    } else {
      std::ostringstream ss;
      ss << std::cin.rdbuf();
      text = ss.str();
      ok = run_text(vm, text);
    }
    at_end = runtime.stats();
  }
  if (options.stats) print_stats("end", at_end);

  int status = ok ? 0 : 1;
  if (options.max_peak != 0 && at_end.heap_peak_bytes > options.max_peak) {
    std::fprintf(stderr, "scheme: heap peak %zu bytes exceeds --max-peak=%zu\n", at_end.heap_peak_bytes,
                 options.max_peak);
    status = 3;
  }
  if (options.check_teardown && gc::kPrecise) {  // a conservative collector cannot promise this
    // The VM is gone, and with it every root the interpreter registered: nothing may survive.
    runtime.collect();
    const gc::Stats after = runtime.stats();
    if (options.stats) print_stats("teardown", after);
    if (after.live_bytes != 0) {
      std::fprintf(stderr, "scheme: %zu bytes still live after teardown\n", after.live_bytes);
      status = 4;
    }
  }
  return status;
}

}  // namespace
}  // namespace scheme

int main(int argc, char** argv) { return scheme::main_impl(argc, argv); }
