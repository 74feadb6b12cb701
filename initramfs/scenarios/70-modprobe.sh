# modprobe: dependency chains in and out, dry runs and --show-depends,
# already loaded, --first-time, not found, -q, parameters, aliases; each
# compared with kmod 30's modprobe in the same guest.
# modules: 8021q bridge dummy
# timeout: 180

none() { prep_unload 8021q garp mrp bridge stp llc dummy; }
with_8021q() { none; for m in llc stp mrp garp 8021q; do prep_load $m; done; }
with_bridge() { none; for m in llc stp bridge; do prep_load $m; done; }
with_both() { with_8021q; prep_load bridge; }
# /proc/modules lines, each module once.
no_duplicates() { test -z "$(cut -d' ' -f1 /proc/modules | sort | uniq -d)"; }
# /sys/class/net/dummyN for N < $1, none for $1.
dummies() { [ -d /sys/class/net/dummy$(($1 - 1)) ] && [ ! -e /sys/class/net/dummy$1 ]; }

# ---- dry runs, nothing loaded
none
same_as_oracle "modprobe -n -v 8021q (nothing loaded)" modprobe -n -v 8021q
check "modprobe -n -v 8021q prints five insmod lines" test "$(grep -c '^insmod /lib/modules/' "$H/out")" = 5
expect_stdout_contains "/8021q.ko"
same_as_oracle "modprobe --show-depends 8021q (nothing loaded)" modprobe --show-depends 8021q
check "--show-depends 8021q prints five insmod lines" test "$(grep -c '^insmod ' "$H/out")" = 5
same_as_oracle "modprobe -D bridge" modprobe -D bridge
same_as_oracle "modprobe -R rtnl-link-vlan (alias of 8021q)" modprobe -R rtnl-link-vlan
expect_stdout "8021q"
not_loaded 8021q
not_loaded llc

# ---- loading a chain
run "modprobe 8021q" 0 modprobe 8021q
expect_stdout_empty
expect_stderr_empty
chain_8021q_loaded
lsmod_same "after modprobe 8021q"

# ---- loaded: dry runs and repeated loads
same_as_oracle "modprobe -n -v 8021q (loaded)" modprobe -n -v 8021q
expect_stdout_empty
same_as_oracle "modprobe --show-depends 8021q (loaded)" modprobe --show-depends 8021q
check "--show-depends 8021q (loaded) still prints five lines" test "$(grep -c '^insmod ' "$H/out")" = 5
same_as_oracle "modprobe -n -v bridge (stp and llc loaded)" modprobe -n -v bridge
check "modprobe -n -v bridge prints only bridge" test "$(grep -c . "$H/out")" = 1
expect_stdout_contains "/bridge.ko"
run "modprobe 8021q again (already loaded)" 0 modprobe 8021q
expect_stdout_empty
expect_stderr_empty
same_as_oracle "modprobe 8021q (already loaded)" modprobe 8021q
same_as_oracle "modprobe --first-time 8021q (already loaded)" modprobe --first-time 8021q
check "--first-time on a loaded module exits 1" test "$RC" = 1
expect_stderr "modprobe: ERROR: could not insert '8021q': Module already in kernel"
same_as_oracle "modprobe -q --first-time 8021q (already loaded)" modprobe -q --first-time 8021q
expect_stderr_empty

# ---- bridge beside it, then removal keeps what is still used
run "modprobe bridge (stp, llc already loaded)" 0 modprobe bridge
expect_stderr_empty
loaded bridge
holders_are stp "bridge garp"
holders_are llc "bridge garp stp"
run "modprobe -r 8021q (bridge still uses stp, llc)" 0 modprobe -r 8021q
expect_stderr_empty
for m in 8021q garp mrp; do not_loaded $m; done
for m in bridge stp llc; do loaded $m; done
holders_are stp bridge
lsmod_same "after modprobe -r 8021q"
same_as_oracle "modprobe -r stp (in use by bridge)" modprobe -r stp
expect_stderr "modprobe: FATAL: Module stp is in use."
loaded stp
run "modprobe -r bridge" 0 modprobe -r bridge
expect_stderr_empty
# kmod 30 checks the dependencies' reference counts once each, in the
# reverse of modules.dep's order (bridge: stp llc): llc, still held by stp,
# stays; then stp goes. modbox does the same.
for m in bridge stp; do not_loaded $m; done
loaded llc
lsmod_same "after modprobe -r bridge"

# ---- the same loads and removals, effect compared with kmod's
same_effect_as_oracle "modprobe 8021q" none modprobe 8021q
same_effect_as_oracle "modprobe -v 8021q" none modprobe -v 8021q
check "modprobe -v 8021q printed five insmod lines" test "$(grep -c '^insmod ' "$H/out")" = 5
same_effect_as_oracle "modprobe bridge" none modprobe bridge
same_effect_as_oracle "modprobe bridge (8021q loaded)" with_8021q modprobe bridge
same_effect_as_oracle "modprobe -r 8021q" with_8021q modprobe -r 8021q
# 8021q: garp stp llc mrp, looked at as mrp, llc, stp, garp: llc and stp
# are still held at their turn and stay, as with kmod 30.
for m in 8021q garp mrp; do not_loaded $m; done
loaded stp
same_effect_as_oracle "modprobe -r 8021q (bridge loaded)" with_both modprobe -r 8021q
loaded stp
same_effect_as_oracle "modprobe -r -v 8021q (bridge loaded)" with_both modprobe -r -v 8021q
expect_stdout_contains "rmmod 8021q"
same_effect_as_oracle "modprobe -r bridge" with_bridge modprobe -r bridge
not_loaded stp
same_effect_as_oracle "modprobe -r -n -v bridge" with_bridge modprobe -r -n -v bridge
loaded bridge
same_effect_as_oracle "modprobe -a -r 8021q bridge" with_both modprobe -a -r 8021q bridge
for m in 8021q garp mrp bridge; do not_loaded $m; done
same_effect_as_oracle "modprobe -a dummy bridge" none modprobe -a dummy bridge
same_effect_as_oracle "modprobe rtnl-link-bridge (alias)" none modprobe rtnl-link-bridge
loaded bridge
check "no module twice in /proc/modules" no_duplicates

# ---- --remove-holders, -w
# Removing bridge takes stp with it (unused by then), so stp is gone by its
# own turn: kmod 30 then fails (its test for a module that vanished
# compares with -EEXIST, which delete_module never returns) and says so
# twice; modbox takes gone for done, as kmod means to.
with_bridge
oracle "kmod: modprobe -r --remove-holders stp (bridge holds it)" 1 modprobe -r --remove-holders stp
expect_stderr_contains "could not remove 'stp': No such file or directory"
not_loaded stp
not_loaded bridge
with_bridge
run "modprobe -r --remove-holders stp (bridge holds it)" 0 modprobe -r --remove-holders stp
expect_stderr_empty
not_loaded stp
not_loaded bridge
# A holder that is itself held (garp by 8021q) stops it, as kmod.
same_effect_as_oracle "modprobe -r --remove-holders stp (garp, held by 8021q, holds it too)" with_both modprobe -r --remove-holders stp
loaded stp
# -w whose time runs out: kmod 30 takes its last sleep's status for the
# result and exits 0 silently, the module still loaded; modbox says so and
# exits 1. kmod 30 may also never return: once the time is past the end,
# get_backoff_delta_msec() halves its step until now + step <= end, which
# then never holds (a wake-up a millisecond late is enough, common under
# QEMU): so it runs under a limit here (see also 74-modprobe-races).
with_bridge
oracle "kmod: modprobe -r -w 500 stp (bridge holds it; time runs out; 0, or killed spinning)" any /bin/timeout -s KILL 5 /oracle/bin/modprobe -r -w 500 stp
check "kmod exited 0 or was still spinning 5 s later (got $RC)" test "$RC" = 0 -o "$RC" = 137
if [ "$RC" = 137 ]; then echo "(kmod 30 was still spinning 5 s after its 0.5 s wait)"; else expect_stderr_empty; fi
loaded stp
run "modprobe -r -w 500 stp (bridge holds it; time runs out)" 1 modprobe -r -w 500 stp
expect_stderr "modprobe: ERROR: could not remove 'stp': Resource temporarily unavailable"
loaded stp
# -w while the holder goes away: the removal happens.
with_bridge
/bin/modprobe -r -w 20000 stp >"$H/w.out" 2>&1 &
wpid=$!
sleep 1
check "modprobe -r -w 20000 stp still waiting while bridge holds stp" kill -0 $wpid
prep_unload bridge
wait $wpid
wrc=$?
check "modprobe -r -w stp exited 0 once bridge went (got $wrc: $(cat "$H/w.out"))" test "$wrc" = 0
not_loaded stp

# ---- built-in modules and built-in aliases
b=$(sed -n 's|.*/\([^/]*\)\.ko$|\1|p' "$MODDIR/modules.builtin" | grep -v -e - | head -n 1)
same_as_oracle "modprobe --show-depends $b (built in)" modprobe --show-depends $b
expect_stdout "builtin $b"
same_as_oracle "modprobe $b (built in)" modprobe $b
same_as_oracle "modprobe -r $b (built in)" modprobe -r $b
ba=$(tr '\0' '\n' <"$MODDIR/modules.builtin.modinfo" | sed -n 's/^[^.]*\.alias=//p' | grep -v '[][*?]' | head -n 1)
same_as_oracle "modprobe -R $ba (alias of a built-in module)" modprobe -R "$ba"
same_as_oracle "modprobe --show-depends $ba (alias of a built-in module)" modprobe --show-depends "$ba"
same_as_oracle "modprobe $ba (alias of a built-in module)" modprobe "$ba"

# ---- --dump-modversions
same_as_oracle "modprobe --dump-modversions (llc)" modprobe --dump-modversions "$(ko llc)"
check "--dump-modversions lists symbols" test "$(grep -c '^0x[0-9a-f]*	' "$H/out")" -gt 3

# ---- not loaded / not found
none
same_as_oracle "modprobe -r dummy (not loaded)" modprobe -r dummy
same_as_oracle "modprobe -r --first-time dummy (not loaded)" modprobe -r --first-time dummy
expect_stderr "modprobe: FATAL: Module dummy is not in kernel."
same_as_oracle "modprobe nosuchmodule" modprobe nosuchmodule
check "modprobe nosuchmodule exits 1" test "$RC" = 1
expect_stderr "modprobe: FATAL: Module nosuchmodule not found in directory /lib/modules/$KVER"
run "modprobe -q nosuchmodule" 1 modprobe -q nosuchmodule
expect_stdout_empty
expect_stderr_empty
same_as_oracle "modprobe -q nosuchmodule" modprobe -q nosuchmodule
same_as_oracle "modprobe -r nosuchmodule" modprobe -r nosuchmodule
same_as_oracle "modprobe pci:v0000DEADd0000BEEF... (no driver)" modprobe 'pci:v0000DEADd0000BEEFsv0sd0bc0sc0i0'
same_effect_as_oracle "modprobe -a dummy nosuchmodule" none modprobe -a dummy nosuchmodule
loaded dummy
same_as_oracle "modprobe without a name" modprobe

# ---- parameters on the command line
same_effect_as_oracle "modprobe dummy numdummies=2" none modprobe dummy numdummies=2
check "numdummies=2: dummy0, dummy1 and no dummy2" dummies 2
same_effect_as_oracle "modprobe rtnl-link-dummy numdummies=3 (alias)" none modprobe rtnl-link-dummy numdummies=3
check "numdummies=3 through the alias: dummy2 and no dummy3" dummies 3
same_as_oracle "modprobe -n -v dummy numdummies=5" modprobe -n -v dummy numdummies=5
none
same_as_oracle "modprobe -n -v dummy numdummies=5 (not loaded)" modprobe -n -v dummy numdummies=5
expect_stdout_contains " numdummies=5"
lsmod_same "at the end"
none
