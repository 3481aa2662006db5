// Death tests for Catch2 v2: REQUIRE_DEATH(message, body) passes when body aborts (SIGABRT) with
// message on stderr.
//
// Each death case runs in a fresh process, never in a fork of this one: a test process usually has a
// heap's marker, sweeper and controller threads running, and a fork keeps only the forking thread, so
// a child that touched the heap waited for threads that do not exist in it (or on a lock one of them
// held at the fork) and hung. Instead, as GoogleTest's "threadsafe" death tests do, REQUIRE_DEATH
// re-executes this test binary (/proc/self/exe, by posix_spawn: nothing runs between the fork and
// the exec) with the current test case's name as the only test filter (plus the parent's -c section
// filters, if any), and tells the child in the environment which REQUIRE_DEATH to run:
//   TCTEST_DEATH_TEST  the test case's name;
//   TCTEST_DEATH_CASE  "<ordinal> <line>": the ordinal of the REQUIRE_DEATH among those the test case
//                      has reached so far in this process (across all its SECTION runs; Catch runs
//                      them in a fixed order), and its line, checked by the child.
// The child runs the test case from the start (its own heap, its own threads): earlier REQUIRE_DEATHs
// pass without running their bodies (the parent saw them die already), the target one runs its body
// directly and, if the body returns, _exits(0): it survived, which fails the parent's test. The child
// writes one byte to fd 3 when it reaches the target, so that the parent can tell "survived" from
// "never got there" (a test case that takes another path when re-run).
//
// The parent reads the child's stderr (matched against message) and stdout (Catch's report, shown if
// the case fails) through pipes, polling them with a deadline: a child that hangs is killed after
// 60 s (TCTEST_DEATH_TIMEOUT_S overrides it) and the case fails saying so. Nothing hangs CI.
//
// The macro keeps its interface REQUIRE_DEATH(message, ...body...). Test-case names must not start or
// end with '*' or start with "exclude:" (Catch's filter syntax cannot say them literally); the other
// special characters are escaped.
#pragma once
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

extern "C" char** environ;

namespace tctest {

struct DeathResult {
  bool ok = false;             // the case passed: the body aborted with the message on stderr
  bool died_by_abort = false;  // the child ended by SIGABRT
  bool reached = false;        // the child reached the REQUIRE_DEATH (and ran its body)
  bool hung = false;           // the child did not end in time and was killed
  bool skipped = false;        // in a death-test child: an earlier REQUIRE_DEATH, not run
  int wait_status = 0;
  std::string stderr_text;     // the child's stderr
  std::string stdout_text;     // the child's stdout (Catch's report of the re-run test case)
  std::string report;          // why it failed (or what happened), for INFO
};

namespace death_detail {

constexpr int kReachedFd = 3;            // the child's end of the "reached the target" pipe
constexpr int kExitNotTarget = 97;       // the child found another REQUIRE_DEATH at the target ordinal
constexpr int kExitBodyThrew = 98;       // the body threw an exception
constexpr const char* kTestVar = "TCTEST_DEATH_TEST";
constexpr const char* kCaseVar = "TCTEST_DEATH_CASE";

// Which REQUIRE_DEATH this process is the child for, if it is one.
struct ChildTarget {
  bool active = false;
  std::string test;
  long ordinal = -1;
  long line = -1;
};

inline const ChildTarget& child_target() {
  static const ChildTarget target = [] {
    ChildTarget t;
    const char* test = std::getenv(kTestVar);
    const char* which = std::getenv(kCaseVar);
    if (test == nullptr || which == nullptr) return t;
    t.active = std::sscanf(which, "%ld %ld", &t.ordinal, &t.line) == 2;
    t.test = test;
    return t;
  }();
  return target;
}

// The ordinal of the next REQUIRE_DEATH in the current test case. Catch runs a test case once per
// leaf SECTION, back to back, so the count restarts only when the test case changes; the child
// re-runs the same sections in the same order and counts the same way.
inline long next_ordinal(const std::string& test) {
  static std::string current;
  static long next = 0;
  if (test != current) {
    current = test;
    next = 0;
  }
  return next++;
}

inline std::chrono::milliseconds& timeout_override() {
  static std::chrono::milliseconds t{0};
  return t;
}

inline std::chrono::milliseconds timeout() {
  if (timeout_override().count() > 0) return timeout_override();
  if (const char* s = std::getenv("TCTEST_DEATH_TIMEOUT_S")) {
    const long v = std::strtol(s, nullptr, 10);
    if (v > 0) return std::chrono::seconds(v);
  }
  return std::chrono::seconds(60);
}

// Catch2 v2's test-spec syntax: a quoted name keeps its spaces; inside the quotes '\' escapes the
// next character, which ',' (a filter separator), '"' and '\' itself need.
inline std::string escape_test_name(std::string_view name) {
  std::string spec = "\"";
  for (const char c : name) {
    if (c == '\\' || c == ',' || c == '"') spec += '\\';
    spec += c;
  }
  spec += '"';
  return spec;
}

// A pipe whose ends are close-on-exec and numbered above the child's 0..3, so that dup2-ing them
// onto 1, 2 and 3 in the child can never clobber one another, and no other process spawned meanwhile
// (by another thread) inherits them.
struct Pipe {
  int read_end = -1, write_end = -1;
  bool open() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    read_end = fcntl(fds[0], F_DUPFD_CLOEXEC, 10);
    write_end = fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
    ::close(fds[0]);
    ::close(fds[1]);
    return read_end >= 0 && write_end >= 0;
  }
  void close_write() {
    if (write_end >= 0) ::close(write_end);
    write_end = -1;
  }
  ~Pipe() {
    if (read_end >= 0) ::close(read_end);
    close_write();
  }
};

inline std::string describe_status(int status) {
  char buf[96];
  if (WIFEXITED(status)) {
    std::snprintf(buf, sizeof buf, "exited with status %d", WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    std::snprintf(buf, sizeof buf, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  } else {
    std::snprintf(buf, sizeof buf, "ended with wait status %#x", static_cast<unsigned>(status));
  }
  return buf;
}

inline std::string tail(const std::string& s, std::size_t n = 4000) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

// The child's side: run the body of the target REQUIRE_DEATH. Never returns.
template <class Body>
[[noreturn]] void run_target_body(long line, Body&& body) {
  const ChildTarget& target = child_target();
  if (line != target.line) {
    std::fprintf(stderr,
                 "tctest: REQUIRE_DEATH #%ld of this test case is at line %ld in the death-test child but at "
                 "line %ld in the parent: the test case must reach its REQUIRE_DEATHs in the same order "
                 "every time it runs\n",
                 target.ordinal, line, target.line);
    std::_Exit(kExitNotTarget);
  }
  const char reached = 'R';
  while (write(kReachedFd, &reached, 1) < 0 && errno == EINTR) {
  }
  try {
    body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tctest: the death-test body threw instead of dying: %s\n", e.what());
    std::_Exit(kExitBodyThrew);
  } catch (...) {
    std::fprintf(stderr, "tctest: the death-test body threw instead of dying\n");
    std::_Exit(kExitBodyThrew);
  }
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(0);  // survived: not a death
}

// The parent's side: spawn the child for REQUIRE_DEATH #ordinal and collect what it did.
inline DeathResult spawn_death_child(const std::string& message, const char* file, long line,
                                     const std::string& test, long ordinal) {
  DeathResult r;
  char where[512];
  std::snprintf(where, sizeof where, "REQUIRE_DEATH at %s:%ld (#%ld in test case \"%s\")", file, line, ordinal,
                test.c_str());
  if (test.empty()) {
    r.report = std::string(where) + ": not inside a Catch2 test case";
    return r;
  }
  if (test.front() == '*' || test.back() == '*' || test.rfind("exclude:", 0) == 0) {
    r.report = std::string(where) +
               ": Catch's filter cannot name this test case exactly (it starts or ends with '*' or starts with "
               "\"exclude:\"): rename the test case";
    return r;
  }

  // Everything the child needs is built before the spawn; posix_spawn itself only execs.
  char exe_path[4096];
  const ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
  const std::string argv0 = n > 0 ? std::string(exe_path, static_cast<std::size_t>(n)) : "/proc/self/exe";
  const std::string spec = escape_test_name(test);
  const std::string test_var = std::string(kTestVar) + "=" + test;
  const std::string case_var = std::string(kCaseVar) + "=" + std::to_string(ordinal) + " " + std::to_string(line);
  std::vector<char*> argv = {const_cast<char*>(argv0.c_str()), const_cast<char*>(spec.c_str()),
                             const_cast<char*>("--use-colour"), const_cast<char*>("no")};
  // The parent's -c (section) filters too, so that the child runs the same sections in the same
  // order, and so counts its REQUIRE_DEATHs the same way.
  std::vector<std::string> sections;
  if (const Catch::IConfigPtr& config = Catch::getCurrentContext().getConfig())
    sections = config->getSectionsToRun();
  for (std::string& section : sections) {
    argv.push_back(const_cast<char*>("-c"));
    argv.push_back(section.data());
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "TCTEST_DEATH_TEST=", 18) != 0 && std::strncmp(*e, "TCTEST_DEATH_CASE=", 18) != 0)
      envp.push_back(*e);
  }
  envp.push_back(const_cast<char*>(test_var.c_str()));
  envp.push_back(const_cast<char*>(case_var.c_str()));
  envp.push_back(nullptr);

  Pipe out, err, reached;
  if (!out.open() || !err.open() || !reached.open()) {
    r.report = std::string(where) + ": pipe: " + std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write_end, 1);
  posix_spawn_file_actions_adddup2(&actions, err.write_end, 2);
  posix_spawn_file_actions_adddup2(&actions, reached.write_end, kReachedFd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);  // the calling thread may block signals; the child must not
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = -1;
  const int spawn_error = posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  out.close_write();
  err.close_write();
  reached.close_write();
  if (spawn_error != 0) {
    r.report = std::string(where) + ": posix_spawn(/proc/self/exe): " + std::strerror(spawn_error);
    return r;
  }

  // Read all three pipes until the child closes them (it exits), or until the deadline.
  const std::chrono::milliseconds limit = timeout();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  struct Stream {
    int fd;
    std::string* text;
    bool open;
  };
  std::string reached_bytes;
  Stream streams[] = {{out.read_end, &r.stdout_text, true}, {err.read_end, &r.stderr_text, true},
                      {reached.read_end, &reached_bytes, true}};
  for (;;) {
    pollfd fds[3];
    nfds_t count = 0;
    Stream* polled[3];
    for (Stream& s : streams) {
      if (!s.open) continue;
      fds[count] = {s.fd, POLLIN, 0};
      polled[count++] = &s;
    }
    if (count == 0) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.hung = true;
      break;
    }
    const int ready = poll(fds, count, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      r.report = std::string(where) + ": poll: " + std::strerror(errno);
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return r;
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        polled[i]->text->append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        polled[i]->open = false;
      }
    }
  }
  if (r.hung) kill(pid, SIGKILL);
  while (waitpid(pid, &r.wait_status, 0) < 0 && errno == EINTR) {
  }

  r.reached = !reached_bytes.empty();
  r.died_by_abort = !r.hung && WIFSIGNALED(r.wait_status) && WTERMSIG(r.wait_status) == SIGABRT;
  const bool has_message = r.stderr_text.find(message) != std::string::npos;
  r.ok = r.reached && r.died_by_abort && has_message;
  const std::string status = describe_status(r.wait_status);
  std::string verdict;
  if (r.hung) {
    verdict = "the child (pid " + std::to_string(pid) + ") hung: it did not end within " +
              std::to_string(limit.count()) + " ms, and was killed" +
              (r.reached ? " (it was running the body)" : " (before it reached the REQUIRE_DEATH)");
  } else if (!r.reached) {
    verdict = "the child never reached this REQUIRE_DEATH (it " + status +
              "): does the test case take the same path every time it runs?";
  } else if (WIFEXITED(r.wait_status) && WEXITSTATUS(r.wait_status) == 0) {
    verdict = "the body returned: the child survived (it exited with status 0)";
  } else if (!r.died_by_abort) {
    verdict = "the child " + status + ", not by SIGABRT";
  } else if (!has_message) {
    verdict = "the child aborted, but its stderr does not contain \"" + message + "\"";
  } else {
    verdict = "the child aborted with the message";
  }
  r.report = std::string(where) + ": " + verdict + "\n--- child stderr ---\n" + tail(r.stderr_text) +
             (r.ok ? "" : "\n--- child stdout ---\n" + tail(r.stdout_text));
  return r;
}

}  // namespace death_detail

// Runs body as REQUIRE_DEATH does and returns what happened (REQUIRE_DEATH requires .ok). Counts as
// one REQUIRE_DEATH of the current test case.
template <class Body>
DeathResult run_expecting_death(const std::string& message, const char* file, long line, Body&& body) {
  const std::string test = Catch::getResultCapture().getCurrentTestName();
  const long ordinal = death_detail::next_ordinal(test);
  const death_detail::ChildTarget& target = death_detail::child_target();
  if (target.active) {
    if (test == target.test && ordinal == target.ordinal) death_detail::run_target_body(line, body);
    // Another REQUIRE_DEATH on the way to the target: the parent has run (or will run) it itself.
    DeathResult skipped;
    skipped.ok = true;
    skipped.skipped = true;
    skipped.report = "skipped in the death-test child for another REQUIRE_DEATH";
    return skipped;
  }
  return death_detail::spawn_death_child(message, file, line, test, ordinal);
}

// True in a child process that runs one REQUIRE_DEATH (for tests of this header).
inline bool in_death_child() { return death_detail::child_target().active; }

// Sets the hang timeout for the death cases run while it lives (tests of this header).
class DeathTimeout {
 public:
  explicit DeathTimeout(std::chrono::milliseconds t) : saved_(death_detail::timeout_override()) {
    death_detail::timeout_override() = t;
  }
  ~DeathTimeout() { death_detail::timeout_override() = saved_; }
  DeathTimeout(const DeathTimeout&) = delete;
  DeathTimeout& operator=(const DeathTimeout&) = delete;

 private:
  std::chrono::milliseconds saved_;
};

}  // namespace tctest

#define REQUIRE_DEATH(message, ...)                                                                    \
  do {                                                                                                 \
    const ::tctest::DeathResult tctest_death_result_ =                                                 \
        ::tctest::run_expecting_death(message, __FILE__, __LINE__, [&] { __VA_ARGS__; });              \
    INFO(tctest_death_result_.report);                                                                 \
    REQUIRE(tctest_death_result_.ok);                                                                  \
  } while (0)
