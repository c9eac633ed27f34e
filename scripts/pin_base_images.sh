#!/usr/bin/env bash
# Re-pin the Dockerfile's base images: for each `ARG *_IMAGE=<name>:<tag>[@sha256:...]`
# ask the registry for the tag's current digest and rewrite the ARG as
# <name>:<tag>@sha256:<digest>. Run it where the registries are reachable
# (not in CI, which reaches only package registries), review the diff, and
# update the comment above each ARG (build date, versions) from the registry.
#
#   bash scripts/pin_base_images.sh            rewrite Dockerfile
#   bash scripts/pin_base_images.sh --check    exit 1 if a pin is not the tag's current digest
#
# The digest pinned is that of the bytes the registry serves for the tag: for
# these images a multi-arch index (OCI image index or Docker manifest list),
# so one pin serves amd64 and arm64. A tag that resolves to a single-platform
# manifest is refused, because pinning it would silently drop the other
# architectures.
# Needs skopeo (apt-get install skopeo) and python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

check=""
[[ "${1:-}" == --check ]] && check=1
command -v skopeo >/dev/null || { echo "skopeo not found: apt-get install skopeo" >&2; exit 2; }

raw="$(mktemp)"
trap 'rm -f "$raw"' EXIT
stale=0
edits=() # applied only once every tag has resolved: all pins move together or none
while IFS= read -r line; do
  arg="${line%%=*}"
  arg="${arg#ARG }"
  ref="${line#*=}"
  tagged="${ref%@*}"
  # --raw: the exact bytes the registry serves for the tag; their sha256 is
  # the digest that `tag@digest` is checked against at pull time. Kept in a
  # file: a shell variable would drop a trailing newline and change the hash.
  skopeo inspect --raw --retry-times 3 "docker://$tagged" >"$raw"
  media="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("mediaType", ""))' "$raw")"
  case "$media" in
    application/vnd.oci.image.index.v1+json | application/vnd.docker.distribution.manifest.list.v2+json) ;;
    *) echo "$tagged: the registry serves '$media', not a multi-arch index; not pinning it" >&2; exit 1 ;;
  esac
  digest="sha256:$(sha256sum "$raw" | cut -d' ' -f1)"
  pinned="$tagged@$digest"
  if [[ "$ref" == "$pinned" ]]; then
    echo "$arg: $pinned (current)"
  elif [[ -n "$check" ]]; then
    echo "$arg: pinned $ref, the tag now resolves to $digest"
    stale=1
  else
    edits+=(-e "s|^ARG $arg=.*|ARG $arg=$pinned|")
    echo "$arg: $ref -> $pinned"
  fi
done < <(grep -E '^ARG [A-Z_]+_IMAGE=' Dockerfile)
if ((${#edits[@]})); then
  sed -i "${edits[@]}" Dockerfile
  echo "Dockerfile rewritten: review the diff and the comments above the ARGs"
fi
exit "$stale"
