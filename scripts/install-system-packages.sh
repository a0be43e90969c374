#!/usr/bin/env bash
# Install the Debian packages listed in $1 that are missing. Says clearly what
# it could not do and how to do it by hand; never fails the build for a package
# that only a feature needs, but does exit non-zero if apt is there and fails.
set -u
list="${1:-hardware/system-packages.txt}"
mapfile -t wanted < <(grep -v '^\s*#' "$list" | awk 'NF {print $1}')
[ "${#wanted[@]}" -eq 0 ] && exit 0

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: cannot install system packages here (no apt-get): ${missing[*]}" >&2
  echo "setup: install them with your package manager; features that need them will report a device fault." >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "setup: need root to install: ${missing[*]}; run: apt-get install ${missing[*]}" >&2
    exit 0
  fi
fi
echo "setup: installing system packages: ${missing[*]}"
if ! { $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
       { $sudo apt-get update >/dev/null 2>&1 && $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }; }; then
  echo "setup: apt-get could not install: ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
