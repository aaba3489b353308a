#!/bin/sh
# deps.sh PACKAGE... - installs the Debian packages that are missing (as root), or prints the
# exact apt-get line to run and fails (as another user). A package named like a command that is
# on PATH already counts as installed. The lists are the Makefile's (DEPS_<target>).
# one dpkg-query for all: "ii" is installed
have=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null | sed -n 's/^ii  *//p')
missing=""
for p in "$@"; do
	printf '%s\n' "$have" | grep -qx -- "$p" && continue
	# a tool installed another way (npm with NodeSource's nodejs, which conflicts with Debian's
	# npm package) counts as there
	case $p in *-dev|lib*) ;; *) command -v "$p" >/dev/null 2>&1 && continue ;; esac
	missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >&2 || exit 1
else
	echo "missing Debian packages; run:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi
