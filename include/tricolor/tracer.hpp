// The Tracer visits the pointer fields of one object. A traced type defines
//     void trace(tricolor::Tracer& t) const { t.trace(left_, "left"); t.trace(right_, "right"); }
// visiting every Member (and Weak) it holds. Field names are optional; leak reports print them in
// retention paths. trace() may run on a marker thread while mutators store into the object, so it
// must read only Members (atomic) and fields that never change after construction (e.g. the length
// of a trailing array, set before the constructor allocates anything).
//
// The marking tracer is the hot one (every reachable field, every cycle): it lends trace() a buffer
// (sink_next_/sink_end_), and trace() appends each non-null pointer there with no indirect call; the
// collector shades the buffer after the object's trace() returns. Every other tracer (leak checks,
// heap walks, the verifier, snapshots, embedders' own) leaves the sink empty, and each pointer goes
// to the virtual visit() as always. A full buffer also goes through visit(), which empties it.
#pragma once
#include "tricolor/internal/api.hpp"
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tricolor {

template <class T>
class Member;
template <class T>
class Weak;

namespace internal {
struct WeakSlot;
}

class TRICOLOR_API Tracer {
 public:
  static constexpr std::size_t kNoIndex = SIZE_MAX;

  template <class T>
  void trace(const Member<T>& m, const char* field = nullptr) {
    if (const void* p = m.get_for_tracing()) emit(p, field, kNoIndex);
  }
  // Raw pointers, for root callbacks that trace an interpreter's own stacks and tables.
  template <class T>
  void trace(T* const& p, const char* field = nullptr) {
    if (p != nullptr) emit(p, field, kNoIndex);
  }
  template <class T>
  void trace_array(const Member<T>* items, std::size_t n, const char* field = nullptr) {
    for (std::size_t i = 0; i < n; ++i)
      if (const void* p = items[i].get_for_tracing()) emit(p, field, i);
  }
  template <class T>
  void trace(const Weak<T>& w, const char* field = nullptr) {
    visit_weak(w.slot_for_tracing(), field);
  }
  // An ephemeron: `value` is kept alive only while `key` is (weak hash tables).
  template <class K, class V>
  void trace_ephemeron(const Weak<K>& key, const Member<V>& value, const char* field = nullptr) {
    visit_ephemeron(key.slot_for_tracing(), value.slot_for_tracing(), field);
  }

  // obj is a payload address returned by make<>() (never null here).
  virtual void visit(const void* obj, const char* field, std::size_t index) = 0;
  // Default: a weak reference is not followed (marking); path finders may override.
  virtual void visit_weak(internal::WeakSlot*, const char*) {}
  // value_slot is the value Member's storage. Default: follow the value if the key is set (tracers
  // that do not compute liveness, e.g. path printers).
  virtual void visit_ephemeron(internal::WeakSlot* key, std::atomic<const void*>* value_slot, const char* field);

 protected:
  ~Tracer() = default;

  // The sink (see the top of this file): [sink_next_, sink_end_) is free buffer space. Equal (both
  // null by default) means "no sink": every pointer goes to visit().
  const void** sink_next_ = nullptr;
  const void** sink_end_ = nullptr;

 private:
  void emit(const void* p, const char* field, std::size_t index) {
    if (sink_next_ != sink_end_) [[likely]] {
      *sink_next_++ = p;
      return;
    }
    visit(p, field, index);
  }
};

}  // namespace tricolor
