#!/usr/bin/env bash
# One prepared GPU training run of tool 2 (docs/aic.md "Training on a GPU"), made to be run on the
# device machine as it is, and on the CPU here first for a few steps:
#
#   bash packages/aic/training/gpu_run.sh [--minutes 8] [--config packages/aic/training/configs/image-codec-big.json] [--steps N] [--smoke]
#
# Reads the packed stills (.auralink/aic-stills: npm run aic:codec:pack; carry it), resumes the
# weights of an earlier run in $OUT, else the committed ones of the config's model
# (packages/aic/training/checkpoints/<name>/, or <name>.pt), trains for the wall time on CUDA when
# torch sees a GPU (else the CPU), and evaluates the held-out stills at the end. What comes back
# fits the device tool's limits (at most 8 files of 16 MiB): $OUT/train.log (progress, the final
# summary), $OUT/weights.json and $OUT/weights-<i>.pt (the weights in shards of 15 MiB, rewritten
# with every checkpoint, every 100 steps: a run stopped by a timeout still leaves its last ones).
# The full checkpoints (optimiser included) stay in $SCRATCH on the machine. Nothing is exported
# there (the device may lack the ONNX exporter's packages): export and ship on the CPU afterwards,
# from the weights (docs/aic.md "Training on a GPU").
# The python is $PYTHON, else python3 on PATH (the device machine's, with torch and CUDA).
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
minutes=8
config="$root/packages/aic/training/configs/image-codec-big.json"
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --steps) extra+=(--steps "$2"); shift 2 ;;
    --smoke) extra+=(--smoke); shift ;;
    *) echo "gpu_run.sh: unknown argument $1 (usage: --minutes M --config FILE --steps N --smoke)" >&2; exit 2 ;;
  esac
done
out="${OUT:-$root/.auralink/gpu-out}"
data="${AIC_STILLS:-$root/.auralink/aic-stills}"
python="${PYTHON:-python3}"
if [ ! -f "$data/manifest.json" ]; then
  echo "gpu_run.sh: no packed stills in $data: run npm run aic:codec:pack here and carry .auralink/aic-stills" >&2
  exit 2
fi
scratch="${SCRATCH:-${TMPDIR:-/tmp}/auralink-gpu-runs}"
mkdir -p "$out" "$scratch"
name="$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$config")"
resume=()
smoke=no
[[ " ${extra[*]-} " == *" --smoke "* ]] && smoke=yes
committed="$root/packages/aic/training/checkpoints/$name"
if [ -f "$scratch/$name/checkpoint.pt" ]; then
  resume=(--resume)
elif [ -f "$out/weights.json" ]; then
  resume=(--resume-from "$out")
elif [ "$smoke" = no ] && [ -f "$committed/weights.json" ]; then
  resume=(--resume-from "$committed")
elif [ "$smoke" = no ] && [ -f "$committed.pt" ]; then
  resume=(--resume-from "$committed.pt")
fi
{
  echo "gpu_run.sh: $(date -u +%FT%TZ) $name, $minutes min, resume: ${resume[*]-none}"
  "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
} 2>&1 | tee "$out/train.log"
# progress and the summary both to $OUT as they come
PYTHONUNBUFFERED=1 "$python" "$root/packages/aic/training/train_image_codec.py" --config "$config" --data "$data" --runs "$scratch" \
  --minutes "$minutes" --no-export --weights-out "$out" "${resume[@]}" "${extra[@]}" 2>&1 | tee -a "$out/train.log"
