#!/usr/bin/env bash
# Reproduces the shipped pretrained model: synthesise the Sony alpha 7S II emulation, cache
# its training pairs, train the GIA-Net of lsid_keras/pretrained/gia_net_sony_w16.toml.
#
#   scripts/train_shipped_model.sh [RUN_DIR]     (default: ~/lsid-shipped-model)
#
# Every step is resumable: rerun the same command after any stop (a kill, a reboot, the end of
# a time budget) and it continues where it stopped; a finished step is skipped. The run folder
# must live outside the repository checkout. Takes many hours on 2 CPU cores; run it at low
# priority, e.g. `nohup nice -n 19 scripts/train_shipped_model.sh > train.log 2>&1 &`.
# Afterwards, `lsid evaluate --model RUN_DIR/run/model.keras --data RUN_DIR/data
# --list Sony_test_list.txt` scores it on the held-out photos.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
run="${1:-$HOME/lsid-shipped-model}"
mkdir -p "$run"
lsid synth "$run/data" --camera sony --content mixed --scenes 400 --size 768x1152 --seed 0
lsid prepare "$run/data" --list Sony_train_list.txt --cache "$run/cache-train"
lsid train --config "$here/lsid_keras/pretrained/gia_net_sony_w16.toml" \
    --cache "$run/cache-train" --out "$run/run" --verbose 2
