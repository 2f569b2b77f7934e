#!/usr/bin/env bash
# Install kcat (the librdkafka-based Kafka CLI, Debian package `kcat`) when missing.
# The broker conformance tests drive it to prove librdkafka clients interoperate with
# `tributary broker`; CI runs this before the tests. Idempotent: a no-op when present.
set -euo pipefail

if command -v kcat >/dev/null 2>&1; then
  echo "kcat already installed: $(command -v kcat)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-kcat: need root (or sudo) to apt-get install kcat" >&2
    exit 1
  fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-kcat: apt-get not found; install the 'kcat' package with your system's package manager" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends kcat

command -v kcat >/dev/null 2>&1 || { echo "install-kcat: kcat still not on PATH after install" >&2; exit 1; }
echo "kcat installed: $(command -v kcat)"
