# rmmod: modules in use, not loaded, built in; names, suffixes and paths;
# -f and -w.
# modules: bridge crc7 crc-itu-t loop
# timeout: 180

E="rmmod: ERROR:"

same_as_oracle "rmmod without a name" rmmod
expect_stderr "$E missing module name."

same_as_oracle "rmmod of a module not loaded" rmmod nosuchmodule
expect_stderr "$E Module nosuchmodule is not currently loaded"

# Built in, listed in modules.builtin, no /sys/module directory.
b=
for cand in sha256_generic crc32c_generic $(sed 's|.*/||; s|\.ko$||' "$MODDIR/modules.builtin" | tr - _); do
	grep -q "/$(echo $cand | sed 's/_/[-_]/g')\.ko\$" "$MODDIR/modules.builtin" && [ ! -d /sys/module/$cand ] && { b=$cand; break; }
done
same_as_oracle "rmmod of a built-in module ($b)" rmmod $b
expect_stderr "$E Module $b is builtin."

# Built in, listed, with a /sys/module directory (it has parameters).
for cand in i8042 8250 $(sed 's|.*/||; s|\.ko$||' "$MODDIR/modules.builtin" | tr - _); do
	[ -d /sys/module/$cand ] && [ ! -e /sys/module/$cand/initstate ] && { b=$cand; break; }
done
same_as_oracle "rmmod of a built-in module with parameters ($b)" rmmod $b
expect_stderr "$E Module $b is builtin."

# Built in but not in modules.builtin (never a module: vt, printk). kmod
# 30 takes the /sys/module directory for a module being loaded and fails
# on its missing holders/; modbox calls it built in.
oracle "kmod rmmod vt" 1 rmmod vt
run "rmmod vt (built in, not in modules.builtin)" 1 rmmod vt
expect_stderr "$E Module vt is builtin."

# In use by other modules.
setup_bridge() { prep_load llc; prep_load stp; prep_load bridge; }
setup_bridge
same_as_oracle "rmmod stp, used by bridge" rmmod stp
expect_stderr "$E Module stp is in use by: bridge"
same_as_oracle "rmmod llc, used by bridge and stp" rmmod llc
expect_stderr_contains "$E Module llc is in use by: "
loaded stp
lsmod_same "with bridge loaded"

# -f does not override holders: the kernel refuses (EWOULDBLOCK). kmod
# prints libkmod's line (with its source file and line) and its own;
# modbox the same two without the source position.
oracle "kmod rmmod -f stp, used by bridge" 1 rmmod -f stp
run "rmmod -f stp, used by bridge" 1 rmmod -f stp
expect_stderr "$E could not remove 'stp': Resource temporarily unavailable
$E could not remove module stp: Resource temporarily unavailable"
loaded stp

# In use through a reference count only: an open loop device.
prep_load loop
exec 3</dev/loop0
same_as_oracle "rmmod loop with /dev/loop0 open" rmmod loop
expect_stderr "$E Module loop is in use"
exec 3<&-
run "rmmod loop once closed" 0 rmmod loop
not_loaded loop

# -f on an unused module is a plain removal.
prep_load crc7
run "rmmod -f crc7 (unused)" 0 rmmod -f crc7
expect_stderr_empty
not_loaded crc7

# Names: - and _ alike, a .ko suffix, a path to the file.
load_citt() { prep_load crc-itu-t; }
same_effect_as_oracle "rmmod crc-itu-t (dash)" load_citt rmmod crc-itu-t
not_loaded crc_itu_t
same_effect_as_oracle "rmmod crc_itu_t (underscore)" load_citt rmmod crc_itu_t
not_loaded crc_itu_t
load_crc7() { prep_load crc7; }
same_effect_as_oracle "rmmod crc7.ko (suffix, no such file here)" load_crc7 rmmod crc7.ko
not_loaded crc7
same_effect_as_oracle "rmmod by path" load_crc7 rmmod "$(ko crc7)"
not_loaded crc7

# Several names: every one is tried, the status says one failed.
load_two() { prep_load crc7; prep_load crc-itu-t; }
same_effect_as_oracle "rmmod crc7 nosuchmodule crc_itu_t" load_two rmmod crc7 nosuchmodule crc_itu_t
not_loaded crc7
not_loaded crc_itu_t
lsmod_same "after the name forms"

# -w waits for the holders to go, then removes (modbox only: kmod 30 has
# no -w). bridge is still loaded from above.
setup_bridge
/bin/rmmod -w stp >"$H/w.out" 2>&1 &
wpid=$!
sleep 2
check "rmmod -w stp still waiting while bridge holds stp" kill -0 $wpid
loaded stp
run "rmmod bridge (the holder)" 0 rmmod bridge
i=0
while kill -0 $wpid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
if kill -0 $wpid 2>/dev/null; then
	fail "rmmod -w stp finished after bridge went" "still running 10 s later"
	kill $wpid
else
	wait $wpid
	wrc=$?
	check "rmmod -w stp exited 0 (got $wrc: $(cat "$H/w.out"))" test $wrc = 0
fi
not_loaded stp
run "rmmod llc" 0 rmmod llc
lsmod_same "after rmmod -w"
