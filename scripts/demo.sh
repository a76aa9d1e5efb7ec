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
if [ -d ../shared/data ]; then
  echo "== models: one per timeframe for BTC/USDT, logged to MLflow (data/mlflow.db, mlruns/)"
  OMP_NUM_THREADS=1 $tl train --symbol BTC/USDT
  echo "== seed 002 pre-deployment checks"
  .venv/bin/python deploy_production.py --check ||
    echo "(a failed check is reported as it is; offline, the exchange cannot be reached)"
fi
