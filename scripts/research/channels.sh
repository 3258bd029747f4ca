# Sourced by xvector-eval.sh and xvector-fuse.sh. channel CH sets, for a
# channel of voiceprint-peers.sh: flags (voxward eval's), enrol
# (xvector.py score's --augment-enrol, or empty) and dch (the dump's
# channel of the test side, TestExpNeuralDump).
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
