#!/bin/sh
# xvector-eval.sh BIN DATA DUMP OUT NET.pt...: the shipped model, the two
# classical peers and each neural extractor trained by xvector.py on every
# dev list (without a venue) and every channel of voiceprint-peers.sh, on
# the same trials in one run. The peers' score files are kept in OUT and
# reused when present (they do not depend on the networks). Prints one
# line per list and channel: EER % of the model, mfcc-stats, gmm-ubm and
# each network, and the model's EER less each network's in points with
# its paired 90 % interval (voxward eval --against). UBM=FILE gives gmm-ubm
# its UBM (as make voiceprint-peers does), else it trains one from DATA.
set -eu
usage='usage: xvector-eval.sh BIN DATA DUMP OUT NET.pt...'
bin=${1:?$usage} data=${2:?$usage} dump=${3:?$usage} out=${4:?$usage}
shift 4
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
here=$(dirname "$0")
. "$here/xvector-common.sh"
need "$bin" "$data" "$dump"
mkdir -p "$out"
for list in "$data"/trials/dev_*.txt; do
  name=$(basename "$list" .txt)
  printf '\n%s\n%-10s %8s %8s %8s' "$name" channel voxward mfcc gmm
  for net in "$@"; do printf ' %28s' "$(basename "$net" .pt) (model - it)"; done
  echo
  for ch in $channels; do
    channel "$ch"
    base=$out/$name.$ch
    for sys in mfcc-stats gmm-ubm; do
      [ -s "$base.$sys.scores" ] && continue
      extra=""
      [ "$sys" = gmm-ubm ] && extra="--data $data${UBM:+ --ubm $UBM}"
      # shellcheck disable=SC2086
      "$bin" eval --quiet --system "$sys" --trials "$list" --audio-root "$data" $flags $extra \
        --scores "$base.$sys.scores" >"$base.$sys.json"
    done
    against=""
    for net in "$@"; do
      n=$(basename "$net" .pt)
      # shellcheck disable=SC2086
      /usr/bin/python3 "$here/xvector.py" score --dump "$dump" --net "$net" --like "$base.mfcc-stats.scores" \
        --channel "$dch" $enrol --name "$n" --out "$base.$n.scores"
      against="$against --against $base.$n.scores"
    done
    # shellcheck disable=SC2086
    "$bin" eval --quiet --trials "$list" --audio-root "$data" $flags \
      --against "$base.mfcc-stats.scores" --against "$base.gmm-ubm.scores" $against >"$base.voxward.json"
    line=$(printf '%-10s %8.2f %8.2f %8.2f' "$ch" "$(awk -v e="$(field eer "$base.voxward.json")" 'BEGIN{print 100*e}')" \
      "$(awk -v e="$(field eer "$base.mfcc-stats.json")" 'BEGIN{print 100*e}')" \
      "$(awk -v e="$(field eer "$base.gmm-ubm.json")" 'BEGIN{print 100*e}')")
    for net in "$@"; do
      line="$line $(against "$(basename "$net" .pt)" "$base.voxward.json")"
    done
    echo "$line"
  done
done
