# insmod of modules without dependencies, with and without parameters.
# modules: dummy loop crc7 crc-itu-t

for m in crc7 crc-itu-t; do
	p=$(ko $m)
	run "insmod $m" 0 insmod "$p"
	expect_stdout_empty
	expect_stderr_empty
	loaded $m
done
lsmod_same "after crc7, crc-itu-t"

# dummy's numdummies has no sysfs attribute (permission 0): the devices it
# made are the read-back.
run "insmod dummy numdummies=3" 0 insmod "$(ko dummy)" numdummies=3
expect_stderr_empty
loaded dummy
check "numdummies=3 made dummy0..dummy2" test -d /sys/class/net/dummy0 -a -d /sys/class/net/dummy2
check "numdummies=3 made no dummy3" test ! -e /sys/class/net/dummy3

run "insmod loop max_loop=4 max_part=7" 0 insmod "$(ko loop)" max_loop=4 max_part=7
expect_stderr_empty
param_is loop max_loop 4
param_is loop max_part 7
lsmod_same "after dummy, loop"

run "rmmod of all four" 0 rmmod crc7 crc_itu_t dummy loop
expect_stderr_empty
for m in crc7 crc_itu_t dummy loop; do not_loaded $m; done
lsmod_same "after removing them"

# The kernel ignores an unknown parameter with a warning (since 3.17): the
# module loads, as with kmod.
unload_crc7() { prep_unload crc7; }
same_effect_as_oracle "insmod crc7 bogus=1 (unknown parameter)" unload_crc7 insmod "$(ko crc7)" bogus=1
loaded crc7
klog_mark
prep_unload crc7
run "insmod crc7 bogus=1" 0 insmod "$(ko crc7)" bogus=1
check "kernel warned about bogus" sh -c 'dmesg | tail -n 20 | grep -q "crc7: unknown parameter .bogus. ignored"'
prep_unload crc7

# A value the parameter's type refuses fails the load: EINVAL, which kmod
# calls "Invalid parameters".
same_as_oracle --stderr-prefix "insmod loop max_loop=abc" insmod "$(ko loop)" max_loop=abc
expect_stderr_first_line "insmod: ERROR: could not insert module $(ko loop): Invalid parameters"
not_loaded loop

# Parameters with quoted values reach the kernel as one word each.
run "insmod loop 'max_loop=\"3\"'" 0 insmod "$(ko loop)" 'max_loop="3"'
param_is loop max_loop 3
prep_unload loop

same_as_oracle "insmod without a file" insmod
run "insmod without a file (modbox)" 1 insmod
expect_stderr "insmod: ERROR: missing filename."
same_as_oracle "insmod of a missing file" insmod /lib/modules/nonexistent.ko
expect_stderr "insmod: ERROR: could not load module /lib/modules/nonexistent.ko: No such file or directory"
lsmod_same "at the end"
