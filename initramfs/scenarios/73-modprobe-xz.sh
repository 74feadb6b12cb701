# modprobe of the .ko.xz modules 6.12 ships: modules.dep names them, the
# kernel decompresses them (/sys/module/compression is xz).
# modules: 8021q crc7
# kernels: 6.12

none() { prep_unload 8021q garp mrp stp llc crc7; }
with_8021q() { none; for m in llc stp mrp garp 8021q; do prep_load $m; done; }
check "the kernel decompresses xz" grep -qx xz /sys/module/compression
p=$(ko_real crc7)
check "crc7 is shipped as .ko.xz ($p)" test "${p%.ko.xz}" != "$p"
none
same_as_oracle "modprobe -n -v crc7 (.ko.xz)" modprobe -n -v crc7
expect_stdout "insmod $p "
same_effect_as_oracle "modprobe crc7 (.ko.xz)" none modprobe crc7
expect_stderr_empty
loaded crc7
# The insert path modprobe shares with insmod: the kernel decompresses.
prep_unload crc7
run "insmod -v crc7.ko.xz (the path modprobe takes)" 0 insmod -v "$p"
expect_stderr_contains "decompressed by the kernel"
prep_unload crc7
same_as_oracle "modprobe --show-depends 8021q (.ko.xz)" modprobe --show-depends 8021q
check "all five are .ko.xz" test "$(grep -c '\.ko\.xz $' "$H/out")" = 5
run "modprobe 8021q (five .ko.xz)" 0 modprobe 8021q
expect_stderr_empty
for m in llc stp mrp garp 8021q; do loaded $m; done
lsmod_same "after modprobe 8021q from .ko.xz"
same_effect_as_oracle "modprobe -r 8021q" with_8021q modprobe -r 8021q
for m in mrp garp 8021q; do not_loaded $m; done
none
