#!/usr/bin/env bash
# The README's main job (make demo): build the candle store offline and show its status.
set -euo pipefail
cd "$(dirname "$0")/.."
tl=.venv/bin/tradeloop

$tl config validate
$tl db upgrade
echo "== synthetic market (seeded, offline)"
$tl data synth --symbol SYN/USDT --days 30 --seed 7
if [ -d ../shared/data ]; then
  echo "== real Binance candles from ../shared/data"
  $tl data import ../shared/data
fi
$tl db check
$tl data status
