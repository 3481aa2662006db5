#include "workloads/table.hpp"

namespace bench {

const Workload* find_workload(const std::string& name) {
  static const Workload kWorkloads[] = {
      {"gcbench", gcbench_live, gcbench_run},
      {"gcbench-mt", gcbench_live, gcbench_run},
      {"binary-trees", binary_trees_live, binary_trees_run},
      {"quad-tree", quad_tree_live, quad_tree_run},
      {"mark-scaling", mark_scaling_live, mark_scaling_run, mark_scaling_configure},
      {"rss-return", rss_return_live, rss_return_run},
  };
  for (const Workload& w : kWorkloads)
    if (name == w.name) return &w;
  return nullptr;
}

}  // namespace bench
