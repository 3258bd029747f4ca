# Sourced by xvector-eval.sh and xvector-fuse.sh.

# need BIN DATA DUMP: stop with a clear message when an input is missing.
need() {
  [ -x "$1" ] || { echo "$0: no voxward binary at $1 (make build)" >&2; exit 1; }
  ls "$2"/trials/dev_*.txt >/dev/null 2>&1 ||
    { echo "$0: no trial lists in $2/trials (it needs the shared speech data, ../shared/data)" >&2; exit 1; }
  [ -s "$3/dev.tsv" ] ||
    { echo "$0: no feature dump in $3 (go test -tags research -run TestExpNeuralDump ./dsp/voiceprint/train/)" >&2; exit 1; }
}

# The channels of voiceprint-peers.sh. channel CH sets flags (voxward
# eval's), enrol (xvector.py score's --augment-enrol, or empty) and dch
# (the dump's channel of the test side, TestExpNeuralDump).
channels="none telephone noise10 narrowband nb-both rv-both hall short"
channel() {
  enrol="" dch=$1
  case $1 in
  nb-both) flags="--augment narrowband --augment-enrol" enrol=--augment-enrol dch=narrowband ;;
  rv-both) flags="--augment reverb --augment-enrol" enrol=--augment-enrol dch=reverb ;;
  hall) flags="--augment hall --augment-enrol" enrol=--augment-enrol ;;
  short) flags="--test-seconds 3" ;;
  none) flags="" ;;
  *) flags="--augment $1" ;;
  esac
}

# field NAME FILE: a number from eval's JSON, outside its "against" list.
field() { sed -e 's/,"against":\[.*//' -n -e "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" "$2"; }

# against SYSTEM FILE: the EER (%) of SYSTEM in eval's "against" list, then
# this run's EER less it in points with the paired 90 % interval.
against() {
  sed -n "s/.*{\"system\":\"$1\",\([^}]*\)}.*/\1/p" "$2" |
    sed -n 's/.*"eer":\([-0-9.eE+]*\),"eer_diff":\([-0-9.eE+]*\),"eer_diff_ci90":\[\([-0-9.eE+]*\),\([-0-9.eE+]*\)\].*/\1 \2 \3 \4/p' |
    awk '{printf "%6.2f %+6.2f (%+6.2f, %+6.2f)", 100*$1, 100*$2, 100*$3, 100*$4}'
}
