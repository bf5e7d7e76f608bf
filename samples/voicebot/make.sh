#!/bin/sh
# Regenerates the caller's WAVs of demo.json: flite speaks each line, sox makes it 8 kHz mono µ-law
# (what Genesys streams; `voicebot` also takes 8 kHz PCM16); -D: no dither, so reruns give the same
# bytes. Needs flite and sox on the PATH.
set -eu
cd "$(dirname "$0")"
say() {
  tmp="${TMPDIR:-/tmp}/voicebot-make-$$.wav"
  flite -t "$2" -o "$tmp"
  sox -D "$tmp" -r 8000 -e mu-law -c 1 "$1"
  rm -f "$tmp"
}
say hours.wav "what are your opening hours"
say address.wav "where is your address"
say goodbye.wav "thank you goodbye"
