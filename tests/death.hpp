// Death tests for Catch2: run a callable in a forked child and check that it aborts with a message.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <functional>
#include <string>

namespace tctest {

struct DeathResult {
  bool died_by_abort = false;
  std::string stderr_text;
};

inline DeathResult run_expecting_death(const std::function<void()>& fn) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return {};
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 2);
    close(pipefd[0]);
    fn();
    _exit(0);  // survived: not a death
  }
  close(pipefd[1]);
  DeathResult r;
  char buf[4096];
  for (ssize_t n; (n = read(pipefd[0], buf, sizeof buf)) > 0;) r.stderr_text.append(buf, static_cast<std::size_t>(n));
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.died_by_abort = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  return r;
}

}  // namespace tctest

#define REQUIRE_DEATH(message, ...)                                                  \
  do {                                                                               \
    const auto death_result_ = ::tctest::run_expecting_death([&] { __VA_ARGS__; }); \
    INFO("child stderr: " << death_result_.stderr_text);                             \
    REQUIRE(death_result_.died_by_abort);                                            \
    REQUIRE(death_result_.stderr_text.find(message) != std::string::npos);           \
  } while (0)
