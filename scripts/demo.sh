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
  echo "== 15m candles derived from 5m (the shared data has no 15m files)"
  for symbol in BTC/USDT ETH/USDT; do
    $tl data resample --symbol "$symbol" --source 5m --to 15m
  done
fi
$tl db check
$tl data status
