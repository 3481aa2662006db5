// The workloads, each written once over the back-end interface (backends/backend.hpp) and compiled
// once per collector. Their parameters are in common/workloads.hpp.
#pragma once
#include "backends/backend.hpp"

namespace bench {

std::size_t gcbench_live(const Options& o);
void gcbench_run(const Options& o, Record& r, gc::Runtime& rt);
std::size_t binary_trees_live(const Options& o);
void binary_trees_run(const Options& o, Record& r, gc::Runtime& rt);
std::size_t quad_tree_live(const Options& o);
void quad_tree_run(const Options& o, Record& r, gc::Runtime& rt);
std::size_t mark_scaling_live(const Options& o);
void mark_scaling_configure(const Options& o, gc::Settings& s);
void mark_scaling_run(const Options& o, Record& r, gc::Runtime& rt);
std::size_t rss_return_live(const Options& o);
void rss_return_run(const Options& o, Record& r, gc::Runtime& rt);

}  // namespace bench
