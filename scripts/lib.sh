# Shell functions the check scripts share; `source scripts/lib.sh` from the
# repository root.

# release_binary: prints the release binary's path, building it (and
# installing ONNX Runtime) first unless SKIP_BUILD=1.
release_binary() {
  local bin=target/release/churn-serve
  if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    bash scripts/install_ort.sh >&2
    cargo build --release --locked --quiet >&2
  fi
  [[ -x $bin ]] || { echo "no release binary at $bin" >&2; return 1; }
  echo "$bin"
}

# pinned_venv VENV REQUIREMENTS: VENV (kept out of git by a '*' .gitignore
# inside it) with exactly REQUIREMENTS installed. A stamp of the file's hash
# skips pip on warm runs; when the pins change, VENV is made afresh, so a
# package dropped from the file does not linger.
pinned_venv() {
  local venv=$1 requirements=$2
  local stamp="$venv/.requirements.sha256" want
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    echo "installing $requirements into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    echo '*' >"$venv/.gitignore"
    timeout 900 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
    echo "$want" >"$stamp"
  fi
}

# run NAME COMMAND...: one check, bounded to 5 minutes, with a PASS or FAIL
# line; counts failures in $failed.
failed=0
run() {
  local name=$1
  shift
  printf '\n---- %s ----\n' "$name"
  if timeout --kill-after=10 300 "$@"; then echo "PASS $name"; else echo "FAIL $name"; failed=$((failed + 1)); fi
}
