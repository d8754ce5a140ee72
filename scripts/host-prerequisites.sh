#!/usr/bin/env bash
# What the test suite needs on the host, installed only when missing: Debian's docker.io and mmdebstrap, a running
# dockerd (started in the background where there is no systemd), python3-venv, an ssh client (the lab_vms
# scenario reaches its lab VMs over real SSH) and openssl (test certificates).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[ -x /usr/bin/docker ] || missing+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

if ! /usr/bin/docker version >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl start docker
  else
    echo "starting dockerd in the background (log: /var/log/dockerd.log)"
    $SUDO setsid -f dockerd >>/var/log/dockerd.log 2>&1 </dev/null
  fi
  for _ in $(seq 1 60); do
    /usr/bin/docker version >/dev/null 2>&1 && break
    sleep 1
  done
fi
/usr/bin/docker version --format 'docker engine {{.Server.Version}} is up'
