#!/usr/bin/env bash
# Make sure the external tools the integration tests drive are installed; CI runs this
# before `npm test`. Each tool has its own install script under scripts/; this one only
# checks and delegates, so adding a tool is one line in TOOLS.
set -euo pipefail
cd "$(dirname "$0")/.."

# tool-on-PATH:install-script
TOOLS=(
  "kcat:scripts/install-kcat.sh"
)

status=0
for entry in "${TOOLS[@]}"; do
  tool="${entry%%:*}"
  script="${entry#*:}"
  if command -v "$tool" >/dev/null 2>&1; then
    echo "ok: $tool ($(command -v "$tool"))"
    continue
  fi
  echo "missing: $tool; running $script"
  if ! bash "$script"; then
    echo "ensure-tools: $script failed; install $tool by hand" >&2
    status=1
  fi
done
exit "$status"
