// This process's threads as /proc/self/task lists them (Linux; tests only): each one's kernel id,
// name (comm) and scheduling policy (field 41 of its stat line, proc(5), counted from the first
// field after the name's closing ')'). A thread that ends while the list is read is left out.
#pragma once
#include <catch2/catch.hpp>

#include <dirent.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tctest {

struct Task {
  long tid;
  std::string name;
  int policy;  // SCHED_OTHER 0, SCHED_BATCH 3, ...
};

inline std::vector<Task> tasks() {
  std::vector<Task> out;
  DIR* d = opendir("/proc/self/task");
  REQUIRE(d != nullptr);
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const std::string dir = std::string("/proc/self/task/") + e->d_name;
    std::ifstream comm(dir + "/comm"), stat(dir + "/stat");
    std::string name, line;
    if (!std::getline(comm, name) || !std::getline(stat, line)) continue;
    std::istringstream rest(line.substr(line.rfind(')') + 2));  // field 3 onwards
    std::string field;
    int policy = -1;
    for (int i = 3; i <= 41 && (rest >> field); ++i)
      if (i == 41) policy = std::stoi(field);
    out.push_back({std::stol(e->d_name), name, policy});
  }
  closedir(d);
  return out;
}

inline std::size_t count_named(const std::vector<Task>& ts, const std::string& name) {
  std::size_t n = 0;
  for (const Task& t : ts) n += t.name == name;
  return n;
}

}  // namespace tctest
