# insmod failures: what the kernel answers, kmod's wording, and the extra
# lines modbox prints from the kernel log.
# modules: crc7 kvm-intel coretemp acpi-cpufreq
# fixture: crc7-notmodule.ko notmodule
# fixture: crc7-truncated.ko truncate crc7
# fixture: crc7-badsig.ko badsig crc7
# fixture: crc7-tampered.ko tampered crc7
# fixture: crc7-unsigned.ko unsigned crc7
# fixture: crc7-vermagic-flags.ko vermagic-flags crc7
# fixture: crc7-vermagic-release.ko vermagic-release crc7
# fixture: crc7-vermagic-signed.ko vermagic-signed crc7

F=/fixtures
E="insmod: ERROR: could not insert module"
release=$(uname -r)

# EEXIST
prep_load crc7
same_as_oracle --stderr-prefix "insmod of a loaded module" insmod "$(ko crc7)"
expect_stderr_first_line "$E $(ko crc7): File exists"
prep_unload crc7

# ENOEXEC from the ELF checks; modbox adds the kernel's line and its own
# reading of the file.
same_as_oracle --stderr-prefix "insmod of a text file" insmod $F/crc7-notmodule.ko
expect_stderr_first_line "$E $F/crc7-notmodule.ko: Invalid module format"
expect_stderr_contains "Invalid ELF header"
not_loaded crc7

same_as_oracle --stderr-prefix "insmod of a truncated module" insmod $F/crc7-truncated.ko
expect_stderr_first_line "$E $F/crc7-truncated.ko: Invalid module format"
not_loaded crc7

# A signature that does not verify is fatal even without sig_enforce: only
# a missing signature (or key) is let through with a taint.
for f in badsig tampered vermagic-signed; do
	same_as_oracle --stderr-prefix "insmod of crc7-$f.ko" insmod $F/crc7-$f.ko
	expect_stderr_first_line "$E $F/crc7-$f.ko: Key was rejected by service"
	not_loaded crc7
done

# Unsigned: loads, taints the kernel (E, bit 13), logs it.
unload_crc7() { prep_unload crc7; }
same_effect_as_oracle "insmod of an unsigned module" unload_crc7 insmod $F/crc7-unsigned.ko
expect_stderr_empty
loaded crc7
check "unsigned module tainted the kernel (E)" tainted_bit 13
check "kernel logged the missing signature" sh -c 'dmesg | grep -q "crc7: module verification failed: signature and/or required key missing"'
lsmod_same "after the unsigned module"
prep_unload crc7

# vermagic: with MODVERSIONS the kernel skips the release part (symbol CRCs
# stand for it) and compares only what follows the first space.
same_effect_as_oracle "insmod with another release in vermagic" unload_crc7 insmod $F/crc7-vermagic-release.ko
loaded crc7
prep_unload crc7
same_as_oracle --stderr-prefix "insmod with other flags in vermagic" insmod $F/crc7-vermagic-flags.ko
expect_stderr_first_line "$E $F/crc7-vermagic-flags.ko: Invalid module format"
expect_stderr_contains "version magic '$release SMX preempt mod_unload modversions '"
expect_stderr_contains "should be '$release SMP preempt mod_unload modversions '"
not_loaded crc7

# -f asks the kernel to ignore vermagic and symbol versions (it may:
# CONFIG_MODULE_FORCE_LOAD=y); the module loads and taints the kernel (F).
same_effect_as_oracle "insmod -f with other flags in vermagic" unload_crc7 insmod -f $F/crc7-vermagic-flags.ko
loaded crc7
check "forced load tainted the kernel (F)" tainted_bit 1
prep_unload crc7

# Init functions that fail under TCG.
prep_load irqbypass
prep_load kvm
case $release in
6.1.*) kvm_says="kvm: no hardware support for 'kvm_intel'" ;;
*) kvm_says="kvm_intel: VMX not supported by CPU" ;;
esac
same_as_oracle --stderr-prefix "insmod kvm-intel without VMX" insmod "$(ko kvm-intel)"
expect_stderr_first_line "$E $(ko kvm-intel): Operation not supported"
expect_stderr_contains "$kvm_says"
not_loaded kvm_intel
prep_unload kvm irqbypass

for m in coretemp acpi-cpufreq; do
	same_as_oracle --stderr-prefix "insmod $m (init fails)" insmod "$(ko $m)"
	expect_stderr_first_line "$E $(ko $m): No such device"
	not_loaded $m
done

# Not a regular file.
same_as_oracle --stderr-prefix "insmod of a directory" insmod /lib
lsmod_same "at the end"
