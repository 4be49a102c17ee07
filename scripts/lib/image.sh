# The container image, on demand (not in CI's default list: a release build and a Debian
# base take ~10 minutes). Sourced after common.sh; not run.
#
#   scripts/test image
#
# Steps of suite_image:
#   1. podman and buildah from Debian. No registry is reachable here, so the base is a
#      debootstrap'd Debian bookworm imported as localhost/lock-access-base:bookworm (kept).
#   2. deploy/build-image.sh builds the release binary and the image (chroot isolation: this
#      sandbox's cgroups do not let a runtime start containers).
#   3. The image's config: non-root user, the data volume, the HEALTHCHECK command.
#   4. The image runs under buildah's chroot isolation (no runtime needed): the server
#      starts as uid 10001 on a host directory as its volume, the image's own health check
#      passes, an administrator signs in, and after a restart the data is still there.

IMAGE_BASE=localhost/lock-access-base:bookworm
IMAGE_TAG=localhost/access-server:test

_image_base() {
  podman image exists "$IMAGE_BASE" && return 0
  local tmp
  tmp="$(mktemp -d "$CACHE_ROOT/image-base.XXXXXX")"
  step "image: debootstrap bookworm as $IMAGE_BASE (~2 min)"
  unshare --mount --propagation private \
    debootstrap --variant=minbase bookworm "$tmp/rootfs" http://deb.debian.org/debian \
    >"$tmp/debootstrap.log" 2>&1 ||
    { tail -n 20 "$tmp/debootstrap.log" >&2; rm -rf "$tmp"; die "debootstrap failed"; return 1; }
  tar -C "$tmp/rootfs" -c . | podman import - "$IMAGE_BASE" >/dev/null
  rm -rf "$tmp"
}

# Runs `buildah run` on container $1 as the image's user, with the data dir as the volume.
_image_run() {
  local ctr="$1" data="$2" port="$3"
  shift 3
  buildah run --isolation chroot -v "$data:/var/lib/access-server" \
    --env "ACCESS_LISTEN=127.0.0.1:$port" --env ACCESS_ADMIN_EMAIL=boss@image.example \
    --env ACCESS_ADMIN_PASSWORD=image-test-password "$ctr" "$@"
}

_image_login() {
  curl -fsS -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
    -d '{"email":"boss@image.example","password":"image-test-password"}' \
    "http://127.0.0.1:$1/api/v1/sessions"
}

suite_image() {
  need_rust_build_deps
  need_apt podman buildah debootstrap curl
  with_cache_lock image _image_base
  step "image: deploy/build-image.sh"
  deploy/build-image.sh "$IMAGE_TAG" --isolation=chroot --build-arg "BASE=$IMAGE_BASE"
  local config
  config="$(podman image inspect --format '{{.Config.User}}|{{json .Config.Healthcheck.Test}}|{{json .Config.Volumes}}' "$IMAGE_TAG")"
  echo "image config: $config"
  [[ "$config" == 'access|["CMD","access-server","healthcheck"]|{"/var/lib/access-server":{}}' ]] ||
    { die "unexpected image config: $config"; return 1; }

  local ctr data port pid i
  ctr="$(buildah from "$IMAGE_TAG")"
  data="$(mktemp -d)"
  chown 10001:10001 "$data"
  port="$(free_port)"
  on_exit "buildah rm $ctr >/dev/null 2>&1; rm -rf $data"
  [ "$(_image_run "$ctr" "$data" "$port" id -u)" = 10001 ] || { die "the image does not run as uid 10001"; return 1; }
  for round in first restarted; do
    step "image: server in the image ($round)"
    setsid bash -c "$(declare -f _image_run); _image_run $ctr $data $port access-server" \
      >"$data.log" 2>&1 &
    pid=$!
    for i in $(seq 100); do
      _image_run "$ctr" "$data" "$port" access-server healthcheck >/dev/null 2>&1 && break
      [ "$i" -lt 100 ] || { tail -20 "$data.log" >&2; die "the image's health check never passed"; return 1; }
      sleep 0.2
    done
    [ "$(_image_login "$port")" = 201 ] || { die "sign-in through the image's server failed"; return 1; }
    kill -TERM -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    ! _image_run "$ctr" "$data" "$port" access-server healthcheck >/dev/null 2>&1 ||
      { die "the health check passed with the server stopped"; return 1; }
  done
  [ "$(stat -c %u "$data/access.db")" = 10001 ] || { die "access.db is not the image user's"; return 1; }
  rm -f "$data.log"
  step "image: builds, runs as uid 10001, health check passes, data survives a restart"
}
