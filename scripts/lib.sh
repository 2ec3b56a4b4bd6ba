# Shared setup helpers for scripts/*: each installs only what is missing.

# apt packages, installed when any is missing (needs root or sudo).
ensure_apt() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing system packages: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "Rust is not installed: install it with rustup (https://rustup.rs) and run this again." >&2
    exit 1
  fi
  if command -v rustup >/dev/null 2>&1; then
    rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
  fi
}

ensure_nextest() {
  cargo nextest --version >/dev/null 2>&1 && return 0
  echo "installing cargo-nextest (one-time, a few minutes)" >&2
  cargo install cargo-nextest --locked
}

# Installs web/'s npm packages when node_modules is missing or older than the lockfile, then
# builds the UI into web/dist (which `grove` release builds and grove-desktop embed).
build_web() {
  (cd web && { [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run -s build)
}
