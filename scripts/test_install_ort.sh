#!/usr/bin/env bash
# Tests of scripts/install_ort.sh's wheel choice and hash pin (lint stage):
# each architecture name picks its wheel, an unknown one is refused, and a
# wheel whose sha256 is not the pinned one is not installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

failed=0
expect() { # expect WHAT GOT WANTED
  if [[ "$2" == "$3" ]]; then echo "ok   $1: $2"; else echo "FAIL $1: got '$2', wanted '$3'"; failed=1; fi
}
x86="onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl sha256 5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f"
arm="onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_aarch64.whl sha256 da05378364c44d4407e463982d2bf8d5e4cfea873283757e48beeb41df97b7f3"
expect "TARGETARCH=amd64" "$(TARGETARCH=amd64 bash scripts/install_ort.sh --print-wheel)" "$x86"
expect "TARGETARCH=arm64" "$(TARGETARCH=arm64 bash scripts/install_ort.sh --print-wheel)" "$arm"
expect "uname x86_64" "$(TARGETARCH=x86_64 bash scripts/install_ort.sh --print-wheel)" "$x86"
expect "uname aarch64" "$(TARGETARCH=aarch64 bash scripts/install_ort.sh --print-wheel)" "$arm"
status=0
TARGETARCH=riscv64 bash scripts/install_ort.sh --print-wheel 2>/dev/null || status=$?
expect "riscv64 is refused" "$status" 2

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
ORT_WHEEL_SHA256="$(printf '0%.0s' {1..64})" bash scripts/install_ort.sh "$tmp/lib" 2>"$tmp/err" || status=$?
expect "a wheel off its pin is refused" "$status" 1
grep -q "expected 0000" "$tmp/err" && grep -q "has sha256 5752bd50" "$tmp/err" || { echo "FAIL the refusal names both hashes: $(cat "$tmp/err")"; failed=1; }
[[ ! -e "$tmp/lib/libonnxruntime.so.1.31.1" ]] || { echo "FAIL a refused wheel was installed"; failed=1; }
exit "$failed"
