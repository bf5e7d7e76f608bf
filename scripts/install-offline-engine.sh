#!/bin/sh
# Installs the offline speech engine (Debian's pocketsphinx 0.8 and its US English model) and the
# offline speech synthesizer (flite, the voice bot's default TTS) where it can: as root with
# apt-get. Idempotent and quiet when already installed. It never fails: the server starts without
# them and says so.
#   --with-test-tools  also sox, which the tests use to make speech
#   --check            only report what is missing, never apt-get (a production start that was
#                      already built must not reach the network; images install it at build time)
# AUDIOHOOK_SKIP_SYSTEM_PACKAGES=1, or npm's --offline (npm_config_offline=true), act as --check.
set -u

binary=/usr/bin/pocketsphinx_batch
model=/usr/share/pocketsphinx/model/en-us
packages="pocketsphinx pocketsphinx-en-us"
synth_packages="flite"
need_tools=no
check_only=no
[ "${AUDIOHOOK_SKIP_SYSTEM_PACKAGES:-}" = 1 ] && check_only=yes
[ "${npm_config_offline:-}" = true ] && check_only=yes
for arg in "$@"; do
  case "$arg" in
    --with-test-tools) need_tools=yes ;;
    --check) check_only=yes ;;
    *) echo "install-offline-engine: unknown option $arg (use --with-test-tools, --check)" >&2 ;;
  esac
done

have_engine() { [ -x "$binary" ] && [ -f "$model/en-us/mdef" ] && [ -f "$model/en-us.lm.bin" ] && [ -f "$model/cmudict-en-us.dict" ]; }
have_synth() { command -v flite >/dev/null 2>&1; }
have_tools() { command -v sox >/dev/null 2>&1; }

missing=""
have_engine || missing="$packages"
have_synth || missing="$missing $synth_packages"
[ "$need_tools" = yes ] && ! have_tools && missing="$missing sox"
[ -z "$missing" ] && exit 0

if [ "$check_only" = no ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-offline-engine: installing$(printf ' %s' $missing)"
  # The lists may be missing or stale on a fresh machine: refresh them first.
  if DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
    exit 0
  fi
  echo "install-offline-engine: apt-get failed; the server starts without the offline engine and flite" >&2
  exit 0
fi
echo "install-offline-engine: offline engine or flite not installed; install with: sudo apt-get install$(printf ' %s' $missing)" >&2
exit 0
