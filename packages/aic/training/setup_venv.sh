#!/usr/bin/env bash
# Makes AIC's training venv (.auralink/aic-venv) with the faster PyTorch CPU wheel when this
# machine has one in $PIP_FIND_LINKS; prints the python to train with on stdout. Without a
# wheel, or when the venv's torch fails its check, it prints Debian's /usr/bin/python3 (with
# python3-torch), the guaranteed path. Idempotent: a working venv is reused.
#   python=$(bash packages/aic/training/setup_venv.sh)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
venv="$root/.auralink/aic-venv"
debian=/usr/bin/python3
say() { echo "aic venv: $*" >&2; }

check() {
  # import, one optimiser step and the ONNX exporter's module: what training uses
  "$1" -c 'import torch, torch.onnx; m = torch.nn.Conv2d(3, 3, 3); o = torch.optim.Adam(m.parameters()); m(torch.rand(1, 3, 8, 8)).mean().backward(); o.step(); print(torch.__version__)' 2>/dev/null
}

wheel=""
for dir in ${PIP_FIND_LINKS:-}; do
  for w in "$dir"/torch-*cp311*linux*x86_64.whl; do [ -f "$w" ] && wheel="$w"; done
done
if [ -z "$wheel" ]; then
  say "no torch wheel in PIP_FIND_LINKS (${PIP_FIND_LINKS:-unset}): using Debian's python3-torch"
  echo "$debian"; exit 0
fi
stamp="$venv/.wheel"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wheel" ] && version=$(check "$venv/bin/python"); then
  say "reusing $venv (torch $version)"
  echo "$venv/bin/python"; exit 0
fi
say "installing $(basename "$wheel") into $venv (--no-deps, sees Debian's packages)"
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
if "$debian" -m venv --system-site-packages "$venv" >&2 \
  && "$venv/bin/python" -m pip install --quiet --no-deps --no-index "$wheel" >&2; then
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  cp "$here/compat/typing_extensions.py" "$here/compat/aic_torch_compat.py" "$site/"
  echo "import aic_torch_compat" > "$site/aic_torch_compat.pth"
  if version=$(check "$venv/bin/python"); then
    echo "$wheel" > "$stamp"
    say "torch $version ready"
    echo "$venv/bin/python"; exit 0
  fi
fi
say "the wheel's torch failed its check here: using Debian's python3-torch"
rm -rf "$venv"
echo "$debian"
