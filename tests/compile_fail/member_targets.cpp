// Compiled by tests/compile_fail.py once per CASE: CASE 0 must compile (the control: the snippet is
// otherwise valid), every other CASE must fail with Member's static_assert.
#include "tricolor/tricolor.hpp"

struct Iface {
  virtual ~Iface() = default;
  virtual int f() const = 0;
};
struct Named {
  virtual ~Named() = default;
  virtual const char* name() const = 0;
};
// cppgc's mixin: Iface is not the first dynamic base, so an Iface* points into the middle of the object.
struct Impl : tricolor::Object<Impl>, Named, Iface {
  const char* name() const override { return "impl"; }
  int f() const override { return 1; }
  void trace(tricolor::Tracer&) const {}
};
struct NotAnObject {
  virtual ~NotAnObject() = default;
};
struct Holder : tricolor::Object<Holder> {
#if CASE == 0
  tricolor::Member<Impl> impl;  // hold the object by its own type
  tricolor::Member<char> text;  // and buffers by their element type
#elif CASE == 1
  tricolor::Member<Iface> impl;
#elif CASE == 2
  tricolor::Member<NotAnObject> impl;
#endif
  void trace(tricolor::Tracer& t) const { t.trace(impl, "impl"); }
};

void store(Holder* h, Impl* obj) {
#if CASE == 0
  h->impl = obj;
  h->text = nullptr;
#elif CASE == 1
  h->impl = obj;  // Impl* -> Iface*: interior
#elif CASE == 2
  h->impl = nullptr;
#endif
}
