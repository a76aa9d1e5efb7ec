#!/usr/bin/env bash
# The README's main job (make demo), offline on a fresh machine: build the candle store, train
# the BTC/USDT models, run phase 1 of the rollout on replay (a simulated 24 h at full speed),
# print the validation verdict and write the report.
set -euo pipefail
cd "$(dirname "$0")/.."
tl=.venv/bin/tradeloop
py=.venv/bin/python
export OMP_NUM_THREADS=1
started=$SECONDS

cfg=()
if [ -d ../shared/data ]; then
  $tl config validate
  $tl db upgrade
  echo "== real Binance candles from ../shared/data (BTC/USDT and ETH/USDT)"
  for symbol in BTC_USDT ETH_USDT; do
    for f in ../shared/data/binance_${symbol}_*; do $tl data import "$f"; done
    $tl data resample --symbol "${symbol/_//}" --source 5m --to 15m
  done
else
  # Without the real data a seeded synthetic market stands in, in its own project folder so
  # it never mixes with exchange data: exchange "synthetic", timeframes it has history for.
  demo=data/demo-synthetic
  mkdir -p "$demo"
  cat > "$demo/config.yaml" <<'YAML'
exchange: {name: synthetic}
timeframes:
  intervals:
    - {interval: 1m, weight: 0.10}
    - {interval: 5m, weight: 0.20}
    - {interval: 15m, weight: 0.30}
    - {interval: 1h, weight: 0.40}
graduation:
  timeframes: [15m, 1h]
  backtest: {lookback_days: 21, min_trades: 10}
YAML
  cfg=(--config "$demo/config.yaml")
  tl="$tl ${cfg[*]}"
  $tl config validate
  $tl db upgrade
  echo "== no ../shared/data: a seeded synthetic market (project folder $demo)"
  $tl data synth --symbol BTC/USDT --days 60 --seed 7
  $tl data synth --symbol ETH/USDT --days 60 --seed 8
fi
$tl db check
$tl data status
echo "== production models: one per timeframe for BTC/USDT, logged to MLflow"
$tl train --symbol BTC/USDT
echo "== seed 002, phase 1 on replay: the last 24 h of stored history at full speed"
set +e
$py deploy_production.py "${cfg[@]}" --phase 1 --symbol BTC/USDT --replay --duration 24h
code=$?
set -e
case $code in
  0) echo "(phase 1 APPROVED)";;
  3) echo "(phase 1 REJECTED: the verdict is measured, not forced)";;
  *) echo "phase 1 failed to run (exit $code)"; exit $code;;
esac
$py monitor_production.py "${cfg[@]}" --report --hours 24
echo "== seed 000, strategy graduation rehearsed on the stored history (simulated time)"
if [ ${#cfg[@]} -eq 0 ]; then
  $tl graduation --replay --from 2025-07-01 --to 2026-01-01
else  # the synthetic market's 60 days from 2024-01-01
  $tl graduation --replay --from 2024-02-01 --to 2024-03-01
fi
$tl strategy status --transitions 10
echo "== demo done in $((SECONDS - started)) s"
