# modprobe as the kernel's helper (/proc/sys/kernel/modprobe): loading
# libcrc32c without its softdep (-i) makes the kernel ask for crypto-crc32c;
# with it (modules.softdep, from depmod) the provider is loaded first and
# the kernel asks nothing. And modprobes racing on the same chain.
# modules: libcrc32c crc32c_generic crc32c-intel 8021q bridge
# timeout: 180

orig=$(cat /proc/sys/kernel/modprobe)
crc_none() { prep_unload libcrc32c crc32c_intel crc32c_generic; }
providers() { grep -E '^crc32c_(generic|intel) ' /proc/modules | cut -d' ' -f1 | sort | tr '\n' ' '; }
# A helper that logs how the kernel called it and how it went.
wrapper() {
	cat >"$1" <<EOF
#!/bin/sh
echo "\$*" >>/tmp/72-req.log
$2 "\$@"
rc=\$?
echo "rc=\$rc" >>/tmp/72-req.log
exit \$rc
EOF
	chmod 755 "$1"
}
wrapper /tmp/72-modbox-helper /bin/modprobe
wrapper /tmp/72-kmod-helper /oracle/bin/modprobe

# kmod as the helper first, for the modules it ends up with.
crc_none
: >/tmp/72-req.log
echo /tmp/72-kmod-helper >/proc/sys/kernel/modprobe
/oracle/bin/modprobe -i libcrc32c
kmod_got=$(providers)
kmod_log=$(cat /tmp/72-req.log)
crc_none

: >/tmp/72-req.log
echo /tmp/72-modbox-helper >/proc/sys/kernel/modprobe
check "/proc/sys/kernel/modprobe is the logging helper" test "$(cat /proc/sys/kernel/modprobe)" = /tmp/72-modbox-helper
run "modprobe -i libcrc32c (the kernel requests crypto-crc32c)" 0 modprobe -i libcrc32c
expect_stderr_empty
loaded libcrc32c
check "the kernel ran the helper with '-q -- crypto-crc32c' ($(head -n 4 /tmp/72-req.log | tr '\n' ';'))" grep -qx -- "-q -- crypto-crc32c" /tmp/72-req.log
check "modbox modprobe, run by the kernel for crypto-crc32c, succeeded" grep -A1 -x -- "-q -- crypto-crc32c" /tmp/72-req.log | grep -qx "rc=0"
# The kernel also asks for crypto-crc32c-all, which nothing provides: exit
# 1 quietly, as kmod's.
modbox_log=$(cat /tmp/72-req.log)
check "the kernel's requests and the helper's exit statuses are kmod's (kmod: $(echo $kmod_log); modbox: $(echo $modbox_log))" test "$modbox_log" = "$kmod_log"
got=$(providers)
check "a crc32c provider was loaded by the kernel's request ($got)" test -n "$got"
check "the same providers as with kmod as the helper (kmod: '$kmod_got', modbox: '$got')" test "$got" = "$kmod_got"
lsmod_same "after the kernel's request"

# With its softdep (pre: crc32c) nothing is left for the kernel to ask.
crc_none
: >/tmp/72-req.log
same_effect_as_oracle "modprobe libcrc32c with its softdep" crc_none modprobe libcrc32c
check "the softdep loaded a provider ($(providers))" test -n "$(providers)"
check "the kernel asked the helper nothing ($(cat /tmp/72-req.log | tr '\n' ';'))" test ! -s /tmp/72-req.log

# The applet link itself as the helper.
crc_none
echo /bin/modprobe >/proc/sys/kernel/modprobe
run "modprobe -i libcrc32c with /bin/modprobe as the kernel's helper" 0 modprobe -i libcrc32c
got=$(providers)
check "a crc32c provider loaded through /bin/modprobe ($got)" test -n "$got"
echo "$orig" >/proc/sys/kernel/modprobe
check "/proc/sys/kernel/modprobe restored ($orig)" test "$(cat /proc/sys/kernel/modprobe)" = "$orig"
crc_none
rm -f /tmp/72-modbox-helper /tmp/72-kmod-helper /tmp/72-req.log

# ---- concurrent modprobes
net_none() { prep_unload 8021q garp mrp bridge stp llc; }
no_duplicates() { test -z "$(cut -d' ' -f1 /proc/modules | sort | uniq -d)"; }

# race N ARGS...: N modprobes at once; every one must exit 0 silently.
race() {
	local n=$1 i pids= bad= rc
	shift
	i=0
	while [ $i -lt $n ]; do
		/bin/modprobe "$@" >"$H/race.$i" 2>&1 &
		pids="$pids $!"
		i=$((i + 1))
	done
	i=0
	for p in $pids; do
		wait $p; rc=$?
		[ $rc = 0 ] || bad="$bad #$i:exit $rc"
		[ -s "$H/race.$i" ] && bad="$bad #$i:'$(head -c 200 "$H/race.$i" | tr '\n' ' ')'"
		i=$((i + 1))
	done
	if [ -z "$bad" ]; then pass "$n concurrent 'modprobe $*': all exit 0, silent"
	else fail "$n concurrent 'modprobe $*': all exit 0, silent" "$bad"; fi
}

net_none
race 2 8021q
for m in llc stp mrp garp 8021q; do loaded $m; done
check "each module once in /proc/modules" no_duplicates
holders_are llc "garp stp"
lsmod_same "after two concurrent modprobe 8021q"

net_none
race 8 8021q
for m in llc stp mrp garp 8021q; do loaded $m; done
check "each module once in /proc/modules" no_duplicates
lsmod_same "after eight concurrent modprobe 8021q"

# Two chains sharing stp and llc.
net_none
/bin/modprobe 8021q >"$H/r1" 2>&1 & p1=$!
/bin/modprobe bridge >"$H/r2" 2>&1 & p2=$!
/bin/modprobe 8021q >"$H/r3" 2>&1 & p3=$!
/bin/modprobe bridge >"$H/r4" 2>&1 & p4=$!
wait $p1; r1=$?; wait $p2; r2=$?; wait $p3; r3=$?; wait $p4; r4=$?
check "concurrent modprobe 8021q / bridge all exit 0 ($r1 $r2 $r3 $r4: $(cat "$H/r1" "$H/r2" "$H/r3" "$H/r4" | head -c 300))" test "$r1$r2$r3$r4" = 0000
check "... and silent" test ! -s "$H/r1" -a ! -s "$H/r2" -a ! -s "$H/r3" -a ! -s "$H/r4"
for m in llc stp mrp garp 8021q bridge; do loaded $m; done
holders_are stp "bridge garp"
check "each module once in /proc/modules" no_duplicates

# Concurrent removals of the same chain: one removes, the others find it
# gone or going; nothing is left behind.
net_none
for m in llc stp mrp garp 8021q; do prep_load $m; done
i=0 pids=
while [ $i -lt 4 ]; do /bin/modprobe -r 8021q >"$H/rr.$i" 2>&1 & pids="$pids $!"; i=$((i + 1)); done
for p in $pids; do wait $p; done
for m in 8021q garp mrp; do not_loaded $m; done
# stp and llc stay, as with kmod 30 (see 70-modprobe).
loaded stp
loaded llc
check "each module once in /proc/modules" no_duplicates
net_none
