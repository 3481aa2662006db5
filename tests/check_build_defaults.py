#!/usr/bin/env python3
"""Installs must be fast (issues 10 and 15): configures the project three ways in fresh build
directories and checks what an install would ship.

  default options          release build, NDEBUG, no debug checks in the library, none in tricolor.pc
  -Dbuildtype=debug        debug checks in the library (auto), still none in tricolor.pc
  -Ddebug_checks=enabled   the user asked: debug checks in the library and in tricolor.pc

tricolor.pc is generated at configure time (meson-private/tricolor.pc, the file `meson install`
copies), and `meson introspect --targets` gives the flags each library source is compiled with, so
nothing needs to be built. Usage: check_build_defaults.py MESON SOURCE_ROOT
"""
import json
import os
import subprocess
import sys
import tempfile

DEFINE = "TRICOLOR_DEBUG_CHECKS"


def configure(meson, source, build, *options):
    cmd = [meson, "setup", build, source, "-Dtests=false", "-Dbench=false", "-Dexamples=false", *options]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited with {proc.returncode}:\n{proc.stdout}")


def pc_cflags(build):
    path = os.path.join(build, "meson-private", "tricolor.pc")
    with open(path) as f:
        for line in f:
            if line.startswith("Cflags:"):
                return line[len("Cflags:"):].split()
    sys.exit(f"FAIL: {path} has no Cflags line")


def library_flags(meson, build):
    """The compiler arguments of the tricolor library's C++ sources (those of its core part: the
    library is linked whole from static parts, ../meson.build, all compiled with the same flags)."""
    out = subprocess.run([meson, "introspect", build, "--targets"], stdout=subprocess.PIPE, text=True, check=True)
    for target in json.loads(out.stdout):
        if target["name"] in ("tricolor", "tricolor_core") and target["type"].endswith("library"):
            for source in target["target_sources"]:
                if source["language"] == "cpp":
                    return source["parameters"]
    sys.exit(f"FAIL: no C++ sources of the tricolor library in {build}")


def buildoption(meson, build, name):
    out = subprocess.run([meson, "introspect", build, "--buildoptions"], stdout=subprocess.PIPE, text=True, check=True)
    for option in json.loads(out.stdout):
        if option["name"] == name:
            return option["value"]
    sys.exit(f"FAIL: no build option {name} in {build}")


failures = []


def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def has_define(flags):
    return any(DEFINE in f for f in flags)


def main():
    meson, source = sys.argv[1], sys.argv[2]
    # A user's compiler settings are not what is under test; the project's defaults are.
    env_free = {k: v for k, v in os.environ.items() if k not in ("CFLAGS", "CXXFLAGS", "LDFLAGS")}
    os.environ.clear()
    os.environ.update(env_free)
    with tempfile.TemporaryDirectory(prefix="tricolor-defaults-") as tmp:
        default = os.path.join(tmp, "default")
        configure(meson, source, default)
        flags = library_flags(meson, default)
        expect(buildoption(meson, default, "buildtype") == "release", "the default build type is release")
        expect("-DNDEBUG" in flags, "the default build compiles the library with -DNDEBUG (b_ndebug=if-release)")
        expect(not has_define(flags), "the default build compiles the library without debug checks")
        expect(not has_define(pc_cflags(default)), "the default build's tricolor.pc has no " + DEFINE)

        debug = os.path.join(tmp, "debug")
        configure(meson, source, debug, "-Dbuildtype=debug")
        flags = library_flags(meson, debug)
        expect(has_define(flags), "a debug build compiles the library with debug checks")
        expect("-DNDEBUG" not in flags, "a debug build keeps assert()")
        expect(not has_define(pc_cflags(debug)), "a debug build's tricolor.pc still has no " + DEFINE)

        asked = os.path.join(tmp, "asked")
        configure(meson, source, asked, "-Ddebug_checks=enabled")
        expect(has_define(library_flags(meson, asked)), "-Ddebug_checks=enabled compiles the library with debug checks")
        expect("-D" + DEFINE + "=1" in pc_cflags(asked), "-Ddebug_checks=enabled puts " + DEFINE + " into tricolor.pc")
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")


if __name__ == "__main__":
    main()
