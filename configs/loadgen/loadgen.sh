#!/bin/sh
# Demo traffic for churn-serve: posts rows of models/golden.jsonl to the API,
# single predictions mostly, a batch every 10th request and a malformed body
# every 50th (so the error panels show 4xx), until MAX_REQUESTS (0 = forever).
# POSIX sh + curl only: runs in curlimages/curl (docker-compose.demo.yml,
# profile "loadgen") and in scripts/check_container.sh.
set -eu

API_URL="${API_URL:-http://api:8000}"
GOLDEN="${GOLDEN:-/data/golden.jsonl}"
INTERVAL="${INTERVAL:-0.2}"
MAX_REQUESTS="${MAX_REQUESTS:-0}"
BATCH_SIZE="${BATCH_SIZE:-16}"

rows=$(wc -l < "$GOLDEN")
# Drops the golden probability: {"customer": {...}, "churn_probability": p} -> {...}
customer() {
  sed -n "$1p" "$GOLDEN" | sed -e 's/^{"customer": //' -e 's/, "churn_probability": [-+0-9.eE]*}$//'
}
post() {
  curl -sS -o /dev/null -w '%{http_code}' --max-time 10 \
    -H 'content-type: application/json' --data-binary "$2" "$API_URL$1" || echo 000
}

echo "loadgen: $rows golden rows -> $API_URL (every ${INTERVAL}s, max ${MAX_REQUESTS:-0} requests)"
i=0
ok=0
while [ "$MAX_REQUESTS" -eq 0 ] || [ "$i" -lt "$MAX_REQUESTS" ]; do
  i=$((i + 1))
  row=$(( (i * 7919) % rows + 1 ))
  if [ $((i % 50)) -eq 0 ]; then
    code=$(post /api/v1/predict '{"credit_score": "not a number"}')
  elif [ $((i % 10)) -eq 0 ]; then
    last=$(( row + BATCH_SIZE - 1 ))
    [ "$last" -le "$rows" ] || { row=1; last=$BATCH_SIZE; }
    body=$(sed -n "${row},${last}p" "$GOLDEN" \
      | sed -e 's/^{"customer": //' -e 's/, "churn_probability": [-+0-9.eE]*}$//' \
      | paste -sd, -)
    code=$(post /api/v1/predict/batch "{\"customers\": [$body]}")
  else
    code=$(post /api/v1/predict "$(customer "$row")")
  fi
  case "$code" in 2*) ok=$((ok + 1)) ;; esac
  if [ $((i % 100)) -eq 0 ]; then
    echo "loadgen: $i requests, $ok answered 2xx"
  fi
  sleep "$INTERVAL"
done
echo "loadgen: done, $i requests, $ok answered 2xx"
