#!/usr/bin/env bash
# Builds samples/demo-call.wav (8 kHz stereo µ-law: customer left = channel 0 = external,
# agent right = channel 1 = internal) and samples/demo-call.txt from a scripted exchange.
# Needs flite and sox: apt-get install -y flite sox
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
out_wav="$here/samples/demo-call.wav"
out_txt="$here/samples/demo-call.txt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

customer_voice=slt   # female voice for the customer
agent_voice=rms      # male voice for the agent
gap=0.5              # silence after each turn, so utterances never overlap
lead_in=0.5

# speaker|text, in call order.
turns=(
  "agent|Thanks for calling Acme Bank, this is Daniel. How can I help?"
  "customer|Hi Daniel. I would like to check the balance on my savings account, please."
  "agent|Of course. Can you confirm the last four digits of your account number?"
  "customer|Sure, it is four five seven two."
  "agent|Thank you. Your savings balance is two thousand and fifteen dollars."
  "customer|Great, that is all I needed. Thanks for your help."
)

: >"$out_txt"
echo "# speaker	start(s)	text   (customer = left = channel 0, agent = right = channel 1)" >>"$out_txt"
sox -n -r 8000 -c 2 -b 16 "$work/seg-000.wav" trim 0 "$lead_in"
t="$lead_in"
i=0
for turn in "${turns[@]}"; do
  i=$((i + 1))
  speaker="${turn%%|*}"
  text="${turn#*|}"
  if [[ "$speaker" == customer ]]; then voice=$customer_voice; mix="1 0"; else voice=$agent_voice; mix="0 1"; fi
  flite -voice "$voice" -t "$text" -o "$work/raw-$i.wav"
  # Mono speech → 8 kHz stereo with the other side silent, then the inter-turn gap.
  seg="$work/seg-$(printf %03d "$i").wav"
  sox -D "$work/raw-$i.wav" -r 8000 -b 16 "$work/mono-$i.wav" rate -v 8000 norm -3
  sox "$work/mono-$i.wav" -c 2 "$seg" remix $mix pad 0 "$gap"
  printf '%s\t%.2f\t%s\n' "$speaker" "$t" "$text" >>"$out_txt"
  t="$(echo "$t + $(soxi -D "$seg")" | bc -l)"
done

sox -D "$work"/seg-*.wav -r 8000 -c 2 -e u-law -b 8 "$out_wav"
echo "wrote $out_wav ($(soxi -D "$out_wav") s) and $out_txt"
