#!/usr/bin/env bash
# Install what hf needs on Debian 12: headless Chrome, FFmpeg's libraries and headers, the C
# toolchain bindgen needs, and fonts. Idempotent: installs only what is missing, and runs
# `apt-get update` once, only when something is missing.
set -euo pipefail

packages=(
  chromium-headless-shell ffmpeg
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev
  pkg-config clang libclang-dev
  fonts-liberation fonts-dejavu-core fonts-noto-core
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
else
  echo "setup: system packages already installed"
fi

# Ray and the hf-ray runner for distributed renders, in a venv of the repo's own (.venv).
venv="$(dirname "$0")/.venv"
if ! "$venv/bin/python" -c "import ray, hf_ray" >/dev/null 2>&1; then
  echo "setup: installing Ray 2.60 and hf-ray into .venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "ray==2.60.0" -e "$(dirname "$0")/distributed/ray"
else
  echo "setup: .venv has Ray and hf-ray"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust 1.95 with rustup (https://rustup.rs) and re-run" >&2
  exit 1
fi
