#!/usr/bin/env bash
# Trains the model that is to replace the shipped one: fetch the training photos, synthesise
# the alpha 7S II emulation over every ratio and a family of sensor noises, cache its training
# pairs, train the GIA-Net of training/gia_net_sony_w16_v2.toml.
#
#   scripts/train_shipped_model.sh [RUN_DIR]     (default: ~/lsid-shipped-model)
#
# Every step is resumable: rerun the same command after any stop (a kill, a reboot, the end of
# a time budget) and it continues where it stopped; a finished step is skipped. On a new
# machine, where RUN_DIR is gone, the photos and the data are made again, bit for bit (sha256-
# pinned photos, seeded synthesis), and the training continues from the resume state committed
# in training/gia_net_sony_w16_v2.state/ (weights, optimiser, epoch, log) instead of starting
# over. The run folder must live outside the repository checkout. Takes many hours on 2 CPU
# cores; run it at low priority, e.g.
#   nohup nice -n 19 scripts/train_shipped_model.sh > train.log 2>&1 &
# LSID_PHOTOS_FROM=DIR[:DIR...] copies the photos from local folders (e.g. the image folders
# of fetched repository snapshots, or an earlier photos folder) instead of downloading them.
# To commit this run's state for the next machine (once a session: each adds 25 MB):
#   python -c "from lsid_keras.train import save_resume_state as s; \
#              print(s('RUN_DIR/run', 'training/gia_net_sony_w16_v2.state'))"
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
run="${1:-$HOME/lsid-shipped-model}"
recipe="$here/training/gia_net_sony_w16_v2.toml"
state="$here/training/gia_net_sony_w16_v2.state"
mkdir -p "$run"
from=()
IFS=: read -r -a folders <<< "${LSID_PHOTOS_FROM:-}"
for folder in "${folders[@]}"; do from+=(--from "$folder"); done
lsid photos sun_hays80 mcmaster kodak24 polyu_mean bsds500 imagenet_samples \
    --out "$run/photos" "${from[@]}"
lsid synth "$run/data" --camera sony --content mixed --images "$run/photos" --scenes 1000 \
    --size 320x480 --seed 0 --noise-family wide --random-ratios 3
lsid prepare "$run/data" --list Sony_train_list.txt --cache "$run/cache-train"
resume=()
if [ -f "$state/training_metadata.json" ]; then resume=(--resume-from "$state"); fi
lsid train --config "$recipe" --cache "$run/cache-train" --out "$run/run" --verbose 2 \
    "${resume[@]}"
