#!/usr/bin/env bash
# Installs the ONNX Runtime shared library into .ort/lib (git-ignored), or DEST.
#
#   bash scripts/install_ort.sh [DEST]
#   TARGETARCH=arm64 bash scripts/install_ort.sh --print-wheel
#
# Why a PyPI wheel: ort's own download host is unreachable from air-gapped
# machines, while PyPI mirrors are everywhere; the wheel ships the plain C
# library under onnxruntime/capi/. The version is pinned to the one that
# ort 2.0.0-rc.15 targets (API 1.31). The wheel is the one for the build's
# architecture (TARGETARCH, as Docker and buildah set it, else uname -m:
# x86-64 or aarch64), and its sha256 must be the one pinned here.
# --print-wheel prints the wheel that would be installed and its pinned
# sha256, and installs nothing.
set -euo pipefail

ORT_VERSION="${ORT_VERSION:-1.31.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

arch="${TARGETARCH:-$(uname -m)}"
case "$arch" in
  amd64 | x86_64) platform=manylinux_2_28_x86_64 pinned=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f ;;
  arm64 | aarch64) platform=manylinux_2_28_aarch64 pinned=da05378364c44d4407e463982d2bf8d5e4cfea873283757e48beeb41df97b7f3 ;;
  *)
    echo "install_ort.sh: no ONNX Runtime wheel pinned for architecture '$arch' (x86-64 and aarch64 are)" >&2
    exit 2
    ;;
esac
# The pins are for 1.31.1; another version needs its own (ORT_WHEEL_SHA256).
if [[ "$ORT_VERSION" != 1.31.1 || -n "${ORT_WHEEL_SHA256:-}" ]]; then
  pinned="${ORT_WHEEL_SHA256:?ORT_VERSION $ORT_VERSION needs ORT_WHEEL_SHA256, the sha256 of its wheel}"
fi
wheel="onnxruntime-$ORT_VERSION-cp311-cp311-$platform.whl"
if [[ "${1:-}" == --print-wheel ]]; then
  echo "$wheel sha256 $pinned"
  exit 0
fi

dest="${1:-$root/.ort/lib}"
lib="$dest/libonnxruntime.so.$ORT_VERSION"
if [[ -f "$lib" ]]; then
  exit 0
fi

mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "installing ONNX Runtime $ORT_VERSION ($platform) into $dest" >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --platform "$platform" --python-version 3.11 \
  "onnxruntime==$ORT_VERSION" -d "$tmp"
[[ -f "$tmp/$wheel" ]] || { echo "install_ort.sh: pip did not fetch $wheel: $(ls "$tmp")" >&2; exit 1; }
got="$(sha256sum "$tmp/$wheel" | cut -d' ' -f1)"
if [[ "$got" != "$pinned" ]]; then
  echo "install_ort.sh: $wheel has sha256 $got, expected $pinned (pinned); nothing installed" >&2
  exit 1
fi
python3 - "$tmp/$wheel" "$dest" "$ORT_VERSION" <<'PY'
import sys, zipfile
wheel, dest, version = sys.argv[1:]
name = f"onnxruntime/capi/libonnxruntime.so.{version}"
with zipfile.ZipFile(wheel) as archive:
    with archive.open(name) as src, open(f"{dest}/libonnxruntime.so.{version}", "wb") as out:
        out.write(src.read())
PY
ln -sf "libonnxruntime.so.$ORT_VERSION" "$dest/libonnxruntime.so"
echo "ONNX Runtime ready: $lib (wheel sha256 $got, as pinned)" >&2
