# shellcheck shell=bash
# Debian packages the test scripts install, pinned. Source it, then:
#
#   install_deb WHO COMMAND PACKAGE VERSION [SERIES]
#
# installs PACKAGE=VERSION with apt-get (as root, or through sudo) unless
# COMMAND is already on the PATH. Debian's security archive keeps only the
# current update of a package: when VERSION is gone from it and SERIES (a
# version prefix, such as `2.6.`, or `any` for a package such as chromium
# whose updates are new major versions) is given, the archive's current
# version is installed instead, and it must be of that series. WHO
# prefixes messages.

install_deb() {
    local who="$1" command="$2" package="$3" version="$4" series="${5:-}"
    command -v "$command" >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || {
        echo "$who: $command is missing and there is no apt-get to install $package=$version" >&2
        return 1
    }
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || {
            echo "$who: installing $package=$version needs root or sudo" >&2
            return 1
        }
        as_root=(sudo)
    fi
    echo "$who: installing $package=$version (apt-get)"
    if ! apt-cache show "$package=$version" >/dev/null 2>&1; then
        "${as_root[@]}" apt-get update -qq >/dev/null
    fi
    local apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends)
    if "${apt[@]}" "$package=$version" >/dev/null; then
        return 0
    fi
    [ -n "$series" ] || {
        echo "$who: $package=$version could not be installed" >&2
        return 1
    }
    local current
    current=$(apt-cache policy "$package" | awk '/Candidate:/ { print $2 }')
    case "$current" in
        "" | "(none)")
            echo "$who: $package=$version is gone and the archive has no other version" >&2
            return 1
            ;;
        "$series"* | *:"$series"*) ;;
        *)
            [ "$series" = any ] || {
                echo "$who: $package=$version is gone and the archive's $current is not of the $series series" >&2
                return 1
            }
            ;;
    esac
    echo "$who: $package=$version is no longer in the archive; installing its current $current"
    "${apt[@]}" "$package=$current" >/dev/null
}

# HAProxy for the replica test bed and its bench: the pinned package, or the
# archive's newer update of the same series; an HAProxy already installed
# must be of that series too.
HAPROXY_VERSION="2.6.12-1+deb12u4"
HAPROXY_SERIES="2.6."
install_haproxy() {
    local who="$1" installed
    install_deb "$who" haproxy haproxy "$HAPROXY_VERSION" "$HAPROXY_SERIES" || return 1
    installed=$(haproxy -v | awk 'NR == 1 { print $3 }')
    case "$installed" in
        "$HAPROXY_SERIES"*) ;;
        *)
            echo "$who: HAProxy $installed is installed; the test bed is pinned to the $HAPROXY_SERIES series" >&2
            return 1
            ;;
    esac
}
