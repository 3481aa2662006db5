#!/usr/bin/env python3
"""Every route of README "Using tricolor in your project", built and run (issue 15).

  1. meson subproject  tests/consumers/meson: a parent project that does not default to C++20, with
                       tricolor at subprojects/tricolor. Builds the library once (static and shared),
                       and nothing else of tricolor; the parent's `meson install` installs it into a
                       temporary prefix, which the other routes use.
  2. pkg-config, C++   the README's command line, against the shared library, with
                       -Wall -Wextra -Wshadow -Wconversion -Werror; headers.cpp, which instantiates
                       every template of the API, compiled the same way (and -Wsign-conversion, with
                       and without the debug checks); a C++17 compile stops at the one C++20 error.
  3. pkg-config, C     the README's command line (C99, -Wpedantic too), against the shared library
                       and, with the shared one moved away, against the static library: with
                       `pkg-config --static --libs` for this both-libraries install, and with exactly
                       `pkg-config --libs` for the tricolor.pc of a static-only install (the default),
                       which a configure of the source tree for the same prefix generates.
  4. CMake             tests/consumers/cmake: find_package(tricolor) and tricolor::tricolor from C++
                       and C, shared and static; then the static-only package the same way.
Each program allocates, collects and checks what survived (main.cpp, main.c). The shared library is
checked too: its soname, and that it exports the C and C++ API (what include/ marks TRICOLOR_API,
every public out-of-line function) and hides the collector's internals.

Exits 77 (skipped) when cmake is missing; tools/setup installs it.
Usage: check_consumers.py MESON SOURCE_ROOT CC_JSON CXX_JSON
"""
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
WARNINGS_CXX = "-Wall -Wextra -Wshadow -Wconversion -Werror"
WARNINGS_C = "-Wall -Wextra -Wshadow -Wconversion -Wpedantic -Werror"
# The README's command lines, run as written (cc and c++ are the build's compilers here).
README_CXX = "c++ -std=c++20 main.cpp $(pkg-config --cflags --libs tricolor) -o app"
README_C = "cc -std=c99 main.c $(pkg-config --cflags --libs tricolor) -o app"
README_C_STATIC = "cc -std=c99 main.c $(pkg-config --cflags --libs --static tricolor) -o app"
README_SETUP = "meson setup build-install --prefix=/usr/local -Dtests=false -Dbench=false -Dexamples=false"
README_INSTALL = "meson install -C build-install"
CMAKE_TEST_ONLY = "# The test suite's extra checks"

failures = []


def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def run(cmd, cwd=None, env=None, shell=False, check=True):
    shown = cmd if shell else " ".join(shlex.quote(c) for c in cmd)
    print(f"$ {shown}", flush=True)
    proc = subprocess.run(cmd, cwd=cwd, env=env, shell=shell, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if check and proc.returncode != 0:
        print(proc.stdout)
        sys.exit(f"FAIL: exited with {proc.returncode}: {shown}")
    return proc


def run_program(path, env, what):
    proc = run([path], env=env, check=False)
    print(proc.stdout.rstrip())
    expect(proc.returncode == 0, f"{what}: runs and finds what it kept (exit {proc.returncode})")


def needed(path):
    out = run(["readelf", "-d", path]).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def project_version(source):
    with open(os.path.join(source, "meson.build")) as f:
        return re.search(r"version:\s*'([^']+)'", f.read()).group(1)


def read(path):
    with open(path) as f:
        return f.read()


def check_readme(source):
    readme = read(os.path.join(source, "README.md"))
    expect("## Using tricolor in your project" in readme, 'README has the section "Using tricolor in your project"')
    meson_build = read(os.path.join(HERE, "meson", "meson.build"))
    expect(meson_build in readme, "README shows tests/consumers/meson/meson.build as it is")
    cmake_lists = read(os.path.join(HERE, "cmake", "CMakeLists.txt"))
    cmake_shown = cmake_lists[:cmake_lists.index(CMAKE_TEST_ONLY)].rstrip() + "\n"
    expect(cmake_shown in readme, "README shows tests/consumers/cmake/CMakeLists.txt (up to the test's extras) as it is")
    for line in (README_SETUP, README_INSTALL, README_CXX, README_C, README_C_STATIC):
        expect(line in readme, f"README shows `{line}`")


def with_compiler(line, cc, cxx, extra):
    """A README command line with `cc`/`c++` replaced by the build's compiler and `extra` flags added."""
    tool, rest = line.split(" ", 1)
    compiler = cxx if tool == "c++" else cc
    return " ".join(shlex.quote(c) for c in compiler) + " " + extra + " " + rest


def check_exports(so, static_lib, source):
    """The shared library exports the C API, the C++ API and nothing of the collector's internals."""
    def symbols(args):
        return [line.split(" ", 2) for line in run(["nm", "-D", "--defined-only"] + args + [so]).stdout.splitlines()
                if line.count(" ") >= 2]
    exported = {}  # demangled name -> (nm type, mangled name)
    for (_, kind, mangled), (_, _, name) in zip(symbols([]), symbols(["-C"])):
        exported[name] = (kind, mangled)
    names = set(exported)

    # Every function and variable that tricolor.h declares (marked TRICOLOR_API or not: a declaration
    # without the mark is the mistake this finds).
    header = read(os.path.join(source, "include", "tricolor", "tricolor.h"))
    c_functions = set(re.findall(r"^(?!static\b|typedef\b|#)[A-Za-z_][\w \*]*?\b(tc_\w+)\s*\(", header, re.M))
    c_variables = set(re.findall(r"^extern\s+(?!\")[^;(]*?\b(tc_\w+)\s*;", header, re.M))
    missing = sorted(f for f in c_functions if exported.get(f, ("",))[0] != "T")
    missing += sorted(v for v in c_variables if v not in exported)
    expect(len(c_functions) > 40 and c_variables and not missing,
           f"the {len(c_functions)} functions and {len(c_variables)} variables of tricolor.h are exported"
           + (f" (missing: {', '.join(missing)})" if missing else ""))

    # Every out-of-line definition of the C++ API (namespace tricolor, outside tricolor::internal):
    # read from the static library, where nothing is hidden from nm.
    public = set()
    for line in run(["nm", "-C", "--defined-only", static_lib]).stdout.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "TDBR" and parts[2].startswith("tricolor::") \
                and not parts[2].startswith("tricolor::internal::"):
            public.add(parts[2])
    missing = sorted(public - names)
    expect(len(public) > 30 and not missing, f"the {len(public)} out-of-line functions of the C++ API are exported"
           + (f" (missing: {missing[:5]})" if missing else ""))

    # What include/ marks TRICOLOR_API in tricolor::internal (the entry points of inline code).
    marked = set()
    for path in glob.glob(os.path.join(source, "include", "tricolor", "**", "*.hpp"), recursive=True):
        text = read(path)
        marked |= set(re.findall(r"TRICOLOR_API\s[^;{]*?\b(\w+)\s*\(", text))   # functions
        marked |= set(re.findall(r"TRICOLOR_API\s[^;{(]*?\b(\w+);", text))      # variables
        marked |= set(re.findall(r"(?:class|struct)\s+TRICOLOR_API\s+(\w+)", text))  # classes
    internal_entities = {re.match(r"tricolor::internal::(\w+)", n).group(1)
                         for n in names if n.startswith("tricolor::internal::")}
    expect(internal_entities and internal_entities <= marked,
           "tricolor::internal exports only what include/ marks TRICOLOR_API"
           + (f" (also: {sorted(internal_entities - marked)})" if not internal_entities <= marked else ""))
    unmarked = sorted(m for m in marked if m not in internal_entities and not any(
        re.search(r"\b" + m + r"\b", n) for n in names))
    expect(not unmarked, "everything include/ marks TRICOLOR_API is exported"
           + (f" (missing: {unmarked})" if unmarked else ""))

    # Nothing else: the C API, namespace tricolor with its type information, and the standard
    # library's own template instantiations, weak or unique, whatever their arguments: libstdc++
    # declares namespace std (and __gnu_cxx) with default visibility, and clang, unlike GCC, does not
    # narrow an instantiation's visibility to its arguments' (more of them at -O0).
    def allowed(name, kind, mangled):
        if name.startswith("tc_") or name.startswith("tricolor::"):
            return True
        if re.match(r"(typeinfo|typeinfo name|vtable) for tricolor::", name):
            return True
        return kind in "WVu" and re.match(r"_ZZ?(N[KVRO]*)?(St|9__gnu_cxx)|_ZZ?NK?St", mangled) is not None
    stray = sorted(n for n, (k, m) in exported.items() if not allowed(n, k, m))
    expect(not stray, "nothing else is exported" + (f" (also: {stray[:8]})" if stray else ""))
    for internal in ("HeapImpl", "Marker", "PageHeap", "Sweeper", "Pacer"):
        # A member of the class (not a standard container's instantiation that only names it).
        own = re.compile(r"_ZZ?(T[VIS])?N[KVRO]*8tricolor8internal" + str(len(internal)) + internal)
        leaked = sorted(n for n, (_, m) in exported.items() if own.match(m))
        expect(not leaked, f"the collector's internals are hidden (tricolor::internal::{internal})"
               + (f" (exported: {leaked[:3]})" if leaked else ""))


def main():
    meson, source = sys.argv[1], os.path.abspath(sys.argv[2])
    cc, cxx = json.loads(sys.argv[3]), json.loads(sys.argv[4])
    if shutil.which("cmake") is None:
        print("SKIP: cmake is not installed (tools/setup installs it); the CMake route cannot be checked")
        sys.exit(77)
    for tool in ("pkg-config", "readelf", "nm"):
        if shutil.which(tool) is None:
            sys.exit(f"FAIL: {tool} is not installed (tools/setup installs it)")
    version = project_version(source)
    major, minor = version.split(".")[:2]
    soversion = f"0.{minor}" if major == "0" else major
    check_readme(source)

    env = {k: v for k, v in os.environ.items() if k not in ("CFLAGS", "CXXFLAGS", "LDFLAGS", "PKG_CONFIG_PATH",
                                                           "CMAKE_PREFIX_PATH", "LD_LIBRARY_PATH")}
    env["CC"] = " ".join(shlex.quote(c) for c in cc)
    env["CXX"] = " ".join(shlex.quote(c) for c in cxx)
    jobs = ["-j", os.environ["TRICOLOR_TEST_JOBS"]] if os.environ.get("TRICOLOR_TEST_JOBS") else []

    with tempfile.TemporaryDirectory(prefix="tricolor-consumers-") as tmp:
        prefix = os.path.join(tmp, "prefix")

        # 1. The meson subproject, which also builds what the other routes install.
        parent = os.path.join(tmp, "meson")
        shutil.copytree(os.path.join(HERE, "meson"), parent)
        shutil.copy(os.path.join(HERE, "main.cpp"), parent)
        os.mkdir(os.path.join(parent, "subprojects"))
        os.symlink(source, os.path.join(parent, "subprojects", "tricolor"))
        build = os.path.join(parent, "build")
        run([meson, "setup", build, parent, "--prefix", prefix, "--force-fallback-for=tricolor",
             "-Dtricolor:default_library=both"], env=env)
        targets = json.loads(run([meson, "introspect", build, "--targets"], env=env).stdout)
        of_tricolor = sorted(t["name"] for t in targets if t["subproject"] == "tricolor")
        kinds = {t["type"] for t in targets if t["subproject"] == "tricolor"}
        # The library, static and shared, and the static parts it is made of (core, C API, introspection):
        # no test, benchmark or example.
        parts = {"tricolor_core", "tricolor_capi", "tricolor_introspect"}
        expect(of_tricolor.count("tricolor") == 2 and set(of_tricolor) - {"tricolor"} <= parts
               and kinds <= {"static library", "shared library"},
               f"the subproject builds the library only, static and shared (targets: {of_tricolor}, kinds: {sorted(kinds)})")
        tests = json.loads(run([meson, "introspect", build, "--tests"], env=env).stdout)
        expect(not tests, f"the subproject defines no tests ({len(tests)})")
        lib_flags = [s["parameters"] for t in targets if t["subproject"] == "tricolor"
                     for s in t["target_sources"] if s["language"] == "cpp"]
        expect(lib_flags and all("-std=c++20" in p for p in lib_flags),
               "the library is compiled as C++20 although the parent project does not default to it")
        run(["ninja", "-C", build] + jobs, env=env)
        run_program(os.path.join(build, "app"), env, "meson subproject")
        run([meson, "install", "-C", build, "--no-rebuild"], env=env)

        pcs = glob.glob(os.path.join(prefix, "**", "pkgconfig", "tricolor.pc"), recursive=True)
        if not expect(len(pcs) == 1, "meson install puts tricolor.pc into the prefix"):
            sys.exit(1)
        libdir = os.path.dirname(os.path.dirname(pcs[0]))
        pc_env = dict(env, PKG_CONFIG_PATH=os.path.dirname(pcs[0]))
        run_env = dict(pc_env, LD_LIBRARY_PATH=libdir)
        modversion = run(["pkg-config", "--modversion", "tricolor"], env=pc_env).stdout.strip()
        expect(modversion == version, f"tricolor.pc says version {modversion} ({version})")
        cflags = run(["pkg-config", "--cflags", "tricolor"], env=pc_env).stdout
        expect("TRICOLOR_DEBUG_CHECKS" not in cflags, "tricolor.pc has no debug-check define")
        version_h = read(os.path.join(prefix, "include", "tricolor", "version.h"))
        expect(f'#define TRICOLOR_VERSION_STRING "{version}"' in version_h, "the installed version.h says " + version)

        so = os.path.join(libdir, f"libtricolor.so.{version}")
        static_lib = os.path.join(libdir, "libtricolor.a")
        expect(os.path.isfile(so) and os.path.isfile(static_lib), "both libraries are installed")
        soname = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", run(["readelf", "-d", so]).stdout)
        expect(soname is not None and soname.group(1) == f"libtricolor.so.{soversion}",
               f"the shared library's soname is libtricolor.so.{soversion}")
        expect(os.path.islink(os.path.join(libdir, f"libtricolor.so.{soversion}")), "the soname link is installed")
        check_exports(so, static_lib, source)

        # 2. and 3. pkg-config, C++ and C, against the shared library.
        work = os.path.join(tmp, "pkgconfig")
        os.mkdir(work)
        shutil.copy(os.path.join(HERE, "main.cpp"), work)
        shutil.copy(os.path.join(HERE, "main.c"), work)
        app = os.path.join(work, "app")
        for line, what, extra in ((README_CXX, "pkg-config, C++, shared", WARNINGS_CXX),
                                  (README_C, "pkg-config, C, shared", WARNINGS_C)):
            run(with_compiler(line, cc, cxx, extra), cwd=work, env=pc_env, shell=True)
            expect(f"libtricolor.so.{soversion}" in needed(app), f"{what}: the program needs libtricolor.so.{soversion}")
            run_program(app, run_env, what)
            os.remove(app)
        shutil.copy(os.path.join(HERE, "headers.cpp"), work)
        for define in ("", "-DTRICOLOR_DEBUG_CHECKS=1"):
            proc = run(" ".join(shlex.quote(c) for c in cxx) + f" -std=c++20 {WARNINGS_CXX} -Wsign-conversion {define}"
                       " -c headers.cpp $(pkg-config --cflags tricolor) -o headers.o", cwd=work, env=pc_env, shell=True,
                       check=False)
            print(proc.stdout.rstrip())
            expect(proc.returncode == 0, "every template of the C++ API compiles warning-free"
                   f" ({WARNINGS_CXX} -Wsign-conversion{' ' + define if define else ''})")
        old = run(with_compiler(README_CXX.replace("-std=c++20", "-std=c++17"), cc, cxx, "-c").replace("-o app", "-o app.o"),
                  cwd=work, env=pc_env, shell=True, check=False)
        print(old.stdout.rstrip())
        errors = [line for line in old.stdout.splitlines() if "error" in line and ("error:" in line or "#error" in line)]
        first = [line for line in errors if "needs C++20" in line]
        rest = [line for line in errors if "needs C++20" not in line and "stop-here-C++20-required" not in line]
        expect(old.returncode != 0 and len(first) >= 1 and not rest,
               "a C++17 compile stops with the one C++20 message" + ("" if not rest else f" (also: {rest[:3]})"))

        # 4. CMake, against the shared library (tricolor::tricolor) and the static one.
        def cmake_route(find_args, what, expect_static):
            src = os.path.join(tmp, "cmake-src")
            if not os.path.isdir(src):
                shutil.copytree(os.path.join(HERE, "cmake"), src)
                shutil.copy(os.path.join(HERE, "main.cpp"), src)
                shutil.copy(os.path.join(HERE, "main.c"), src)
            cbuild = os.path.join(tmp, "cmake-build-" + what.replace(" ", "-"))
            generator = ["-G", "Ninja"] if shutil.which("ninja") else []
            run(["cmake", "-S", src, "-B", cbuild, *generator, *find_args,
                 f"-DEXPECTED_VERSION={version}", f"-DCMAKE_C_COMPILER={cc[0]}", f"-DCMAKE_CXX_COMPILER={cxx[0]}"],
                env=env)
            run(["cmake", "--build", cbuild] + jobs, env=env)
            run_program(os.path.join(cbuild, "app"), run_env, f"CMake, C++, {what}")
            run_program(os.path.join(cbuild, "app_c"), run_env, f"CMake, C, {what}")
            static_app = os.path.join(cbuild, "app_static")
            if expect(os.path.exists(static_app) == expect_static,
                      f"CMake, {what}: tricolor::tricolor_static {'is' if expect_static else 'is not'} defined"):
                if expect_static:
                    run_program(static_app, run_env, f"CMake, C++, tricolor::tricolor_static, {what}")
            return cbuild

        cmake_dirs = glob.glob(os.path.join(libdir, "cmake", "tricolor"))
        if not expect(len(cmake_dirs) == 1 and os.path.isfile(os.path.join(cmake_dirs[0], "tricolorConfig.cmake"))
                      and os.path.isfile(os.path.join(cmake_dirs[0], "tricolorConfigVersion.cmake")),
                      "meson install puts tricolorConfig.cmake and its version file into lib/.../cmake/tricolor"):
            sys.exit(1)
        # As the README says: the prefix on CMAKE_PREFIX_PATH.
        cbuild = cmake_route([f"-DCMAKE_PREFIX_PATH={prefix}"], "both installed", True)
        expect(f"libtricolor.so.{soversion}" in needed(os.path.join(cbuild, "app")),
               "CMake: tricolor::tricolor is the shared library when both are installed")
        expect(not any("libtricolor" in n for n in needed(os.path.join(cbuild, "app_static"))),
               "CMake: tricolor::tricolor_static links the static library")

        # The static library alone: move the shared one away, as a static-only install would have it.
        hidden = os.path.join(tmp, "hidden")
        os.mkdir(hidden)
        for path in glob.glob(os.path.join(libdir, "libtricolor.so*")):
            shutil.move(path, hidden)
        run(with_compiler(README_C_STATIC, cc, cxx, WARNINGS_C), cwd=work, env=pc_env, shell=True)
        expect(not any("libtricolor" in n for n in needed(app)), "pkg-config --static, C: links the static library")
        run_program(app, run_env, "pkg-config --static, C, static library")
        os.remove(app)

        # The tricolor.pc and CMake package of a static-only install (the default) for this prefix: the
        # README's configure of the source tree generates both; nothing is built.
        static_cfg = os.path.join(tmp, "static-only")
        setup = shlex.split(README_SETUP.replace("build-install", static_cfg).replace("/usr/local", prefix))
        run([meson] + setup[1:], cwd=source, env=env)
        static_pc_env = dict(env, PKG_CONFIG_PATH=os.path.join(static_cfg, "meson-private"))
        libs = run(["pkg-config", "--libs", "tricolor"], env=static_pc_env).stdout.split()
        print("static-only tricolor.pc: Libs:", " ".join(libs))
        for line, what, extra in ((README_C, "C", WARNINGS_C), (README_CXX, "C++", WARNINGS_CXX)):
            run(with_compiler(line, cc, cxx, extra), cwd=work, env=static_pc_env, shell=True)
            expect(not any("libtricolor" in n for n in needed(app)),
                   f"static-only install, {what}: `pkg-config --libs tricolor` links the static library")
            run_program(app, run_env, f"static-only install, pkg-config --libs, {what}")
            os.remove(app)
        cbuild = cmake_route([f"-Dtricolor_DIR={os.path.join(static_cfg, 'cmake')}"], "static only", True)
        expect(not any("libtricolor" in n for n in needed(os.path.join(cbuild, "app"))),
               "CMake, static-only install: tricolor::tricolor is the static library")

    if failures:
        sys.exit(f"{len(failures)} check(s) failed")


if __name__ == "__main__":
    main()
