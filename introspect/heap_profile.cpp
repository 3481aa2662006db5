#include "introspect/heap_profile.hpp"

#include <link.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <unordered_map>

#include "gc/heap_impl.hpp"
#include "introspect/leak_check.hpp"
#include "gc/type_registry.hpp"

namespace tricolor {

namespace internal {

namespace {

class StringTable {
 public:
  StringTable() { index(""); }  // string_table[0] must be ""
  std::uint64_t index(const std::string& s) {
    auto [it, inserted] = ids_.emplace(s, strings_.size());
    if (inserted) strings_.push_back(s);
    return it->second;
  }
  const std::vector<std::string>& strings() const { return strings_; }

 private:
  std::unordered_map<std::string, std::uint64_t> ids_;
  std::vector<std::string> strings_;
};

struct Mapping {
  std::uint64_t start, limit, offset;
  std::string file, build_id;
};

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

// The executable segments of every loaded object, with their GNU build ids.
std::vector<Mapping> loaded_mappings() {
  std::vector<Mapping> out;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) -> int {
        auto* maps = static_cast<std::vector<Mapping>*>(data);
        std::string file = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "";
        if (file.empty() && maps->empty()) {
          // The executable itself (listed first, with an empty name).
          char buf[4096];
          const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
          if (n > 0) file.assign(buf, static_cast<std::size_t>(n));
        }
        std::string build_id;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const auto* p = reinterpret_cast<const unsigned char*>(info->dlpi_addr + ph.p_vaddr);
          const unsigned char* end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            const auto* nh = reinterpret_cast<const ElfW(Nhdr)*>(p);
            const unsigned char* name = p + sizeof(ElfW(Nhdr));
            const unsigned char* desc = name + ((nh->n_namesz + 3) & ~3u);
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0)
              build_id = hex(desc, nh->n_descsz);
            p = desc + ((nh->n_descsz + 3) & ~3u);
          }
        }
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
          maps->push_back({info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz, ph.p_offset, file,
                           build_id});
        }
        return 0;
      },
      &out);
  return out;
}

}  // namespace

std::string encode_heap_profile(HeapImpl& h) {
  h.collector.collect();
  std::vector<AllocSites::ProfileEntry> entries;
  // Sweep first (a cycle may have ended since the collection): records of dead objects must have
  // moved to the freed totals, and live records must have their headers (see profile_entries).
  h.with_world_stopped([&] {
    h.sweeper.finish(h.collector.sweep_gen());
    if (leak_state(h).sites.enabled()) entries = leak_state(h).sites.profile_entries();
  });

  StringTable strings;
  ProtoWriter profile;
  auto value_type = [&](const char* type, const char* unit) {
    ProtoWriter vt;
    vt.uint(1, strings.index(type));
    vt.uint(2, strings.index(unit));
    return vt;
  };
  profile.message(1, value_type("alloc_objects", "count"));
  profile.message(1, value_type("alloc_space", "bytes"));
  profile.message(1, value_type("inuse_objects", "count"));
  profile.message(1, value_type("inuse_space", "bytes"));

  const std::vector<Mapping> mappings = loaded_mappings();
  auto mapping_of = [&](std::uintptr_t pc) -> std::uint64_t {
    for (std::size_t i = 0; i < mappings.size(); ++i)
      if (pc >= mappings[i].start && pc < mappings[i].limit) return i + 1;
    return 0;
  };
  std::map<std::pair<std::string, std::string>, std::uint64_t> functions;  // (name, file) -> id
  std::map<std::pair<std::uintptr_t, std::size_t>, std::uint64_t> locations;  // (pc, lines) -> id
  ProtoWriter function_msgs, location_msgs;
  auto function_id = [&](const AllocSites::Frame& f) {
    const std::string name = f.function.empty() ? f.to_string() : f.function;
    auto [it, inserted] = functions.emplace(std::make_pair(name, f.file), functions.size() + 1);
    if (inserted) {
      ProtoWriter fn;
      fn.uint(1, it->second);
      fn.uint(2, strings.index(name));
      fn.uint(3, strings.index(name));
      fn.uint(4, strings.index(f.file));
      function_msgs.message(5, fn);
    }
    return it->second;
  };

  const double rate = static_cast<double>(leak_state(h).sites.rate());
  std::unordered_map<std::uint32_t, std::vector<std::uint64_t>> stack_locations;
  for (const AllocSites::ProfileEntry& e : entries) {
    auto sl = stack_locations.find(e.stack);
    if (sl == stack_locations.end()) {
      // Frames come innermost first, inlined ones expanded; consecutive frames of one pc make one
      // Location whose lines run from the innermost inlined function to its caller.
      const std::vector<AllocSites::Frame> frames = leak_state(h).sites.symbolize(e.stack);
      std::vector<std::uint64_t> ids;
      for (std::size_t i = 0; i < frames.size();) {
        std::size_t j = i;
        while (j < frames.size() && frames[j].pc == frames[i].pc) ++j;
        auto [it, inserted] = locations.emplace(std::make_pair(frames[i].pc, j - i), locations.size() + 1);
        if (inserted) {
          ProtoWriter loc;
          loc.uint(1, it->second);
          loc.uint(2, mapping_of(frames[i].pc));
          loc.uint(3, frames[i].pc);
          for (std::size_t k = i; k < j; ++k) {
            ProtoWriter line;
            line.uint(1, function_id(frames[k]));
            line.uint(2, static_cast<std::uint64_t>(frames[k].line));
            loc.message(4, line);
          }
          location_msgs.message(4, loc);
        }
        ids.push_back(it->second);
        i = j;
      }
      sl = stack_locations.emplace(e.stack, std::move(ids)).first;
    }
    // Go's scaleHeapSample: an allocation of size s was sampled with probability 1 - exp(-s/rate).
    const AllocSites::Totals& t = e.totals;
    double scale = 1;
    if (rate > 1 && t.alloc_objects != 0) {
      const double avg = double(t.alloc_bytes) / double(t.alloc_objects);
      scale = 1 / (1 - std::exp(-avg / rate));
    }
    auto scaled = [&](std::uint64_t v) { return static_cast<std::uint64_t>(std::llround(double(v) * scale)); };
    ProtoWriter sample;
    sample.packed(1, sl->second);
    sample.packed(2, {scaled(t.alloc_objects), scaled(t.alloc_bytes), scaled(t.alloc_objects - t.free_objects),
                      scaled(t.alloc_bytes - t.free_bytes)});
    ProtoWriter type_label;
    type_label.uint(1, strings.index("type"));
    type_label.uint(2, strings.index(type_info(e.type_id).name));
    sample.message(3, type_label);
    if (t.alloc_objects != 0) {
      ProtoWriter bytes_label;
      bytes_label.uint(1, strings.index("bytes"));
      bytes_label.uint(3, t.alloc_bytes / t.alloc_objects);
      sample.message(3, bytes_label);
    }
    profile.message(2, sample);
  }

  for (std::size_t i = 0; i < mappings.size(); ++i) {
    ProtoWriter m;
    m.uint(1, i + 1);
    m.uint(2, mappings[i].start);
    m.uint(3, mappings[i].limit);
    m.uint(4, mappings[i].offset);
    m.uint(5, strings.index(mappings[i].file));
    m.uint(6, strings.index(mappings[i].build_id));
    // We symbolised: pprof must not try again (it would need the binaries).
    m.boolean(7, true);
    m.boolean(8, true);
    m.boolean(9, true);
    m.boolean(10, true);
    profile.message(3, m);
  }
  profile.bytes_raw(location_msgs.str());
  profile.bytes_raw(function_msgs.str());

  const std::uint64_t period_unit = strings.index("space");
  const std::uint64_t bytes_unit = strings.index("bytes");
  std::vector<std::uint64_t> comments;
  if (!leak_state(h).sites.enabled())
    comments.push_back(strings.index("tricolor: allocation sites are off (Config::alloc_sites, TRICOLOR_ALLOC_SITES)"));
  const std::uint64_t default_type = strings.index("inuse_space");
  for (const std::string& s : strings.strings()) profile.bytes(6, s);
  profile.uint(9, static_cast<std::uint64_t>(
                      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                          .count()));
  ProtoWriter period_type;
  period_type.uint(1, period_unit);
  period_type.uint(2, bytes_unit);
  profile.message(11, period_type);
  profile.uint(12, leak_state(h).sites.rate());
  for (std::uint64_t c : comments) {
    profile.tag(13, 0);
    profile.varint(c);
  }
  profile.uint(14, default_type);
  return profile.str();
}

}  // namespace internal

std::string Heap::heap_profile() { return internal::encode_heap_profile(*impl_); }

bool Heap::write_heap_profile(const std::string& path) {
  const std::string data = heap_profile();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace tricolor
