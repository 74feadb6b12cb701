# Races: many modprobes at once on one module chain (loads, removals, and
# loads against removals), modprobes racing the kernel's own requests for
# the same modules (through /proc/sys/kernel/modprobe), and removals with
# -w racing the release of what holds the module (a dependent module, an
# open device). Every run must end as it should, with no spurious message,
# and every module must end up in /proc/modules once and live.
# modules: 8021q bridge minix loop
# timeout: 200

# Hundredths of a second since boot.
now_cs() { read -r u _ </proc/uptime; echo "${u%.*}${u#*.}"; }
T0=$(now_cs)
took() { echo "($1: $(( ($(now_cs) - T0) / 100 )) s since the start)"; }

net_none() { prep_unload 8021q garp mrp bridge stp llc; }
chain() { net_none; for m in llc stp mrp garp 8021q; do prep_load $m; done; }
no_duplicates() { test -z "$(cut -d' ' -f1 /proc/modules | sort | uniq -d)"; }
# Every module in /proc/modules is Live (none left coming or going).
all_live() { test -z "$(awk '$5 != "Live" { print $1 " " $5 }' /proc/modules)"; }
# Loaded or not, for a list: "8021q garp ..." all in /proc/modules.
all_loaded() { for m; do grep -q "^$m " /proc/modules || return 1; done; }
none_loaded() { for m; do grep -q "^$m " /proc/modules && return 1; done; return 0; }

# A batch of background modprobes: start ARGS... adds one (its output in
# $H/race.N), reap NAME waits for all. Loads must exit 0 silently; a
# removal may also find the module gone or still used, as the lines in
# $RM_OK say (one per line, exact), with exit 1.
batch() { N=0; PIDS=; KINDS=; }
start() {
	${MP:-/bin/modprobe} "$@" >"$H/race.$N" 2>&1 &
	PIDS="$PIDS $!"
	case " $* " in *" -r "*) KINDS="$KINDS r" ;; *) KINDS="$KINDS l" ;; esac
	N=$((N + 1))
}
RM_OK=
reap() {
	local name=$1 i=0 p rc kind bad=
	set -- $KINDS
	for p in $PIDS; do
		wait "$p"; rc=$?
		kind=$1; shift
		if [ "$kind" = r ] && [ "$rc" = 1 ] && [ -n "$RM_OK" ] && [ "$(wc -l <"$H/race.$i")" = 1 ] && printf '%s\n' "$RM_OK" | grep -qxF -f "$H/race.$i"; then
			:
		elif [ "$rc" != 0 ] || [ -s "$H/race.$i" ]; then
			bad="$bad #$i($kind):exit $rc '$(head -c 200 "$H/race.$i" | tr '\n' ' ')'"
		fi
		i=$((i + 1))
	done
	if [ -z "$bad" ]; then pass "$name"; else fail "$name" "$bad"; fi
}

# ---- loads racing loads: 12 modprobe 8021q and 4 modprobe bridge at once
# (bridge shares stp and llc with 8021q), two rounds.
for round in 1 2; do
	net_none
	batch
	i=0; while [ $i -lt 12 ]; do start 8021q; [ $((i % 3)) = 0 ] && start bridge; i=$((i + 1)); done
	reap "round $round: 12 modprobe 8021q and 4 modprobe bridge at once all exit 0, silent"
	check "round $round: llc stp mrp garp 8021q bridge loaded" all_loaded llc stp mrp garp 8021q bridge
	check "round $round: each module once in /proc/modules" no_duplicates
	check "round $round: every module live" all_live
	holders_are llc "bridge garp stp"
done
lsmod_same "after the concurrent loads"

took "loads racing loads"
# ---- removals racing removals: 8 modprobe -r 8021q at once. One removes
# each module; the others find it gone or going, which for modprobe -r is
# no error (kmod 30 means the same: its check for a module that vanished
# tests -EEXIST, which delete_module never returns, and so it fails).
for round in 1 2; do
	chain
	batch
	i=0; while [ $i -lt 8 ]; do start -r 8021q; i=$((i + 1)); done
	reap "round $round: 8 modprobe -r 8021q at once all exit 0, silent"
	# stp and llc stay, as after one modprobe -r 8021q (see 70-modprobe):
	# the removals that found 8021q gone leave its dependencies to the one
	# that removed it.
	check "round $round: 8021q garp mrp gone" none_loaded 8021q garp mrp
	check "round $round: stp and llc stay, as after one removal" all_loaded stp llc
	check "round $round: every module live" all_live
done

took "removals racing removals"
# ---- loads racing removals of the same chain: 6 modprobe 8021q and 6
# modprobe -r 8021q interleaved. A load must succeed; a removal may find a
# load's module in use (exit 1, "in use"). At the end one more load and one
# more removal bring it to a known state.
RM_OK="modprobe: FATAL: Module 8021q is in use."
for round in 1 2; do
	chain
	batch
	i=0; while [ $i -lt 6 ]; do start 8021q; start -r 8021q; i=$((i + 1)); done
	reap "round $round: 6 modprobe 8021q racing 6 modprobe -r 8021q: loads exit 0, removals 0 or 'in use'"
	check "round $round: each module once in /proc/modules" no_duplicates
	check "round $round: every module live" all_live
	run "round $round: modprobe 8021q afterwards" 0 modprobe 8021q
	expect_stderr_empty
	check "round $round: the chain is loaded" all_loaded llc stp mrp garp 8021q
	run "round $round: modprobe -r 8021q afterwards" 0 modprobe -r 8021q
	check "round $round: the chain is gone" none_loaded 8021q garp mrp
done
RM_OK=
net_none

took "loads racing removals"
# The removals' race with kmod 30's modprobe, for the record (not
# checked): how many of its runs fail, and with what. Typically 3 of 8,
# "could not remove '8021q': Device or resource busy" (the module going
# under another removal); with 6 loads racing 6 removals, 2 to 5 of 12.
kmod_record() {
	local i=0 p f=0 why=
	for p in $PIDS; do
		wait "$p" || { f=$((f + 1)); why=$(head -n 1 "$H/race.$i"); }
		i=$((i + 1))
	done
	echo "(kmod 30, $1: $f of $N runs failed${why:+, e.g. '$why'})"
}
MP=$ORACLE_DIR/modprobe
chain
batch
i=0; while [ $i -lt 8 ]; do start -r 8021q; i=$((i + 1)); done
kmod_record "8 modprobe -r 8021q at once"
MP=
net_none

took "kmod's races"
# ---- the kernel's requests racing modprobe. The helper logs each call
# and its status; the kernel asks for rtnl-link-vlan (ip link add ... type
# vlan: 8021q and its chain) and fs-minix (mount -t minix) while three
# modprobes of the same module run.
orig=$(cat /proc/sys/kernel/modprobe)
cat >/tmp/74-helper <<'EOF'
#!/bin/sh
/bin/modprobe "$@" >/tmp/74-helper.out.$$ 2>&1
rc=$?
echo "$* rc=$rc $(tr '\n' ' ' </tmp/74-helper.out.$$)" >>/tmp/74-req.log
rm -f /tmp/74-helper.out.$$
exit $rc
EOF
chmod 755 /tmp/74-helper
echo /tmp/74-helper >/proc/sys/kernel/modprobe
requests=0
for round in 1 2 3; do
	net_none
	: >/tmp/74-req.log
	ip link add link lo name vl$round type vlan id $round >/dev/null 2>&1 &
	ipid=$!
	batch
	start 8021q; start 8021q; start 8021q
	reap "vlan round $round: 3 modprobe 8021q beside the kernel's request exit 0, silent"
	wait $ipid
	check "vlan round $round: the helper the kernel ran succeeded each time ($(tr '\n' ';' </tmp/74-req.log))" test -z "$(grep -v ' rc=0 *$' /tmp/74-req.log)"
	grep -q rtnl-link-vlan /tmp/74-req.log && requests=$((requests + 1))
	check "vlan round $round: llc stp mrp garp 8021q loaded" all_loaded llc stp mrp garp 8021q
	check "vlan round $round: each module once, every module live" eval 'no_duplicates && all_live'
	ip link del vl$round >/dev/null 2>&1
done
took "vlan rounds"
mkdir -p /tmp/74-mnt
for round in 1 2 3; do
	prep_unload minix
	: >/tmp/74-req.log
	mount -t minix none /tmp/74-mnt >/dev/null 2>&1 &
	mpid=$!
	batch
	start minix; start minix; start minix
	reap "minix round $round: 3 modprobe minix beside the kernel's request for fs-minix exit 0, silent"
	wait $mpid
	check "minix round $round: the helper the kernel ran succeeded each time ($(tr '\n' ';' </tmp/74-req.log))" test -z "$(grep -v ' rc=0 *$' /tmp/74-req.log)"
	grep -q fs-minix /tmp/74-req.log && requests=$((requests + 1))
	check "minix round $round: minix loaded once, live" eval 'all_loaded minix && no_duplicates && all_live'
done
umount /tmp/74-mnt 2>/dev/null
echo "(the kernel asked the helper in $requests of 6 rounds)"
check "the kernel asked the helper at least once in 6 rounds" test "$requests" -gt 0
echo "$orig" >/proc/sys/kernel/modprobe
rm -f /tmp/74-helper /tmp/74-req.log
prep_unload minix
net_none

took "minix rounds"
# ---- removals with -w racing the holder's release.
# hold SECONDS: /dev/loop0 open (loop's reference count 1) for that long,
# in a process of its own ($hpid); returns once it is open.
hold() {
	rm -f /tmp/74-held
	sh -c 'exec 3</dev/loop0 && : >/tmp/74-held && exec sleep "$1"' sh "$1" &
	hpid=$!
	while [ ! -e /tmp/74-held ]; do sleep 0.05; done
}
refcnt() { cat /sys/module/$1/refcnt; }
# timed NAME RC TOOL ARGS...: run, and $ELAPSED in hundredths of a second.
timed() { local t0; t0=$(now_cs); "$@"; ELAPSED=$(( $(now_cs) - t0 )); }

prep_load loop
hold 2
check "loop's reference count is 1 while /dev/loop0 is open" test "$(refcnt loop)" = 1
timed run "modprobe -r -w 10000 loop (the holder closes /dev/loop0 after 2 s)" 0 modprobe -r -w 10000 loop
expect_stderr_empty
not_loaded loop
check "it waited for the holder (${ELAPSED}/100 s)" test "$ELAPSED" -ge 100
check "and went as soon as it could (${ELAPSED}/100 s, not the whole 10 s)" test "$ELAPSED" -lt 800
wait $hpid

# rmmod -w the same (modbox's only: kmod 30's rmmod has no -w).
prep_load loop
hold 2
timed run "rmmod -w loop (the holder closes /dev/loop0 after 2 s)" 0 rmmod -w loop
expect_stderr_empty
not_loaded loop
check "rmmod -w waited for the holder (${ELAPSED}/100 s)" test "$ELAPSED" -ge 100
wait $hpid

# Not released within the wait: modbox gives up after it and says why; the
# module stays. kmod 30 exits 0 silently then (it takes its last sleep's
# status for the result), or never returns: once the time is past the end,
# its get_backoff_delta_msec() halves its step until now + step <= end,
# which then never holds, and spins (a wake-up a millisecond late is
# enough). So it runs under a limit.
prep_load loop
hold 30
timed run "modprobe -r -w 1500 loop (held for 30 s)" 1 modprobe -r -w 1500 loop
expect_stderr "modprobe: ERROR: could not remove 'loop': Resource temporarily unavailable"
loaded loop
check "it gave up after the 1.5 s wait (${ELAPSED}/100 s)" test "$ELAPSED" -ge 150
check "and no more than 3 s later (${ELAPSED}/100 s)" test "$ELAPSED" -lt 450
timed oracle "kmod: modprobe -r -w 1500 loop (held for 30 s; 0, or killed spinning)" any /bin/timeout -s KILL 6 /oracle/bin/modprobe -r -w 1500 loop
check "kmod exited 0 or was still spinning 6 s later (got $RC after ${ELAPSED}/100 s)" test "$RC" = 0 -o "$RC" = 137
if [ "$RC" = 137 ]; then echo "(kmod 30 was still spinning 6 s after its 1.5 s wait)"; else expect_stderr_empty; fi
loaded loop
kill $hpid; wait $hpid 2>/dev/null
prep_unload loop

took "-w against an open device"
# Several waiters on one module held by a dependent (bridge holds stp):
# when bridge goes, one removes stp and the others find it gone: all exit 0.
net_none
for m in llc stp bridge; do prep_load $m; done
batch
start -r -w 20000 stp; start -r -w 20000 stp; start -r -w 20000 stp
sleep 1
check "three modprobe -r -w stp still waiting while bridge holds stp" kill -0 $PIDS
prep_unload bridge
reap "three modprobe -r -w 20000 stp, bridge removed after 1 s: all exit 0, silent"
check "stp and llc gone" none_loaded stp llc
net_none
took "the end"
