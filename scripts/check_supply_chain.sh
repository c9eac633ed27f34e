#!/usr/bin/env bash
# Supply-chain policy for the Rust dependency graph, run by the lint stage:
# cargo-deny with deny.toml checks
#   licenses  every crate's license is on the allow-list (and was understood);
#   bans      no duplicate crate versions beyond the known ones deny.toml
#             lists with a reason, no wildcard version requirements;
#   sources   every crate comes from crates.io (no git, no other registry).
# RustSec advisories are not checked by default: cargo-deny fetches the
# advisory database from GitHub, which CI cannot reach (deny.toml, docs/supply-chain.md).
# Where GitHub is reachable: SUPPLY_CHAIN_ADVISORIES=1 bash scripts/check_supply_chain.sh
#
# cargo-deny is compiled from crates.io at a pinned version into
# .tools/cargo-deny-<version>/ and reused from there; the first install
# compiles ~200 crates (measured: see docs/supply-chain.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CARGO_DENY_VERSION=0.20.2
root=".tools/cargo-deny-$CARGO_DENY_VERSION"
deny="$root/bin/cargo-deny"

if [[ ! -x "$deny" || "$("$deny" --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]]; then
  echo "installing cargo-deny $CARGO_DENY_VERSION into $root (compiles from source; several minutes on 2 cores)"
  start=$SECONDS
  rm -rf "$root"
  # --locked: cargo-deny's own Cargo.lock, not whatever its dependencies
  # published since; CARGO_TARGET_DIR unset so it never touches target/.
  env -u CARGO_TARGET_DIR cargo install --locked --quiet --root "$root" "cargo-deny@$CARGO_DENY_VERSION"
  echo "installed $("$deny" --version) in $((SECONDS - start))s"
fi

checks=(licenses bans sources)
if [[ "${SUPPLY_CHAIN_ADVISORIES:-}" == 1 ]]; then
  checks+=(advisories)
fi
echo "$("$deny" --version): check ${checks[*]}"
# --locked: judge exactly the graph in Cargo.lock, never a re-resolved one.
"$deny" deny --locked --config deny.toml check --show-stats "${checks[@]}"
