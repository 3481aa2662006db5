#!/usr/bin/env python3
"""Lists atomic operations in gc/ and include/tricolor/internal/ that do not say why their memory
order is enough (issue 13: "every atomic says why its memory order is enough").

An operation is any call with an explicit std::memory_order, and any .load()/.store()/RMW call,
++/--/compound or plain assignment on a member declared std::atomic (an implicit seq_cst). It has a
reason when one of these holds:
  - a comment on its line, or in the lines just above it (up to the previous blank line, closing brace
    at column 0, or 10 lines), names an order followed by a colon within a few words:
    "relaxed: ...", "acquire: pairs with ...", "acq_rel, more than needed ...:", "seq_cst: ...";
  - the atomic it operates on has such a reason at its declaration (the comment block above the
    declaration, or above the group of atomic declarations it belongs to), or an "Orders:" note there.
Usage: check_atomic_orders.py [ROOT]   (exit status 1 and one line per operation when any lacks one)
"""
import pathlib
import re
import sys

ORDER = r"(?:relaxed|acquire|release|acq_rel|seq_cst)"
# "relaxed:", "acquire (seq_cst):", "relaxed fetch_or:", "acq_rel, more than needed, once per span:",
# "Orders:" -- an order word, then a colon before the sentence ends.
REASON = re.compile(r"\b(?:" + ORDER + r"\b[^.;:\n]{0,60}:|[Oo]rders:)", re.IGNORECASE)
OPS = r"(?:load|store|exchange|fetch_add|fetch_sub|fetch_or|fetch_and|fetch_xor|compare_exchange_weak|compare_exchange_strong|wait)"
EXPLICIT = re.compile(r"\bstd::memory_order_\w+")
CALL = re.compile(r"([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*(?:\.|->)\s*" + OPS + r"\s*\(")
# A declaration of an atomic (member, global, static): the line starts with the type. Local references
# (std::atomic<T>& w = ...) are aliases: operations through them need a reason on their own line.
DECL = re.compile(r"^\s*(?:(?:static|extern|inline|mutable|TRICOLOR_API|alignas\(\w+\))\s+)*std::atomic<[^;{&]*?>\s*\*?\s*"
                  r"([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*(?:[{=;]|$)")
LOOKBACK = 10


def comment_of(line):
    i = line.find("//")
    return line[i:] if i >= 0 else ""


def code_of(line):
    i = line.find("//")
    return line[:i] if i >= 0 else line


def has_reason_above(lines, i):
    """A reason on line i or in the comment lines just above it (same statement group)."""
    if REASON.search(comment_of(lines[i])):
        return True
    for j in range(i - 1, max(-1, i - 1 - LOOKBACK), -1):
        s = lines[j].strip()
        if s == "" or lines[j].startswith("}"):
            return False
        if REASON.search(comment_of(lines[j])):
            return True
    return False


def declaration_reasons(files):
    """Names of atomics whose declaration carries a reason, and all atomic names."""
    reasoned, names = set(), set()
    for path, lines in files.items():
        for i, line in enumerate(lines):
            m = DECL.search(code_of(line))
            if not m:
                continue
            name = m.group(1)
            names.add(name)
            if REASON.search(comment_of(line)):
                reasoned.add(name)
                continue
            # Walk up over the comment block and the other atomic declarations of the same group.
            j = i - 1
            while j >= 0:
                s = lines[j].strip()
                if s.startswith("//"):
                    if REASON.search(s):
                        reasoned.add(name)
                        break
                elif DECL.search(code_of(lines[j])):
                    pass  # another atomic of the same group: the group's comment covers it
                else:
                    break
                j -= 1
    return reasoned, names


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    paths = sorted(list((root / "gc").glob("*.cpp")) + list((root / "gc").glob("*.hpp")) +
                   list((root / "include" / "tricolor" / "internal").glob("*.hpp")))
    # Atomics declared in the public headers are operated on in gc/ too (Weak, Global, Member slots).
    decl_paths = paths + sorted((root / "include" / "tricolor").glob("*.hpp"))
    files = {p: p.read_text().splitlines() for p in decl_paths}
    reasoned, names = declaration_reasons(files)
    # Names also declared as something else (Span::next and a static atomic `next`, a bool stop_) are
    # left out of the operator check: without types, `s->next = p` would read as an atomic store.
    plain = set()
    for lines in files.values():
        for line in lines:
            code = code_of(line)
            if "std::atomic" in code:
                continue
            for m in re.finditer(r"(?:\b(?:bool|char|int|unsigned|auto|std::\w+|[A-Z]\w*)\s*[*&]?\s+)([A-Za-z_]\w*)"
                                 r"\s*(?:\[[^\]]*\])?\s*(?:[={;,)]|$)", code):
                plain.add(m.group(1))
    # A pointer to atomics (the page table) is itself a plain pointer: assigning it is no operation.
    pointers = {m.group(1) for lines in files.values() for line in lines
                if (m := DECL.search(code_of(line))) and re.search(r">\s*\*", code_of(line))}
    typed = names - plain
    assignable = typed - pointers
    name_alt = "|".join(sorted(re.escape(n) for n in assignable)) or "(?!)"
    implicit_op = re.compile(r"(?:^|[^\w.>])((?:[\w\]]+\s*(?:\.|->)\s*)?)(" + name_alt + r")\s*(?:\[[^\]]*\])?\s*"
                             r"(?:\+\+|--|[-+|&^]=|=(?!=))|(?:\+\+|--)\s*(?:[\w\]]+\s*(?:\.|->)\s*)?(" + name_alt + r")\b")
    missing = []
    for path in paths:
        lines = files[path]
        for i, line in enumerate(lines):
            code = code_of(line)
            if "std::memory_order mo" in code:
                continue  # a parameter that passes an order through
            targets = []
            if EXPLICIT.search(code):
                targets = [m.group(1) for m in CALL.finditer(code)] or ["?"]
            else:
                for m in CALL.finditer(code):
                    if m.group(1) in typed:
                        targets.append(m.group(1))  # an implicit seq_cst call
                if not targets and typed and not DECL.search(code):
                    m = implicit_op.search(code)
                    if m:
                        targets.append(m.group(2) or m.group(3))
            if not targets:
                continue
            if has_reason_above(lines, i):
                continue
            if all(t in reasoned for t in targets):
                continue
            missing.append(f"{path.relative_to(root)}:{i + 1}: {line.strip()}")
    for m in missing:
        print(m)
    if missing:
        print(f"{len(missing)} atomic operation(s) without a reason for their memory order "
              "(a 'relaxed: ...'/'acquire: pairs with ...' comment above, or at the atomic's declaration)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
