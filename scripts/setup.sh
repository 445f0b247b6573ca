#!/usr/bin/env bash
# Set up Fathom on a fresh Debian/Ubuntu machine: a virtual environment in .venv with the
# engine, the GUI and the test tools. Idempotent: a second run only checks.
#
#   bash scripts/setup.sh          # everything (engine, GUI, tests)
#
# System libraries that Qt and VTK need to draw (also under a virtual display) come from apt
# when they are missing and we are root; without root it says which to install.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(xvfb xauth libgl1 libegl1 libgl1-mesa-dri libglu1-mesa libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
  libxcb-render-util0 libxcb-image0 libdbus-1-3 libfontconfig1 libxrender1 libxi6 fonts-dejavu-core)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing system libraries for Qt/VTK: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: the GUI needs these system packages (run as root): apt-get install ${missing[*]}" >&2
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[gui,dev]"
echo "setup: ready ($(.venv/bin/python --version), fathom in .venv/bin/fathom)"
