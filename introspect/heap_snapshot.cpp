#include "introspect/heap_snapshot.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "gc/heap_impl.hpp"
#include "introspect/leak_check.hpp"

namespace tricolor {

namespace internal {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

HeapSnapshot count_objects_stopped(HeapImpl& h) {
  // A cycle may have ended between the caller's collection and the stop: finish its sweep, so that
  // alloc_bits hold only objects that survived it. Holding threads_mu, no other cycle can end.
  h.sweeper.finish(h.collector.sweep_gen());
  for (ThreadState* t : h.safepoint.threads()) h.allocator.release_caches(t);
  std::vector<std::pair<std::size_t, std::size_t>> by_type;  // type id -> (count, bytes)
  auto visit = [&](Span* s) {
    for (std::size_t w = 0; w < s->nwords(); ++w)
      for (std::uint64_t a = s->alloc_bits[w]; a != 0; a &= a - 1) {
        const std::size_t i = w * 64 + static_cast<std::size_t>(__builtin_ctzll(a));
        const std::uint32_t type = header_of(s->payload(i))->type_id;
        if (by_type.size() <= type) by_type.resize(type + 1);
        ++by_type[type].first;
        by_type[type].second += s->elem_size;
      }
  };
  h.allocator.for_each_listed_span(visit);
  HeapSnapshot snap;
  for (std::size_t id = 0; id < by_type.size(); ++id) {
    if (by_type[id].first == 0) continue;
    snap.types.push_back({type_info(static_cast<std::uint32_t>(id)).name, by_type[id].first, by_type[id].second});
    snap.objects += by_type[id].first;
    snap.bytes += by_type[id].second;
  }
  std::sort(snap.types.begin(), snap.types.end(), [](const TypeCount& a, const TypeCount& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.type < b.type;
  });
  snap.cycle = h.collector.cycles_completed();
  return snap;
}

}  // namespace internal

HeapSnapshot Heap::snapshot() {
  internal::HeapImpl& h = *impl_;
  h.collector.collect();
  HeapSnapshot snap;
  h.with_world_stopped([&] { snap = internal::count_objects_stopped(h); });
  return snap;
}

const TypeCount* HeapSnapshot::find(std::string_view type) const {
  for (const TypeCount& t : types)
    if (t.type == type) return &t;
  return nullptr;
}
std::size_t HeapSnapshot::count(std::string_view type) const {
  const TypeCount* t = find(type);
  return t ? t->count : 0;
}
std::size_t HeapSnapshot::bytes_of(std::string_view type) const {
  const TypeCount* t = find(type);
  return t ? t->bytes : 0;
}

std::string HeapSnapshot::to_json() const {
  std::string s = "{\"cycle\":" + std::to_string(cycle) + ",\"objects\":" + std::to_string(objects) +
                  ",\"bytes\":" + std::to_string(bytes) + ",\"types\":[";
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (i != 0) s += ",";
    s += "{\"type\":" + internal::json_string(types[i].type) + ",\"count\":" + std::to_string(types[i].count) +
         ",\"bytes\":" + std::to_string(types[i].bytes) + "}";
  }
  return s + "]}";
}

std::string HeapSnapshot::to_string(std::size_t max_rows) const {
  char line[64];
  std::snprintf(line, sizeof line, "%12s %12s  ", "count", "bytes");
  std::string s = std::string(line) + "type\n";
  for (std::size_t i = 0; i < types.size() && i < max_rows; ++i) {
    std::snprintf(line, sizeof line, "%12zu %12zu  ", types[i].count, types[i].bytes);
    s += line + types[i].type + "\n";
  }
  if (types.size() > max_rows) s += "  ... " + std::to_string(types.size() - max_rows) + " more types\n";
  std::snprintf(line, sizeof line, "%12zu %12zu  ", objects, bytes);
  return s + line + "total\n";
}

SnapshotDiff diff(const HeapSnapshot& before, const HeapSnapshot& after) {
  std::map<std::string, TypeDelta> m;
  for (const TypeCount& t : after.types) {
    TypeDelta& d = m[t.type];
    d.count += static_cast<std::int64_t>(t.count);
    d.bytes += static_cast<std::int64_t>(t.bytes);
  }
  for (const TypeCount& t : before.types) {
    TypeDelta& d = m[t.type];
    d.count -= static_cast<std::int64_t>(t.count);
    d.bytes -= static_cast<std::int64_t>(t.bytes);
  }
  SnapshotDiff out;
  for (auto& [name, d] : m) {
    if (d.count == 0 && d.bytes == 0) continue;
    d.type = name;
    out.types.push_back(d);
  }
  std::sort(out.types.begin(), out.types.end(), [](const TypeDelta& a, const TypeDelta& b) {
    const std::int64_t x = std::llabs(a.bytes), y = std::llabs(b.bytes);
    return x != y ? x > y : a.type < b.type;
  });
  out.objects = static_cast<std::int64_t>(after.objects) - static_cast<std::int64_t>(before.objects);
  out.bytes = static_cast<std::int64_t>(after.bytes) - static_cast<std::int64_t>(before.bytes);
  out.cycle = after.cycle;
  out.since_cycle = before.cycle;
  return out;
}

std::int64_t SnapshotDiff::count(std::string_view type) const {
  for (const TypeDelta& d : types)
    if (d.type == type) return d.count;
  return 0;
}

std::string SnapshotDiff::to_json() const {
  std::string s = "{\"cycle\":" + std::to_string(cycle) + ",\"since_cycle\":" + std::to_string(since_cycle) +
                  ",\"objects\":" + std::to_string(objects) + ",\"bytes\":" + std::to_string(bytes) + ",\"types\":[";
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (i != 0) s += ",";
    s += "{\"type\":" + internal::json_string(types[i].type) + ",\"count\":" + std::to_string(types[i].count) +
         ",\"bytes\":" + std::to_string(types[i].bytes) + "}";
  }
  return s + "]}";
}

std::string SnapshotDiff::to_string(std::size_t max_rows) const {
  char line[64];
  std::snprintf(line, sizeof line, "%12s %12s  ", "count", "bytes");
  std::string s = std::string(line) + "type\n";
  for (std::size_t i = 0; i < types.size() && i < max_rows; ++i) {
    std::snprintf(line, sizeof line, "%+12lld %+12lld  ", static_cast<long long>(types[i].count),
                  static_cast<long long>(types[i].bytes));
    s += line + types[i].type + "\n";
  }
  if (types.size() > max_rows) s += "  ... " + std::to_string(types.size() - max_rows) + " more types\n";
  std::snprintf(line, sizeof line, "%+12lld %+12lld  ", static_cast<long long>(objects), static_cast<long long>(bytes));
  return s + line + "total\n";
}

}  // namespace tricolor
