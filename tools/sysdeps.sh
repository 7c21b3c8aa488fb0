#!/usr/bin/env bash
# Install (as root) or name (otherwise) the Debian/Ubuntu packages milink and its tests need:
# unixODBC for pyodbc, FreeTDS's ODBC driver for the FreeTDS client tests, libltdl7 for
# mssql-python, tmux for looking at the app as a user would.
set -euo pipefail
pkgs=(unixodbc tdsodbc libltdl7 tmux)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "milink needs these system packages (Debian/Ubuntu names): ${missing[*]}" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "milink needs system packages that are not installed. Run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
