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

# ensure_pkg PACKAGE...: install PACKAGE(s) with apt-get (root only).
ensure_pkg() {
	[ "$(id -u)" = 0 ] || die "$* is missing and only root can install it with apt-get"
	apt_update_once
	log "installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 \
		|| die "apt-get install $* failed"
}

# ensure_cmd CMD PACKAGE...: install PACKAGE(s) when CMD is not on PATH.
ensure_cmd() {
	local cmd=$1; shift
	command -v "$cmd" >/dev/null 2>&1 && return 0
	ensure_pkg "$@"
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
	ensure_cmd zstd zstd
	ensure_cmd python3 python3
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
	local flavour=$1 meta pkg ver dir tmp deb kver try
	meta=$(kernel_meta_package "$flavour") || die "unknown kernel flavour '$flavour' (use 6.1 or 6.12)"
	ensure_cmd apt-get apt
	ensure_cmd dpkg dpkg
	# Two tries: with the package lists as they are (no network needed when
	# the kernel they name is cached), then with fresh ones, for a machine
	# that never ran apt-get update or whose lists name a .deb the archive
	# has since replaced.
	for try in 1 2; do
		[ "$try" = 2 ] && apt_update_once
		pkg=$(_kernel_resolve "$meta")
		[ -n "$pkg" ] || continue
		ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '$1 == "Version:" { print $2; exit }')
		[ -n "$ver" ] || continue
		dir=$MB_CACHE/kernels/${pkg}_${ver}
		if [ -f "$dir/.complete" ]; then
			log "kernel $flavour: $pkg $ver (cached)"
			printf '%s\n' "$dir"
			return 0
		fi
		mkdir -p "$MB_CACHE/kernels" || die "cannot create $MB_CACHE/kernels"
		tmp=$dir.part.$$
		rm -rf "$tmp"; mkdir -p "$tmp/deb"
		log "kernel $flavour: downloading $pkg $ver"
		# As root apt drops to the _apt user, which cannot write here.
		if (cd "$tmp/deb" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2); then
			break
		fi
		rm -rf "$tmp"
		[ -n "$_mb_apt_updated" ] && break
	done
	[ -n "$pkg" ] || die "cannot resolve $meta to a kernel package (apt-cache depends found none)"
	[ -n "$ver" ] || die "apt-cache knows no version of $pkg"
	deb=$(ls "$tmp"/deb/*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || { rm -rf "$tmp"; die "apt-get download $pkg=$ver failed"; }
	log "kernel $flavour: extracting $(basename "$deb")"
	mkdir -p "$tmp/root"
	dpkg -x "$deb" "$tmp/root" || { rm -rf "$tmp"; die "dpkg -x $deb failed"; }
	kver=$(ls "$tmp/root/lib/modules" 2>/dev/null | head -n 1)
	[ -n "$kver" ] && [ -f "$tmp/root/boot/vmlinuz-$kver" ] \
		|| { rm -rf "$tmp"; die "$pkg has no lib/modules/KVER with a boot/vmlinuz-KVER"; }
	printf '%s\n' "$kver" >"$tmp/root/KVER"
	printf '%s\n' "$dir/boot/vmlinuz-$kver" >"$tmp/root/VMLINUZ"
	printf '%s %s %s\n' "$flavour" "$pkg" "$ver" >"$tmp/root/PACKAGE"
	: >"$tmp/root/.complete"
	# Another run may have finished the same kernel meanwhile: keep its tree,
	# which it may be using.
	if [ -f "$dir/.complete" ]; then
		rm -rf "$tmp"
	else
		rm -rf "$dir"
		mv "$tmp/root" "$dir" || die "cannot move the extracted tree to $dir"
		rm -rf "$tmp"
	fi
	log "kernel $flavour: $kver ready in $dir"
	printf '%s\n' "$dir"
}

kernel_kver() { cat "$1/KVER"; }
kernel_vmlinuz() { cat "$1/VMLINUZ"; }

# ---------------------------------------------------------------- modbox

# The static musl build the initramfs carries.
build_modbox() {
	ensure_cmd cargo cargo
	log "building modbox (cargo build --release --target $MB_TARGET)"
	(cd "$MB_REPO" && cargo build --release --target "$MB_TARGET" >&2) || die "cargo build of modbox failed"
	[ -x "$MB_BIN" ] || die "cargo build produced no $MB_BIN"
}

# The toolchain bits cargo needs for the musl target. Machines here have
# RUSTUP_AUTO_INSTALL=0, so rust-toolchain.toml installs nothing by itself.
ensure_rust_target() {
	command -v rustup >/dev/null 2>&1 || { command -v cargo >/dev/null 2>&1 && return 0; die "neither rustup nor cargo is installed"; }
	(cd "$MB_REPO" && rustup target list --installed 2>/dev/null | grep -qx "$MB_TARGET") || {
		log "rustup target add $MB_TARGET"
		(cd "$MB_REPO" && rustup target add "$MB_TARGET" >&2) || die "rustup target add $MB_TARGET failed"
	}
	(cd "$MB_REPO" && rustup component list --installed 2>/dev/null | grep -q '^rust-src') || {
		log "rustup component add rust-src"
		(cd "$MB_REPO" && rustup component add rust-src >&2) || die "rustup component add rust-src failed"
	}
}

# ---------------------------------------------------------------- VMs

# Kernel command line every boot gets. panic=-1 turns a dying init into an
# immediate reboot, which -no-reboot turns into QEMU's exit.
MB_BASE_APPEND='console=ttyS0 panic=-1 quiet'

# run_qemu KERNEL INITRD APPEND RAWLOG TIMEOUT SMP [STREAM]: boots, returns
# 124 on timeout, else QEMU's status. With STREAM=1 the serial output is
# shown on stdout while the guest runs (CRs removed); with STREAM=2 only
# what the guest program prints between the markers.
run_qemu() {
	local kernel=$1 initrd=$2 append=$3 raw=$4 timeout=$5 smp=$6 stream=${7:-0} qpid tpid rc
	: >"$raw"
	timeout -k 5 "$timeout" qemu-system-x86_64 \
		-machine q35 -accel tcg -cpu max -m 512 -smp "$smp" \
		-nodefaults -display none -no-reboot \
		-serial "file:$raw" \
		-kernel "$kernel" -initrd "$initrd" \
		-append "$MB_BASE_APPEND $append" </dev/null >"$raw.qemu" 2>&1 &
	qpid=$!
	case $stream in
	1) tail -n +1 -f --pid="$qpid" "$raw" | tr -d '\r' & tpid=$! ;;
	2) tail -n +1 -f --pid="$qpid" "$raw" | tr -d '\r' | program_output & tpid=$! ;;
	esac
	wait "$qpid"; rc=$?
	[ -n "${tpid-}" ] && wait "$tpid"
	if [ -s "$raw.qemu" ]; then
		log "qemu said: $(tr '\n' ' ' <"$raw.qemu")"
	fi
	rm -f "$raw.qemu"
	return "$rc"
}

# The guest program's lines from a serial log on stdin, without the markers
# and the kernel's own lines around them. Unbuffered, to follow a live log.
program_output() {
	awk -v b="$MB_BEGIN_MARK" -v e="$MB_END_MARK" \
		'index($0, e) == 1 { exit } on { print; fflush() } index($0, b) == 1 { on = 1 }'
}

# guest_verdict LOG: 0 when the guest ran its program to the end and that
# program succeeded; otherwise says why on stderr.
guest_verdict() {
	local log=$1 end
	if ! grep -q "^$MB_BEGIN_MARK" "$log"; then
		log "FAIL: the guest never started its program (no $MB_BEGIN_MARK in $log)"
		grep -E 'Kernel panic|not syncing|BUG:|Oops' "$log" | head -n 5 >&2
		return 1
	fi
	end=$(grep "^$MB_END_MARK" "$log" | tail -n 1)
	if [ -z "$end" ]; then
		log "FAIL: the guest did not reach the end ($MB_END_MARK missing in $log): it died, panicked or hung"
		grep -E 'Kernel panic|not syncing|BUG:|Oops|Attempted to kill init' "$log" | head -n 5 >&2
		return 1
	fi
	case $end in
	*" rc=0"*) return 0 ;;
	*) log "FAIL: the guest program failed (${end#"$MB_END_MARK" })"; return 1 ;;
	esac
}

# module_path MODDIR NAME: the module's file in the tree (- and _ alike).
module_path() {
	local pat
	pat=$(printf '%s' "$2" | sed 's/[-_]/[-_]/g')
	find "$1" -regextype posix-extended -regex ".*/$pat\.ko(\.xz|\.gz|\.zst)?" | head -n 1
}

# scenario_header FILE KEY: the words of "# KEY: ..." lines, joined.
scenario_header() { sed -n "s/^# $2: *//p" "$1" | tr '\n' ' '; }

# scenario_applies FILE FLAVOUR: whether "# kernels:" admits FLAVOUR.
scenario_applies() {
	local k
	k=$(scenario_header "$1" kernels)
	[ -z "${k// /}" ] && return 0
	case " $k " in *" all "*|*" $2 "*) return 0 ;; esac
	return 1
}

# boot_guest KERNEL INITRD APPEND LOG TIMEOUT SMP STREAM: run_qemu, then the
# serial log without CRs in LOG; status 0 only when the guest reached its end
# marker with its program successful.
boot_guest() {
	local kernel=$1 initrd=$2 append=$3 logf=$4 timeout=$5 smp=$6 stream=$7 rc start
	start=$(date +%s)
	run_qemu "$kernel" "$initrd" "$append" "$logf.raw" "$timeout" "$smp" "$stream"
	rc=$?
	tr -d '\r' <"$logf.raw" >"$logf"
	rm -f "$logf.raw"
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		log "FAIL: the guest did not finish within ${timeout}s (QEMU killed); log: $logf"
		return 1
	fi
	log "guest ran $(( $(date +%s) - start ))s (QEMU exit status $rc)"
	guest_verdict "$logf"
}
