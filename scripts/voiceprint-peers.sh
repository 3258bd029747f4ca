#!/bin/sh
# voiceprint-peers.sh BIN DATA [LIST] [UBM]: the shipped voiceprint model
# and the classical peers (mfcc-stats, gmm-ubm) on one trial list, clean,
# with the test side through the telephone and noise10 channels, and with
# both sides as 8 kHz recordings (nb-both), in one table: EER %,
# minDCF (p_target 0.01) and wall seconds of each, and the model's EER as
# a ratio to the best peer's on that channel (< 1: the model is better).
# Needs nothing but the voxward binary and a POSIX shell.
set -eu
bin=${1:?usage: voiceprint-peers.sh BIN DATA [LIST] [UBM]}
data=${2:?usage: voiceprint-peers.sh BIN DATA [LIST] [UBM]}
list=${3:-$data/trials/dev_testother_1v1.txt}
ubm=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

field() { # field NAME FILE: a number from eval's one-line JSON
  sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" "$2"
}

echo "trial list: $list"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) (timings are noisy when shared)"
channels="none telephone noise10 nb-both"
for ch in $channels; do
  for sys in voxward mfcc-stats gmm-ubm; do
    set -- --quiet
    if [ "$sys" = gmm-ubm ]; then
      set -- --data "$data"
      [ -n "$ubm" ] && set -- "$@" --ubm "$ubm"
    fi
    case $ch in
    nb-both) set -- "$@" --augment narrowband --augment-enrol ;;
    *) set -- "$@" --augment "$ch" ;;
    esac
    "$bin" eval --system "$sys" --trials "$list" --audio-root "$data" "$@" \
      >"$tmp/$ch.$sys.json" 2>"$tmp/$ch.$sys.log" || { cat "$tmp/$ch.$sys.log" >&2; exit 1; }
    if [ "$sys" = gmm-ubm ]; then
      # The UBM: trained (how long) or read from the cache, once per run.
      tr '\r' '\n' <"$tmp/$ch.$sys.log" | grep -E 'gmm-ubm: (UBM from|UBM written|[0-9]+ utterances)|iteration 8: .* 256 comp|UBM 256 components, iteration 8' | sed 's/^/  /' || true
    fi
  done
done

printf '\n%-9s | %-21s | %-21s | %-21s | %s\n' "" "voxward (model)" "mfcc-stats (peer)" "gmm-ubm (peer)" "model EER /"
printf '%-9s | %-21s | %-21s | %-21s | %s\n' channel "EER %  minDCF     s" "EER %  minDCF     s" "EER %  minDCF     s" "best peer EER"
printf '%s\n' "----------|-----------------------|-----------------------|-----------------------|---------------------"
for ch in $channels; do
  line=$(printf '%-9s' "$ch")
  for sys in voxward mfcc-stats gmm-ubm; do
    f=$tmp/$ch.$sys.json
    line="$line | $(awk -v e="$(field eer "$f")" -v d="$(field min_dcf "$f")" -v s="$(field seconds "$f")" 'BEGIN{printf "%-21s", sprintf("%5.2f  %6.3f  %5.1f", 100*e, d, s)}')"
  done
  ratio=$(awk -v v="$(field eer "$tmp/$ch.voxward.json")" -v a="$(field eer "$tmp/$ch.mfcc-stats.json")" -v b="$(field eer "$tmp/$ch.gmm-ubm.json")" \
    'BEGIN{best=a; who="mfcc-stats"; if (b<best) {best=b; who="gmm-ubm"}; if (best>0) printf "%.2f (vs %s)", v/best, who; else printf "n/a (%s EER 0)", who}')
  echo "$line | $ratio"
done
