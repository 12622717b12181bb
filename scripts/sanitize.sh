#!/usr/bin/env bash
# Build the native core (_core) with AddressSanitizer + UndefinedBehaviorSanitizer and run the
# convolution kernel tests against that build.
#
# Usage (from anywhere, with the Python environment that has numpy, scikit-learn, pytest,
# hypothesis and pybind11 active):
#     scripts/sanitize.sh [extra pytest arguments]
#
# Environment:
#     PYTHON       interpreter to use (default: python3, or python when python3 is absent)
#     BUILD_DIR    CMake build folder (default: build/sanitize in the repository)
#     TESTS        test files to run (default: the kernel tests: direct, siblings, pairs, pooled
#                  output, max-pool, Winograd, bf16, linalg, the ELM layer and normal stream)
#     JOBS         parallel compile jobs (default: number of CPUs)
#
# The module is configured with CMake directly (not pip), in Debug mode so the compiler keeps
# frames and line information. CMakeLists.txt adds -O3 to the target; it comes after the Debug
# flags, which is fine: ASan/UBSan instrument optimised code too and still report source lines.
#
# The instrumented module is placed ahead of any installed randcnn_fast: the package's Python
# sources and the new _core*.so are copied into a temporary folder put first on PYTHONPATH,
# and pytest runs from that folder's copy of tests/ so the repository's (uninstrumented) tree
# never shadows it. The Python interpreter itself is not instrumented, so libasan is preloaded
# and leak detection is off (CPython's own allocations would drown the report). Any ASan error
# or UBSan finding aborts the run with a stack trace and a non-zero exit status. pytest captures
# at the sys level only (--capture=sys): with its default fd-level capture, a report written to
# file descriptor 2 by a process that the sanitizer then ends would be lost with the capture.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build/sanitize}"
TESTS="${TESTS:-tests/test_conv_kernel.py tests/test_conv_siblings.py tests/test_conv_pair.py tests/test_conv_out_pool.py tests/test_max_pool.py tests/test_winograd.py tests/test_bf16.py tests/test_linalg_kernels.py tests/test_elm_native.py}"
JOBS="${JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}"

die() { echo "sanitize.sh: $*" >&2; exit 1; }

command -v cmake >/dev/null || die "cmake not found (pip install cmake, or your system's package)"
command -v gcc >/dev/null || die "gcc not found: the sanitizer runtimes come with GCC"
PYBIND11_DIR="$("$PYTHON" -m pybind11 --cmakedir 2>/dev/null)" \
    || die "pybind11 is not importable by $PYTHON; run: $PYTHON -m pip install pybind11"
"$PYTHON" -c "import numpy, sklearn, pytest, hypothesis" 2>/dev/null \
    || die "$PYTHON lacks numpy, scikit-learn, pytest or hypothesis; run: $PYTHON -m pip" \
           "install numpy scikit-learn pytest hypothesis"

LIBASAN="$(gcc -print-file-name=libasan.so)"
[[ -f "$LIBASAN" ]] || die "libasan.so not found (gcc -print-file-name=libasan.so gave '$LIBASAN')"
# libstdc++ is preloaded right after libasan: Python itself does not link it, and ASan resolves
# its C++ exception interceptor (__cxa_throw) at start-up, so without it the first exception the
# module throws aborts with 'CHECK failed: ... real___cxa_throw != 0' instead of propagating.
LIBSTDCXX="$(g++ -print-file-name=libstdc++.so 2>/dev/null || true)"
PRELOAD="$LIBASAN"
[[ -n "$LIBSTDCXX" && -e "$LIBSTDCXX" ]] && PRELOAD="$LIBASAN $LIBSTDCXX"

SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

echo "== configure ($BUILD_DIR)"
cmake -S "$ROOT" -B "$BUILD_DIR" \
    -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="$SAN_FLAGS" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DPython_EXECUTABLE="$PYTHON" \
    -Dpybind11_DIR="$PYBIND11_DIR"

echo "== build _core"
cmake --build "$BUILD_DIR" --target _core --parallel "$JOBS"

shopt -s nullglob
MODULES=("$BUILD_DIR"/_core*.so)
shopt -u nullglob
[[ ${#MODULES[@]} -eq 1 ]] || die "expected one _core*.so in $BUILD_DIR, found ${#MODULES[@]}"

STAGE="$(mktemp -d "${TMPDIR:-/tmp}/randcnn_sanitize.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/site"
# The package's sources, every folder of it, without bytecode caches.
cp -r "$ROOT/python/randcnn_fast" "$STAGE/site/randcnn_fast"
find "$STAGE/site/randcnn_fast" -name __pycache__ -prune -exec rm -rf {} +
cp "${MODULES[0]}" "$STAGE/site/randcnn_fast/"
cp -r "$ROOT/tests" "$STAGE/tests"

cd "$STAGE"
# Check that the instrumented module is the one imported, before running anything long.
LD_PRELOAD="$PRELOAD" ASAN_OPTIONS=detect_leaks=0 PYTHONPATH="$STAGE/site" \
    "$PYTHON" -c "import randcnn_fast._core as c, sys; print('== using', c.__file__); \
sys.exit(0 if c.__file__.startswith('$STAGE/site/') else 1)" \
    || die "the instrumented _core was not the one imported"

echo "== pytest $TESTS under ASan + UBSan"
set +e
LD_PRELOAD="$PRELOAD" \
ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1:print_summary=1" \
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
PYTHONPATH="$STAGE/site" \
    "$PYTHON" -m pytest $TESTS -q -p no:cacheprovider --capture=sys "$@"
status=$?
set -e
if [[ $status -eq 0 ]]; then
    echo "== sanitize.sh: clean (no ASan/UBSan findings, tests passed)"
else
    echo "== sanitize.sh: FAILED (pytest exit status $status; see the sanitizer report above)" >&2
fi
exit $status
