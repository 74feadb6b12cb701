# With module.sig_enforce=1 only modules with a good signature load.
# boot: sig_enforce module.sig_enforce=1
# modules: crc7
# fixture: crc7-unsigned.ko unsigned crc7
# fixture: crc7-badsig.ko badsig crc7
# fixture: crc7-vermagic-release.ko vermagic-release crc7

F=/fixtures
E="insmod: ERROR: could not insert module"
check "sig_enforce is on" grep -qx Y /sys/module/module/parameters/sig_enforce

same_as_oracle --stderr-prefix "insmod of an unsigned module" insmod $F/crc7-unsigned.ko
expect_stderr_first_line "$E $F/crc7-unsigned.ko: Key was rejected by service"
expect_stderr_contains "Loading of unsigned module is rejected"
not_loaded crc7

same_as_oracle --stderr-prefix "insmod of a bad signature" insmod $F/crc7-badsig.ko
expect_stderr_first_line "$E $F/crc7-badsig.ko: Key was rejected by service"
not_loaded crc7

same_as_oracle --stderr-prefix "insmod of an unsigned module with another release" insmod $F/crc7-vermagic-release.ko
expect_stderr_first_line "$E $F/crc7-vermagic-release.ko: Key was rejected by service"
not_loaded crc7

run "insmod of the signed module" 0 insmod "$(ko crc7)"
expect_stderr_empty
loaded crc7
check "the kernel is not tainted" test "$(cat /proc/sys/kernel/tainted)" = 0
lsmod_same "after the signed module"
run "rmmod crc7" 0 rmmod crc7
