#!/bin/sh
# xvector-fuse.sh BIN DATA DUMP OUT NET.pt: the shipped model's scores
# fused with a network's (xvector.py), on every dev list (without a venue)
# and every channel of voiceprint-peers.sh. The network's cosine is
# s-normalised against the training speakers (top 100, as the model's
# branches are), and the fused score is the model's plus w times the
# network's. Prints one line per list and channel: EER % of the model, of
# the network alone, and of the fusion for each w, then the model's EER
# less the fusion's at w = WRITE (default 0.5) with its paired 90 %
# interval (the fused scores written as a score file, voxward eval
# --against). Reuses OUT's score files from xvector-eval.sh (the peer's
# trials) and writes the model's (voxward eval --scores) when missing.
set -eu
usage='usage: xvector-fuse.sh BIN DATA DUMP OUT NET.pt'
bin=${1:?$usage} data=${2:?$usage} dump=${3:?$usage} out=${4:?$usage} net=${5:?$usage}
here=$(dirname "$0")
. "$here/xvector-common.sh"
need "$bin" "$data" "$dump"
n=$(basename "$net" .pt)-snorm
weights=0.1,0.2,0.3,0.5,0.75,1
write=${WRITE:-0.5}
for list in "$data"/trials/dev_*.txt; do
  name=$(basename "$list" .txt)
  printf '\n%s\n%-10s model network fused, w = %s; model - fused at %s (90 %% CI)\n' "$name" channel "$weights" "$write"
  for ch in $channels; do
    channel "$ch"
    base=$out/$name.$ch
    [ -s "$base.mfcc-stats.scores" ] || { echo "xvector-fuse: no $base.mfcc-stats.scores (run xvector-eval.sh first)" >&2; exit 1; }
    # shellcheck disable=SC2086
    [ -s "$base.voxward.scores" ] ||
      "$bin" eval --quiet --trials "$list" --audio-root "$data" $flags --scores "$base.voxward.scores" >/dev/null
    # shellcheck disable=SC2086
    /usr/bin/python3 "$here/xvector.py" score --dump "$dump" --net "$net" --like "$base.mfcc-stats.scores" \
      --channel "$dch" $enrol --name "$n" --snorm 100 --out "$base.$n.scores"
    eers=$(/usr/bin/python3 "$here/xvector.py" fuse --a "$base.voxward.scores" --b "$base.$n.scores" --weights "$weights" \
      --out "$base.$n.fused.scores" --write "$write" --name "model+$n")
    # shellcheck disable=SC2086
    "$bin" eval --quiet --trials "$list" --audio-root "$data" $flags --against "$base.$n.fused.scores" \
      >"$base.$n.fused.json"
    diff=$(against "model+$n" "$base.$n.fused.json" | cut -c8-)
    printf '%-10s %s   %s\n' "$ch" "$eers" "$diff"
  done
done
