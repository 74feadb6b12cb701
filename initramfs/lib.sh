# Shared code for the initramfs tools (fetch-kernel, mkinitramfs, run-vm,
# vm-test, demo, bench). Sourced with bash; the caller sets MB_PROG first.
#
# Everything the tools need from outside is installed on demand, because CI
# and the demo run on fresh machines where only Debian's archive is reachable.

MB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MB_REPO=$(cd "$MB_DIR/.." && pwd)
MB_CACHE=${MODBOX_CACHE:-$MB_REPO/target/cache}
MB_PROG=${MB_PROG:-${0##*/}}
MB_TARGET=x86_64-unknown-linux-musl
MB_BIN=$MB_REPO/target/$MB_TARGET/release/modbox

# The guest prints these around its results; a log without the end marker
# means the guest died, panicked or hung, whatever QEMU's exit code says.
MB_BEGIN_MARK='@@MODBOX-BEGIN@@'
MB_END_MARK='@@MODBOX-END@@'

log() { printf '%s: %s\n' "$MB_PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$MB_PROG" "$*" >&2; exit 1; }
# Bad arguments: one line, exit status 2 like most command-line tools.
usage_die() { printf '%s: %s (try --help)\n' "$MB_PROG" "$*" >&2; exit 2; }

# Option values: refuse a missing one instead of swallowing the next option.
need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || usage_die "option $1 needs a value"; }

_mb_apt_updated=
apt_update_once() {
	[ -n "$_mb_apt_updated" ] && return 0
	log "apt-get update"
	DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || die "apt-get update failed"
	_mb_apt_updated=1
}

# ensure_cmd CMD PACKAGE...: install PACKAGE(s) when CMD is not on PATH.
ensure_cmd() {
	local cmd=$1; shift
	command -v "$cmd" >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] || die "$cmd is missing and only root can install $* with apt-get"
	apt_update_once
	log "installing $* (for $cmd)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 \
		|| die "apt-get install $* failed"
	command -v "$cmd" >/dev/null 2>&1 || die "$cmd still missing after installing $*"
}

# Debian's busybox-static is a static binary at /bin/busybox; the dynamic
# "busybox" package would need its libc in the initramfs too.
ensure_static_busybox() {
	if [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; then return 0; fi
	apt_update_once
	log "installing busybox-static"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2 || die "apt-get install busybox-static failed"
	[ -x /bin/busybox ] || die "/bin/busybox missing after installing busybox-static"
}

ensure_host_tools() {
	ensure_cmd cpio cpio
	ensure_cmd gzip gzip
	ensure_cmd xz xz-utils
	ensure_cmd python3 python3
	ensure_cmd kmod kmod
	ensure_static_busybox
}

ensure_qemu() {
	ensure_cmd qemu-system-x86_64 qemu-system-x86
}

# ---------------------------------------------------------------- kernels

# Debian meta package for a flavour. The real package (with its ABI number)
# is resolved through the meta package's dependency every time, so a kernel
# update in the archive is picked up without editing anything here.
kernel_meta_package() {
	case $1 in
	6.1) echo linux-image-amd64 ;;
	6.12) echo linux-image-6.12-amd64 ;;
	*) return 1 ;;
	esac
}

_kernel_resolve() {
	local meta=$1
	apt-cache depends "$meta" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}

# fetch_kernel FLAVOUR: prints the extracted package root. The cache dir
# holds KVER (kernel release) and VMLINUZ (path) beside the package's files,
# and .complete once extraction finished, so a half-extracted tree (an
# interrupted run) is never reused.
fetch_kernel() {
	local flavour=$1 meta pkg ver dir tmp deb kver
	meta=$(kernel_meta_package "$flavour") || die "unknown kernel flavour '$flavour' (use 6.1 or 6.12)"
	ensure_cmd apt-get apt
	ensure_cmd dpkg dpkg
	pkg=$(_kernel_resolve "$meta")
	if [ -z "$pkg" ]; then
		apt_update_once
		pkg=$(_kernel_resolve "$meta")
	fi
	[ -n "$pkg" ] || die "cannot resolve $meta to a kernel package (apt-cache depends found none)"
	ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '$1 == "Version:" { print $2; exit }')
	[ -n "$ver" ] || die "apt-cache knows no version of $pkg"
	dir=$MB_CACHE/kernels/${pkg}_${ver}
	if [ -f "$dir/.complete" ]; then
		log "kernel $flavour: $pkg $ver (cached)"
		printf '%s\n' "$dir"
		return 0
	fi
	mkdir -p "$MB_CACHE/kernels" || die "cannot create $MB_CACHE/kernels"
	rm -rf "$dir"
	tmp=$dir.part.$$
	rm -rf "$tmp"; mkdir -p "$tmp/deb"
	log "kernel $flavour: downloading $pkg $ver"
	# As root apt drops to the _apt user, which cannot write here.
	if ! (cd "$tmp/deb" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2); then
		# A stale package list names a .deb the archive no longer has.
		apt_update_once
		(cd "$tmp/deb" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) \
			|| { rm -rf "$tmp"; die "apt-get download $pkg=$ver failed"; }
	fi
	deb=$(ls "$tmp"/deb/*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || { rm -rf "$tmp"; die "apt-get download left no .deb"; }
	log "kernel $flavour: extracting $(basename "$deb")"
	mkdir -p "$tmp/root"
	dpkg -x "$deb" "$tmp/root" || { rm -rf "$tmp"; die "dpkg -x $deb failed"; }
	kver=$(ls "$tmp/root/lib/modules" 2>/dev/null | head -n 1)
	[ -n "$kver" ] && [ -f "$tmp/root/boot/vmlinuz-$kver" ] \
		|| { rm -rf "$tmp"; die "$pkg has no lib/modules/KVER with a boot/vmlinuz-KVER"; }
	mv "$tmp/root" "$dir" || die "cannot move the extracted tree to $dir"
	rm -rf "$tmp"
	printf '%s\n' "$kver" >"$dir/KVER"
	printf '%s\n' "$dir/boot/vmlinuz-$kver" >"$dir/VMLINUZ"
	printf '%s %s %s\n' "$flavour" "$pkg" "$ver" >"$dir/PACKAGE"
	: >"$dir/.complete"
	log "kernel $flavour: $kver ready in $dir"
	printf '%s\n' "$dir"
}

kernel_kver() { cat "$1/KVER"; }
kernel_vmlinuz() { cat "$1/VMLINUZ"; }
