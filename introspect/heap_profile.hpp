// A heap profile in pprof's format (github.com/google/pprof, proto/profile.proto), written by hand:
// the format is a handful of protobuf messages, so a varint writer is all it takes, and the file
// loads in `go tool pprof` uncompressed (pprof accepts gzip or not).
//
// Contents, as Go's runtime heap profile: sample types alloc_objects/count, alloc_space/bytes,
// inuse_objects/count, inuse_space/bytes (inuse_space is the default); one sample per (allocation
// stack, object type), labelled type=<name> and bytes=<average object size>; period_type space/bytes
// with period = Config::alloc_sites. Values are the sampled totals scaled up by the inverse of each
// sample's probability (Go's scaleHeapSample); with alloc_sites = 1 every allocation is recorded and
// the values are exact. Locations carry the frames we symbolised (inlined ones included) and the
// mapping says so (has_functions...), so pprof needs neither the binary nor symbols.
//
// In-use numbers are as of a full collection that the writer runs first (Go's are as of the last
// cycle); alloc numbers count every sampled allocation since the heap was created.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tricolor::internal {

class HeapImpl;

std::string encode_heap_profile(HeapImpl& h);

// Protobuf wire format, the subset profile.proto needs.
class ProtoWriter {
 public:
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7F) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  void tag(int field, int wire) { varint(static_cast<std::uint64_t>(field) << 3 | static_cast<std::uint64_t>(wire)); }
  // Scalar fields are omitted when zero (proto3 defaults), as protobuf's own encoders do.
  void uint(int field, std::uint64_t v) {
    if (v == 0) return;
    tag(field, 0);
    varint(v);
  }
  void boolean(int field, bool v) { uint(field, v ? 1 : 0); }
  void bytes(int field, const std::string& b) {
    tag(field, 2);
    varint(b.size());
    out_ += b;
  }
  void message(int field, const ProtoWriter& m) { bytes(field, m.out_); }
  // A packed repeated varint field.
  void packed(int field, const std::vector<std::uint64_t>& vs) {
    if (vs.empty()) return;
    ProtoWriter p;
    for (std::uint64_t v : vs) p.varint(v);
    bytes(field, p.out_);
  }
  // Fields encoded by another writer (repeated messages gathered separately).
  void bytes_raw(const std::string& encoded) { out_ += encoded; }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

}  // namespace tricolor::internal
