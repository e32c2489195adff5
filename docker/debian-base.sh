#!/usr/bin/env bash
# A Debian base image made without any image registry: debootstrap a minimal bookworm root
# from Debian's packages and import it. For machines that reach Debian's mirror but no
# registry (as this project's own); elsewhere the Dockerfile's default base (debian:bookworm-slim)
# comes from Docker Hub and this script is not needed.
#   usage: docker/debian-base.sh [IMAGE]      (default: aelab-debian:bookworm; needs root)
set -euo pipefail
image="${1:-aelab-debian:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
root="$(mktemp -d /var/tmp/aelab-debian-root.XXXXXX)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar --numeric-owner -C "$root" -c . | docker import - "$image"
echo "Imported $image"
