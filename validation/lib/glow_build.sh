#!/usr/bin/env bash
# Build pytorch/glow's model-compiler (only that target) the way embedded users build it.
# Usage: glow_build.sh GLOW_SRC BUILD_DIR
#   GLOW_SRC  a pytorch/glow tree (05dd99b9 tested) with its submodules thirdparty/{folly,
#             foxi,onnx,fp16} extracted at the commits the tree pins.
#   BUILD_DIR where to build; BUILD_DIR/bin/model-compiler is the result.
# The script applies, in place and idempotently, the small fixes a 2024 tree needs with
# clang-14 + glibc 2.36 (see ../README.md). Takes about 19 min on 2 cores.
set -euo pipefail
GLOW_SRC=$(realpath "$1"); BUILD_DIR=$(realpath -m "$2")
JOBS=${JOBS:-2}

[ -x "$BUILD_DIR/bin/model-compiler" ] && { echo "model-compiler already built: $BUILD_DIR/bin/model-compiler"; exit 0; }
for d in folly foxi onnx fp16; do
  [ -n "$(ls -A "$GLOW_SRC/thirdparty/$d" 2>/dev/null)" ] || { echo "missing submodule thirdparty/$d in $GLOW_SRC" >&2; exit 2; }
done

cd "$GLOW_SRC"
# 1. Glow's top-level CMakeLists pins C++14; LLVM 14 headers and glow's code want 17.
sed -i 's/^set(CMAKE_CXX_STANDARD 14)/set(CMAKE_CXX_STANDARD 17)/' CMakeLists.txt
# 2. Empty stand-ins for the test-only submodules that CMake checks for even with tests off.
mkdir -p tests/googlebenchmark/src tests/googletest/googletest tests/OutputCheck/bin
[ -e tests/OutputCheck/bin/OutputCheck ] || : > tests/OutputCheck/bin/OutputCheck
# 3. folly: SIGSTKSZ is no longer a constant in glibc >= 2.34; <limits> no longer comes
#    in transitively with GCC 12's libstdc++.
sed -i 's/folly::constexpr_max(SIGSTKSZ, 32 \* 1024)/folly::constexpr_max(size_t(8192), size_t(32 * 1024))/' \
  thirdparty/folly/folly/fibers/FiberManager.cpp
grep -rlZ "numeric_limits" thirdparty/folly/folly --include=*.h --include=*.cpp \
  | xargs -0 grep -LZ "^#include <limits>" \
  | while IFS= read -r -d '' f; do sed -i '0,/^#include /s//#include <limits>\n#include /' "$f"; done
# 4. glow includes folly/json/{dynamic,DynamicConverter}.h; this folly has them one level up.
mkdir -p thirdparty/folly/folly/json
for h in dynamic DynamicConverter; do
  [ -e thirdparty/folly/folly/json/$h.h ] || printf '#pragma once\n#include <folly/%s.h>\n' $h > thirdparty/folly/folly/json/$h.h
done

mkdir -p "$BUILD_DIR"; cd "$BUILD_DIR"
cmake -G Ninja "$GLOW_SRC" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DLLVM_DIR=/usr/lib/llvm-14/lib/cmake/llvm \
  -DTENSOR_DIMS_32_BITS=ON \
  -DGLOW_BUILD_TESTS=OFF -DGLOW_BUILD_EXAMPLES=OFF \
  -DGLOW_WITH_OPENCL=OFF -DGLOW_WITH_NNPI=OFF -DGLOW_WITH_HABANA=OFF \
  -DGLOW_WITH_CPU=ON -DGLOW_WITH_LLVMIRCODEGEN=ON -DGLOW_WITH_BUNDLES=OFF
nice -n 10 ninja -j"$JOBS" model-compiler
ls -l "$BUILD_DIR/bin/model-compiler"
