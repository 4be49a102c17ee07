#!/usr/bin/env bash
# Builds the release binary and the access-server image from deploy/Containerfile.
# Usage: deploy/build-image.sh [TAG] [podman build args...]
#   deploy/build-image.sh localhost/access-server:latest --build-arg BASE=localhost/debian:bookworm
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-localhost/access-server:latest}"
shift || true
cargo build --release --locked -p access-server --bin access-server
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp deploy/Containerfile "$context/"
cp "${CARGO_TARGET_DIR:-target}/release/access-server" "$context/"
podman build --format docker -t "$tag" "$@" "$context"
