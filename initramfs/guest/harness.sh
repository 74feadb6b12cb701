# Guest-side test helpers, sourced by /guest/test for every scenario
# (busybox ash). A scenario is a shell file of checks; each check prints one
# line, "PASS name" or "FAIL name: what went wrong", with expected and got
# below it, and appends that line to $RESULTS for the final count.
#
# Module tools are always called by absolute path: Debian's busybox sh runs
# its own insmod/rmmod/... for a bare name before it looks at PATH.

MODBOX_DIR=/bin
ORACLE_DIR=/oracle/bin
RESULTS=/tmp/results
KVER=$(uname -r)
MODDIR=/lib/modules/$KVER
H=/tmp/h
mkdir -p "$H"
: "${SCEN:=adhoc}"

# ---------------------------------------------------------------- reporting

_indent() {
	local t; t=$(cat)
	if [ -z "$t" ]; then echo "      (empty)"
	else printf '%s\n' "$t" | sed -e 's/^/      | /' -e '15q'; fi
}

pass() {
	echo "PASS $SCEN: $1"
	echo "PASS $SCEN: $1" >>"$RESULTS"
}

# fail NAME DETAILS [EXPECTED_FILE GOT_FILE]
fail() {
	echo "FAIL $SCEN: $1: $2"
	echo "FAIL $SCEN: $1: $2" >>"$RESULTS"
	if [ $# -ge 4 ]; then
		echo "    expected:"; _indent <"$3"
		echo "    got:"; _indent <"$4"
	fi
}

# check NAME CMD...: PASS when CMD succeeds.
check() {
	local name=$1; shift
	if "$@" >"$H/check.out" 2>&1; then pass "$name"
	else fail "$name" "'$*' failed: $(head -c 300 "$H/check.out" | tr '\n' ' ')"; fi
}

# ---------------------------------------------------------------- running tools

# Which file runs for a tool name: modbox's applet link, kmod's link, or a
# path given as such.
_tool() {
	case $2 in
	/*) echo "$2" ;;
	*) echo "$1/$2" ;;
	esac
}

_rc_ok() {
	case $1 in
	any) return 0 ;;
	nonzero) [ "$2" != 0 ] ;;
	*) [ "$2" = "$1" ] ;;
	esac
}

# _exec DIR NAME RC CMD ARGS...: runs, keeps the results in $OUT/$ERR/$RC
# (and the files $H/out, $H/err) for the expect_* checks, checks the status.
_exec() {
	local dir=$1 name=$2 want=$3 cmd
	shift 3
	cmd=$(_tool "$dir" "$1"); shift
	LAST=$name
	"$cmd" "$@" >"$H/out" 2>"$H/err"
	RC=$?
	OUT=$(cat "$H/out"); ERR=$(cat "$H/err")
	if _rc_ok "$want" "$RC"; then pass "$name (exit $RC)"
	else
		fail "$name" "exit status $RC, expected $want"
		[ -s "$H/err" ] && { echo "    stderr:"; _indent <"$H/err"; }
	fi
}

# run NAME RC TOOL ARGS...: run modbox's TOOL (insmod, rmmod, lsmod, ... or
# an absolute path); RC is a number, "nonzero" or "any".
run() { _exec "$MODBOX_DIR" "$@"; }
# oracle NAME RC TOOL ARGS...: the same with kmod's tool.
oracle() { _exec "$ORACLE_DIR" "$@"; }

# _expect_file WHAT FILE TEXT: FILE must hold exactly TEXT plus a newline
# (or nothing when TEXT is empty).
_expect_file() {
	local what=$1 file=$2
	if [ -z "$3" ]; then : >"$H/want"; else printf '%s\n' "$3" >"$H/want"; fi
	if cmp -s "$H/want" "$file"; then pass "$LAST: $what"
	else fail "$LAST: $what" "differs" "$H/want" "$file"; fi
}
expect_stdout() { _expect_file stdout "$H/out" "$1"; }
expect_stderr() { _expect_file stderr "$H/err" "$1"; }
expect_stdout_empty() { _expect_file "stdout empty" "$H/out" ""; }
expect_stderr_empty() { _expect_file "stderr empty" "$H/err" ""; }

_expect_contains() {
	if grep -qF -- "$3" "$2"; then pass "$LAST: $1 has '$3'"
	else
		printf '%s\n' "$3" >"$H/want"
		fail "$LAST: $1 has '$3'" "not found" "$H/want" "$2"
	fi
}
expect_stdout_contains() { _expect_contains stdout "$H/out" "$1"; }
expect_stderr_contains() { _expect_contains stderr "$H/err" "$1"; }
expect_stderr_lacks() {
	if grep -qF -- "$1" "$H/err"; then fail "$LAST: stderr lacks '$1'" "found" /dev/null "$H/err"
	else pass "$LAST: stderr lacks '$1'"; fi
}
# expect_stderr_first_line TEXT: the first line exactly (modbox adds the
# kernel's log lines after kmod's one-line message).
expect_stderr_first_line() {
	printf '%s\n' "$1" >"$H/want"
	head -n 1 "$H/err" >"$H/got1"
	if cmp -s "$H/want" "$H/got1"; then pass "$LAST: stderr first line"
	else fail "$LAST: stderr first line" "differs" "$H/want" "$H/err"; fi
}

_show_stderrs() {
	cmp -s "$H/m.err" "$H/k.err" && return
	echo "    kmod's stderr:"; _indent <"$H/k.err"
	echo "    modbox's stderr:"; _indent <"$H/m.err"
}

# libkmod's own ERR() lines carry its source position in Debian's build
# ("modprobe: ERROR: ../libkmod/libkmod-module.c:856 kmod_module_remove_module()
# could not remove ..."); modbox prints the same line without it.
_no_srcpos() {
	sed 's|^\([a-z]*: ERROR: \)[^ ]*libkmod[^ ]*:[0-9]* [a-z_0-9]*() |\1|' "$1" >"$1.tmp" && mv "$1.tmp" "$1"
}

# same_as_oracle [--stderr-prefix] [--no-srcpos] NAME TOOL ARGS...: modbox's
# and kmod's TOOL give the same exit status, stdout and stderr, byte for
# byte. With --stderr-prefix kmod's stderr need only begin modbox's (modbox
# appends the kernel's log lines to insmod errors); with --no-srcpos
# libkmod's source positions are taken out of kmod's stderr first. Only for
# commands whose first run leaves nothing changed for the second (modbox
# runs first).
same_as_oracle() {
	local prefix= nosrc= name tool
	[ "$1" = --stderr-prefix ] && { prefix=1; shift; }
	[ "$1" = --no-srcpos ] && { nosrc=1; shift; }
	name=$1 tool=$2; shift 2
	"$(_tool "$MODBOX_DIR" "$tool")" "$@" >"$H/m.out" 2>"$H/m.err"; local mrc=$?
	"$(_tool "$ORACLE_DIR" "$tool")" "$@" >"$H/k.out" 2>"$H/k.err"; local krc=$?
	[ -n "$nosrc" ] && _no_srcpos "$H/k.err"
	cp "$H/m.out" "$H/out"; cp "$H/m.err" "$H/err"; RC=$mrc; LAST=$name
	local bad=
	[ "$mrc" = "$krc" ] || bad="exit status $mrc, kmod's $krc"
	if ! cmp -s "$H/m.out" "$H/k.out"; then
		fail "$name" "${bad:+$bad; }stdout differs from kmod's" "$H/k.out" "$H/m.out"
		_show_stderrs; return
	fi
	if [ -n "$prefix" ]; then
		head -c "$(wc -c <"$H/k.err")" "$H/m.err" >"$H/m.errp"
	else
		cp "$H/m.err" "$H/m.errp"
	fi
	if ! cmp -s "$H/m.errp" "$H/k.err"; then
		fail "$name" "${bad:+$bad; }stderr differs from kmod's" "$H/k.err" "$H/m.err"; return
	fi
	if [ -n "$bad" ]; then
		fail "$name" "$bad"
		echo "    stderr:"; _indent <"$H/m.err"
		return
	fi
	pass "$name (same as kmod, exit $mrc)"
}

# same_effect_as_oracle [--stderr-prefix] [--no-srcpos] NAME SETUP TOOL ARGS...: for
# commands that change the kernel's state. SETUP (a shell function, or :)
# brings the state to the starting point; then kmod's TOOL runs, SETUP again,
# then modbox's. Exit status, stdout, stderr and the set of loaded modules
# afterwards must be the same.
same_effect_as_oracle() {
	local prefix= nosrc= name setup tool mrc krc bad=
	[ "$1" = --stderr-prefix ] && { prefix=1; shift; }
	[ "$1" = --no-srcpos ] && { nosrc=1; shift; }
	name=$1 setup=$2 tool=$3; shift 3
	$setup
	"$(_tool "$ORACLE_DIR" "$tool")" "$@" >"$H/k.out" 2>"$H/k.err"; krc=$?
	[ -n "$nosrc" ] && _no_srcpos "$H/k.err"
	cut -d' ' -f1 /proc/modules | sort >"$H/k.mods"
	$setup
	"$(_tool "$MODBOX_DIR" "$tool")" "$@" >"$H/m.out" 2>"$H/m.err"; mrc=$?
	cut -d' ' -f1 /proc/modules | sort >"$H/m.mods"
	cp "$H/m.out" "$H/out"; cp "$H/m.err" "$H/err"; RC=$mrc; LAST=$name
	OUT=$(cat "$H/out"); ERR=$(cat "$H/err")
	[ "$mrc" = "$krc" ] || bad="exit status $mrc, kmod's $krc"
	if ! cmp -s "$H/m.out" "$H/k.out"; then
		fail "$name" "${bad:+$bad; }stdout differs from kmod's" "$H/k.out" "$H/m.out"
		_show_stderrs; return
	fi
	if [ -n "$prefix" ]; then head -c "$(wc -c <"$H/k.err")" "$H/m.err" >"$H/m.errp"
	else cp "$H/m.err" "$H/m.errp"; fi
	if ! cmp -s "$H/m.errp" "$H/k.err"; then
		fail "$name" "${bad:+$bad; }stderr differs from kmod's" "$H/k.err" "$H/m.err"; return
	fi
	if ! cmp -s "$H/m.mods" "$H/k.mods"; then
		fail "$name" "${bad:+$bad; }loaded modules differ from kmod's" "$H/k.mods" "$H/m.mods"; return
	fi
	if [ -n "$bad" ]; then
		fail "$name" "$bad"; echo "    stderr:"; _indent <"$H/m.err"; return
	fi
	pass "$name (same effect as kmod, exit $mrc)"
}

# lsmod_same PHASE: modbox's lsmod is kmod's, byte for byte.
lsmod_same() { same_as_oracle "lsmod same as kmod $1" lsmod; }

# ---------------------------------------------------------------- kernel state

_proc_line() { grep "^$1 " /proc/modules; }
_norm() { echo "$1" | tr - _; }

loaded() {
	local m; m=$(_norm "$1")
	if _proc_line "$m" >/dev/null; then pass "$m loaded"
	else fail "$m loaded" "not in /proc/modules"; fi
}
not_loaded() {
	local m; m=$(_norm "$1")
	if _proc_line "$m" >/dev/null; then fail "$m not loaded" "in /proc/modules: $(_proc_line "$m")"
	else pass "$m not loaded"; fi
}
# param_is MOD PARAM VALUE
param_is() {
	local f=/sys/module/$(_norm "$1")/parameters/$2 got
	if [ ! -r "$f" ]; then fail "$1.$2 = $3" "no $f"; return; fi
	got=$(cat "$f")
	if [ "$got" = "$3" ]; then pass "$1.$2 = $3"
	else fail "$1.$2 = $3" "expected '$3', got '$got'"; fi
}
# holders_are MOD "a b": /proc/modules' "used by" list, sorted.
holders_are() {
	local m got want
	m=$(_norm "$1")
	got=$(_proc_line "$m" | awk '{print $4}' | tr ',' '\n' | grep -v '^-$' | grep . | sort | tr '\n' ' ')
	want=$(echo $2 | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
	if [ "$got" = "$want" ]; then pass "$m used by '$2'"
	else fail "$m used by '$2'" "expected '$want', got '$got'"; fi
}
# chain_8021q_loaded: 8021q and its dependencies are in, each used by the
# modules that need it (scenarios load it with insmod and with modprobe).
chain_8021q_loaded() {
	local m
	for m in llc stp mrp garp 8021q; do loaded $m; done
	holders_are garp 8021q
	holders_are mrp 8021q
	holders_are stp garp
	holders_are llc "garp stp"
}
# taint_has LETTER: /proc/sys/kernel/tainted has the flag (E=unsigned 13,
# O=out-of-tree 12, F=forced 1) set.
tainted_bit() { [ $(( $(cat /proc/sys/kernel/tainted) >> $1 & 1 )) = 1 ]; }

# The kernel log since the last klog_mark, for checks on what it said.
klog_mark() { dmesg | wc -l >"$H/klog.mark"; }
klog_since() { dmesg | tail -n +$(( $(cat "$H/klog.mark" 2>/dev/null || echo 0) + 1 )); }

# ---------------------------------------------------------------- module files

# Path of a module as shipped (maybe compressed), from modules.dep.
ko_real() {
	local m rel
	m=$(_norm "$1")
	rel=$(cut -d: -f1 "$MODDIR/modules.dep" | while read -r p; do
		b=${p##*/}; b=${b%%.ko*}
		[ "$(_norm "$b")" = "$m" ] && { echo "$p"; break; }
	done)
	[ -n "$rel" ] || { echo "ko: $1 is not in $MODDIR/modules.dep" >&2; return 1; }
	echo "$MODDIR/$rel"
}

# ko NAME: path of an uncompressed copy of the module (the shipped file on
# kernels with plain .ko); the insmod/rmmod scenarios do not depend on
# modbox reading compressed modules, which has scenarios of its own.
ko() {
	local p b
	p=$(ko_real "$1") || return 1
	case $p in
	*.ko) echo "$p" ;;
	*.ko.xz)
		b=${p##*/}; b=/tmp/ko/${b%.xz}
		[ -f "$b" ] || { mkdir -p /tmp/ko && xz -dc "$p" >"$b"; } || return 1
		echo "$b" ;;
	*) echo "ko: cannot decompress $p" >&2; return 1 ;;
	esac
}

# Setup and cleanup go through kmod, so that one modbox bug does not turn
# every later check into a failure too.
prep_load() {
	local m=$1 p; shift
	_proc_line "$(_norm "$m")" >/dev/null && return 0
	p=$(ko "$m") || return 1
	"$ORACLE_DIR/insmod" "$p" "$@" || echo "setup: kmod insmod $m failed" >&2
}
prep_unload() {
	local m
	for m in "$@"; do
		m=$(_norm "$m")
		_proc_line "$m" >/dev/null && { "$ORACLE_DIR/rmmod" "$m" || echo "cleanup: kmod rmmod $m failed" >&2; }
	done
	return 0
}
