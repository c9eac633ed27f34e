#!/usr/bin/env bash
# Installs the ONNX Runtime shared library into .ort/lib (git-ignored).
# Why a PyPI wheel: ort's own download host is unreachable from air-gapped
# machines, while PyPI mirrors are everywhere; the wheel ships the plain C
# library under onnxruntime/capi/. The version is pinned to the one that
# ort 2.0.0-rc.15 targets (API 1.31).
set -euo pipefail

ORT_VERSION="${ORT_VERSION:-1.31.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/.ort/lib}"
lib="$dest/libonnxruntime.so.$ORT_VERSION"

if [[ -f "$lib" ]]; then
  exit 0
fi

mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "installing ONNX Runtime $ORT_VERSION into $dest" >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --python-version 3.11 \
  "onnxruntime==$ORT_VERSION" -d "$tmp"
python3 - "$tmp" "$dest" "$ORT_VERSION" <<'PY'
import glob, sys, zipfile
tmp, dest, version = sys.argv[1:]
name = f"onnxruntime/capi/libonnxruntime.so.{version}"
with zipfile.ZipFile(glob.glob(f"{tmp}/onnxruntime-*.whl")[0]) as wheel:
    with wheel.open(name) as src, open(f"{dest}/libonnxruntime.so.{version}", "wb") as out:
        out.write(src.read())
PY
ln -sf "libonnxruntime.so.$ORT_VERSION" "$dest/libonnxruntime.so"
echo "ONNX Runtime ready: $lib" >&2
