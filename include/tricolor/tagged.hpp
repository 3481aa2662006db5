// Tagged values: heap slots that hold one machine word which is either an immediate (a fixnum, a
// NaN-boxed double, a constant) or an encoded pointer to a heap object. TaggedMember<Policy> is
// Member<T> for such words: every store goes through the same hybrid write barrier (shade the old
// target, and the new one while this thread's roots are unscanned: gc/write_barrier.cpp), applied
// to the decoded pointers.
//
// The Policy is a type with
//     static const void* decode(std::uintptr_t word) noexcept;   // the object, or null
// returning the object's start (what make<>() returned) for a pointer word and null for an
// immediate, and null for 0 (what a zeroed field holds). It must be pure and cheap: it runs in the
// barrier while a heap marks, and on marker threads for every traced field.
//
// The rules (docs/embedding.md, "Tagged values"):
//  - A tagged value is ONE word, read and written atomically. A two-word {tag, payload} union tears
//    under concurrent marking: a marker can pair a new tag with an old payload and trace an integer
//    as a pointer, or miss the pointer. Box what does not fit in a word.
//  - trace() visits every TaggedMember with t.trace(...) through member.trace(t, "name").
//  - A VM that stores words itself (its own atomic store) calls tricolor::write_barrier(old, new)
//    with the decoded old and new targets right before that store, with no safepoint in between.
#pragma once
#include "tricolor/internal/api.hpp"
#include <atomic>
#include <concepts>
#include <cstdint>

#include "tricolor/internal/fast_path.hpp"
#include "tricolor/tracer.hpp"

namespace tricolor {

template <class P>
concept TagPolicy = requires(std::uintptr_t w) {
  { P::decode(w) } -> std::convertible_to<const void*>;
};

// The hybrid barrier for a store that replaces old_target by new_target (decoded object pointers, or
// null) in a heap slot that the caller writes itself, atomically, right after. One relaxed load and a
// predictable branch while no heap marks.
inline void write_barrier(const void* old_target, const void* new_target) {
#if TC_DCHECK_IS_ON
  internal::debug_check_heap_pointer(new_target, "tricolor::write_barrier");
#endif
  internal::write_barrier(old_target, new_target);
}

template <TagPolicy Policy>
class TaggedMember {
 public:
  using Word = std::uintptr_t;

  TaggedMember() noexcept = default;
  explicit TaggedMember(Word w) { store(w); }
  TaggedMember(const TaggedMember& other) { store(other.load()); }
  TaggedMember& operator=(const TaggedMember& other) {
    store(other.load());
    return *this;
  }
  TaggedMember& operator=(Word w) {
    store(w);
    return *this;
  }

  // acquire: pairs with the release in store(), so a pointer read here sees its object's contents.
  Word load() const { return word_.load(std::memory_order_acquire); }
  // The object the word refers to, or null for an immediate.
  const void* target() const { return Policy::decode(load()); }

  void store(Word w) {
#if TC_DCHECK_IS_ON
    internal::debug_check_heap_pointer(Policy::decode(w), "tricolor::TaggedMember");
#endif
    if (internal::g_barrier_active.load(std::memory_order_relaxed)) [[unlikely]]
      // acquire, as in Member::store: the old target may go to a marker, which reads its fields.
      internal::write_barrier_marking(Policy::decode(word_.load(std::memory_order_acquire)), Policy::decode(w));
    word_.store(w, std::memory_order_release);  // pairs with the acquire in load()
  }

  // For trace(): visits the decoded target, if any.
  void trace(Tracer& t, const char* field = nullptr) const {
    const void* p = Policy::decode(load());
    if (p != nullptr) t.trace(p, field);
  }

 private:
  std::atomic<Word> word_{0};
};

}  // namespace tricolor
