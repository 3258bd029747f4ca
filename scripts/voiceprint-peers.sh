#!/bin/sh
# voiceprint-peers.sh BIN DATA [UBM] [LIST...]: the shipped voiceprint
# model and the classical peers (mfcc-stats, gmm-ubm) on each trial list
# (default: every dev list in DATA/trials), in each channel: clean, the
# test side through the telephone, noise10 and narrowband channels, both
# sides as 8 kHz recordings (nb-both), both sides in simulated rooms
# (rv-both: each recording its own room, RT60 0.5 s; hall: one room for
# every recording), and 3-second test sides (short) —
# in one run, one table per list: EER % and minDCF (p_target 0.01) of
# each system, the model's EER as a ratio to the best peer's (< 1: the
# model is better), the model's EER less that peer's in points, with the
# 90 % interval of the difference and the share of rounds in which the
# model's EER was lower, from a paired bootstrap over the list's speakers
# (eval --scores and --against), and the model's shipped decision: the false-accept
# and miss rates at its calibrated 1 % threshold (far@thr, frr@thr;
# "(venue)" when the venue cohort set it, "(venue-fit)" when a fit to it
# raised the model's), with far@thr's 90 % confidence interval from a
# bootstrap over the list's speakers (eval's far_at_threshold_ci90).
# Each list then runs once more with a venue cohort (eval --cohort): the
# recordings of every other speaker of the list (sorted by folder, within
# each corpus folder) join the model's s-norm cohort and, with enough pairs
# of different speakers among them, set its threshold, as a box's other
# enrolled voices do; only trials of the remaining speakers are scored, by
# all three systems. Recordings of speakers the model learned from (eval
# leaves them out of a venue: the multilingual speakers whose corpus
# offsets it learned) are not in the venue.
# Needs nothing but the voxward binary and a POSIX shell.
set -eu
usage='usage: voiceprint-peers.sh BIN DATA [UBM] [LIST...]'
bin=${1:?$usage}
data=${2:?$usage}
ubm=${3:-}
shift 2
[ $# -gt 0 ] && shift
[ $# -eq 0 ] && set -- "$data"/trials/dev_*.txt
[ -e "$1" ] || { echo "voiceprint-peers: no trial list at $1 (it needs the shared speech data: SHARED=DIR, default ../shared)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

field() { # field NAME FILE: a number from eval's one-line JSON (not from its "against" list)
  sed -e 's/,"against":\[.*//' -n -e "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" "$2"
}
interval() { # interval NAME FILE: "low high" of an interval in eval's JSON, in %
  sed -n "s/.*\"$1\":\[\([-0-9.eE+]*\),\([-0-9.eE+]*\)\].*/\1 \2/p" "$2" | awk '{printf "%.2f–%.2f", 100*$1, 100*$2}'
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
channels="none telephone noise10 narrowband nb-both rv-both hall short"
runs=""
venue() { # venue LIST: every recording of every other speaker folder of LIST
  awk '!/^#/ && NF == 3 {print $2; print $3}' "$1" | tr ',' '\n' | sed 's|/[^/]*$||' | LC_ALL=C sort -u |
    awk '{c = $0; sub("/[^/]*$", "", c); if (c != corpus) {n = 0; corpus = c}; if (n++ % 2 == 0) print}' |
    while read -r d; do (cd "$data" && ls "$d"/*.wav); done
}
for list in "$@"; do
  runs="$runs $list $list+cohort"
done
for run in $runs; do
  list=${run%+cohort}
  name=$(basename "$list" .txt)
  [ "$run" != "$list" ] && name="$name+cohort" && venue "$list" >"$tmp/cohort.txt"
  for ch in $channels; do
    # The peers first: the model's run compares its EER with theirs on
    # the same trials (eval --against).
    for sys in mfcc-stats gmm-ubm voxward; do
      set -- --quiet
      [ "$run" != "$list" ] && set -- "$@" --cohort "$tmp/cohort.txt"
      if [ "$sys" = gmm-ubm ]; then
        set -- "$@" --data "$data"
        [ -n "$ubm" ] && set -- "$@" --ubm "$ubm"
      fi
      case $ch in
      nb-both) set -- "$@" --augment narrowband --augment-enrol ;;
      rv-both) set -- "$@" --augment reverb --augment-enrol ;;
      hall) set -- "$@" --augment hall --augment-enrol ;;
      short) set -- "$@" --test-seconds 3 ;;
      *) set -- "$@" --augment "$ch" ;;
      esac
      out=$tmp/$name.$ch.$sys
      if [ "$sys" = voxward ]; then
        set -- "$@" --against "$tmp/$name.$ch.mfcc-stats.scores" --against "$tmp/$name.$ch.gmm-ubm.scores"
      else
        set -- "$@" --scores "$out.scores"
      fi
      "$bin" eval --system "$sys" --trials "$list" --audio-root "$data" "$@" \
        >"$out.json" 2>"$out.log" || { cat "$out.log" >&2; exit 1; }
    done
  done
  printf '\n%s (%s)\n' "$name" "$list"
  if [ "$run" != "$list" ]; then
    v=$tmp/$name.none.voxward
    learned=$(field training_cohort_files_left_out "$v.json")
    [ -n "$learned" ] && learned=" ($learned more, of speakers the model learned from, left out)"
    printf 'venue cohort: %s recordings of every other speaker%s; %s; venue pairs (clean): %s\n' "$(field cohort_files "$v.json")" "$learned" \
      "$(sed -n 's/^cohort: [0-9]* recordings; //p' "$v.log")" "$(field venue_pairs "$v.json")"
  fi
  printf '%-10s | %-14s | %-14s | %-14s | %-22s | %-31s | %s\n' channel "voxward" "mfcc-stats" "gmm-ubm" "model EER /" "model - best peer EER" "model at its threshold"
  printf '%-10s | %-14s | %-14s | %-14s | %-22s | %-31s | %s\n' "" "EER %  minDCF" "EER %  minDCF" "EER %  minDCF" "best peer EER" "points (90 % CI), rounds lower" "far@thr % (90 % CI)       frr@thr %"
  printf '%s\n' "-----------|----------------|----------------|----------------|------------------------|---------------------------------|----------------------------------------"
  for ch in $channels; do
    line=$(printf '%-10s' "$ch")
    for sys in voxward mfcc-stats gmm-ubm; do
      f=$tmp/$name.$ch.$sys.json
      line="$line | $(awk -v e="$(field eer "$f")" -v d="$(field min_dcf "$f")" 'BEGIN{printf "%-14s", sprintf("%5.2f  %6.3f", 100*e, d)}')"
    done
    v=$tmp/$name.$ch.voxward.json
    a=$(field eer "$tmp/$name.$ch.mfcc-stats.json") b=$(field eer "$tmp/$name.$ch.gmm-ubm.json")
    best=$(awk -v a="$a" -v b="$b" 'BEGIN{print (b < a) ? "gmm-ubm" : "mfcc-stats"}')
    ratio=$(awk -v v="$(field eer "$v")" -v best="$(field eer "$tmp/$name.$ch.$best.json")" -v who="$best" \
      'BEGIN{if (best>0) printf "%.2f (vs %s)", v/best, who; else printf "n/a (%s EER 0)", who}')
    # The paired difference against that peer, from the model's run.
    sed -n "s/.*{\"system\":\"$best\",\([^}]*\)}.*/\1/p" "$v" >"$tmp/against"
    diff=$(sed -n 's/.*"eer_diff_ci90":\[\([-0-9.eE+]*\),\([-0-9.eE+]*\)\].*/\1 \2/p' "$tmp/against" |
      awk -v d="$(field eer_diff "$tmp/against")" -v l="$(field lower_eer_rounds "$tmp/against")" \
        '{lo=$1; hi=$2} END{if (d == "") print "n/a"; else if (lo == "") printf "%+.2f", 100*d; else printf "%+.2f (%+.2f, %+.2f) %3.0f %%", 100*d, 100*lo, 100*hi, 100*l}')
    from=$(sed -n 's/.*"threshold_from":"\([a-z-]*\)".*/\1/p' "$v")
    # Every trial band-limited (both sides 8 kHz): that threshold decided.
    [ "$(field band_limited_trials "$v")" = "$(field trials "$v")" ] && from=$(sed -n 's/.*"threshold_band_limited_from":"\([a-z-]*\)".*/\1/p' "$v")
    at=$(awk -v f="$(field far_at_threshold "$v")" -v ci="$(interval far_at_threshold_ci90 "$v")" -v r="$(field frr_at_threshold "$v")" -v from="$from" \
      'BEGIN{if (f=="") print "n/a (no calibration)"; else printf "%8.2f %-15s  %8.2f%s", 100*f, ci == "" ? "" : "(" ci ")", 100*r, from != "model" && from != "" ? "  (" from ")" : ""}')
    printf '%s | %-22s | %-31s | %s\n' "$line" "$ratio" "$diff" "$at"
  done
done
