#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` (CPU only, statically linked) into OUT_DIR/bin, for the
# on-premise pool's tests (tests/pool.rs) and the failover bench.
#
#   bash models/llama-server.sh OUT_DIR
#
# The llama-cpp-sys-2 crate packages only the library part of llama.cpp (no tools/server), so
# the source is the llama.cpp vendored in the pinned llama-cpp-python sdist from PyPI, checked
# by sha256 and cached in SLUICE_WHEEL_CACHE like the model wheels. Nothing else is downloaded:
# the web UI and every network feature are configured off. Idempotent: a stamp records the
# sdist's digest and the cmake options, and a matching stamp exits at once.
set -euo pipefail

SDIST_VERSION=0.3.36
SDIST_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
SDIST_URL=https://files.pythonhosted.org/packages/ec/e9/e7de2b0463ea3ffbf0ede6cb21b58c1258a8f6521aae45ca773a59fe7cf3/llama_cpp_python-$SDIST_VERSION.tar.gz

[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd -P)
bin=$out/bin/llama-server
options=(
  -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON
  # The prebuilt web UI would be downloaded at build time; the pool needs only the API.
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_WEBUI=OFF
  -DFETCHCONTENT_FULLY_DISCONNECTED=ON
)
stamp="sdist=$SDIST_SHA256 options=${options[*]}"
if [ -x "$bin" ] && [ "$(cat "$bin.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "llama-server: $bin (up to date)"
  exit 0
fi

cache=${SLUICE_WHEEL_CACHE:-$HOME/.cache/sluice/wheels}
sdist=$cache/llama_cpp_python-$SDIST_VERSION.tar.gz
mkdir -p "$cache"
if ! echo "$SDIST_SHA256  $sdist" | sha256sum --check --status 2>/dev/null; then
  echo "llama-server: fetching llama-cpp-python $SDIST_VERSION (its vendored llama.cpp) from PyPI" >&2
  curl --fail --silent --show-error --location --retry 3 -o "$sdist.part" "$SDIST_URL"
  echo "$SDIST_SHA256  $sdist.part" | sha256sum --check --status ||
    { echo "llama-server: sha256 mismatch for $SDIST_URL" >&2; rm -f "$sdist.part"; exit 1; }
  mv "$sdist.part" "$sdist"
fi

src=$out/src/llama.cpp-$SDIST_VERSION
if [ ! -f "$src/tools/server/CMakeLists.txt" ]; then
  rm -rf "$out/src" && mkdir -p "$src"
  tar -xzf "$sdist" -C "$src" --strip-components=3 "llama_cpp_python-$SDIST_VERSION/vendor/llama.cpp"
fi

jobs=${LLAMA_SERVER_JOBS:-$(nproc)}
echo "llama-server: building from $src with $jobs jobs (about 10 minutes cold; log: $out/build.log)" >&2
if ! { cmake -S "$src" -B "$out/build" "${options[@]}" &&
       cmake --build "$out/build" --target llama-server -j "$jobs"; } >"$out/build.log" 2>&1; then
  tail -n 40 "$out/build.log" >&2
  echo "llama-server: build failed (full log: $out/build.log)" >&2
  exit 1
fi
mkdir -p "$out/bin"
install -m 755 "$out/build/bin/llama-server" "$bin"
echo "$stamp" >"$bin.stamp"
echo "llama-server: $bin"
