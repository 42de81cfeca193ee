#!/usr/bin/env bash
# Makes .auralink/aic-ort-venv: Debian's python3 (its torch, PIL and numpy seen through
# --system-site-packages) plus the onnxruntime 1.30.0 Python wheel and onnx, for
# quantize_enhancer.py and eval_enhancer_variants.py. Offline only: wheels come from the folders
# in $PIP_FIND_LINKS and $AIC_WHEELS (with --no-index), else from the file:// package indexes
# that pip's own configuration names; never from the network. Prints the python to use on
# stdout; exits 3 saying why when the wheel is not to be had. Idempotent: a working venv is reused.
#   python=$(bash packages/aic/training/setup_ort_venv.sh)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
venv="$root/.auralink/aic-ort-venv"
debian=/usr/bin/python3
# numpy 1.26: Debian's scipy, torch and PIL in the venv's view are built against numpy 1.x
want=(onnxruntime==1.30.0 onnx==1.23.1 numpy==1.26.4)
say() { echo "aic ort venv: $*" >&2; }

check() {
  "$1" -c 'import onnxruntime, onnx, numpy; from onnxruntime.quantization import quantize_static; print(onnxruntime.__version__)' 2>/dev/null
}

if [ -x "$venv/bin/python" ] && version=$(check "$venv/bin/python") && [ "$version" = "1.30.0" ]; then
  say "reusing $venv (onnxruntime $version)"
  echo "$venv/bin/python"; exit 0
fi

# where the wheels may be: local folders first (--no-index), else pip's configured file:// indexes
links=()
for dir in ${PIP_FIND_LINKS:-} ${AIC_WHEELS:-}; do
  if compgen -G "$dir/onnxruntime-1.30.0-*cp311*.whl" > /dev/null; then links+=(--find-links "$dir"); fi
done
source=()
if [ ${#links[@]} -gt 0 ]; then
  source=(--no-index "${links[@]}")
  for dir in ${PIP_FIND_LINKS:-} ${AIC_WHEELS:-}; do source+=(--find-links "$dir"); done
else
  indexes=$("$debian" -m pip config list 2>/dev/null | sed -n "s/^[a-z:.]*\(extra-\)\{0,1\}index-url='\(.*\)'$/\2/p" | tr ' ' '\n' | grep '^file://' || true)
  if [ -z "$indexes" ]; then
    say "no onnxruntime 1.30.0 wheel for cp311 in PIP_FIND_LINKS (${PIP_FIND_LINKS:-unset}) or AIC_WHEELS, and no file:// index in pip's configuration: int8 quantisation is not to be had here"
    exit 3
  fi
  first=1
  for url in $indexes; do
    if [ $first = 1 ]; then source+=(--index-url "$url"); first=0; else source+=(--extra-index-url "$url"); fi
  done
  say "onnxruntime from pip's configured local index(es): $(echo $indexes)"
fi

rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
if "$debian" -m venv --system-site-packages "$venv" >&2 \
  && PIP_CONFIG_FILE=/dev/null "$venv/bin/python" -m pip install --quiet "${source[@]}" "${want[@]}" >&2 \
  && version=$(check "$venv/bin/python"); then
  say "onnxruntime $version ready"
  echo "$venv/bin/python"; exit 0
fi
rm -rf "$venv"
say "installing ${want[*]} failed: int8 quantisation is not to be had here"
exit 3
