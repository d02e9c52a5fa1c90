# Sourced by the setup scripts: installs Debian packages that are missing.
#
#   install_debian_packages <who> <package>...
#
# <who> names the calling script in messages. Runs as root, or through sudo;
# refreshes the package lists before installing. Does nothing when every
# package is already installed, so setup scripts stay idempotent and quick.

install_debian_packages() {
  local who=$1
  shift
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "$who: error: run as root or install sudo" >&2
      return 1
    fi
    sudo=(sudo)
  fi

  local missing=() package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$package")
    fi
  done
  if ((${#missing[@]} == 0)); then
    echo "$who: all packages present"
    return 0
  fi
  echo "$who: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
}
