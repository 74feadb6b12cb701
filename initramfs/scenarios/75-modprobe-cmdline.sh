# modprobe and the kernel command line: MODULE.PARAM=VALUE options and
# modprobe.blacklist= (its own boot; every command-line check is here).
# boot: modprobe_cmdline loop.max_loop=7 dummy.numdummies=4 modprobe.blacklist=dummy,crc7
# modules: dummy loop crc7
# timeout: 120

none() { prep_unload dummy loop crc7; }
dummies() { [ -d /sys/class/net/dummy$(($1 - 1)) ] && [ ! -e /sys/class/net/dummy$1 ]; }
check "the boot has the options" grep -q "modprobe.blacklist=dummy,crc7" /proc/cmdline

none
same_as_oracle "modprobe -n -v loop (loop.max_loop=7)" modprobe -n -v loop
expect_stdout "insmod $(ko_real loop) max_loop=7 "
same_effect_as_oracle "modprobe loop (loop.max_loop=7)" none modprobe loop
param_is loop max_loop 7
same_effect_as_oracle "modprobe loop max_loop=3 (the command line of modprobe wins)" none modprobe loop max_loop=3
param_is loop max_loop 3
same_as_oracle "modprobe -c (command-line options and blacklist)" modprobe -c
expect_stdout_contains "blacklist crc7"
expect_stdout_contains "options loop max_loop=7"

# With modprobe.d too.
mkdir -p /etc/modprobe.d
printf 'options loop max_part=3\n' >/etc/modprobe.d/75.conf
same_as_oracle "modprobe -n -v loop (kernel command line and modprobe.d)" modprobe -n -v loop
same_effect_as_oracle "modprobe loop (kernel command line and modprobe.d)" none modprobe loop
param_is loop max_loop 7
param_is loop max_part 3
rm -f /etc/modprobe.d/75.conf

# Blacklist.
same_effect_as_oracle "modprobe rtnl-link-dummy (blacklisted on the command line)" none modprobe rtnl-link-dummy
check "exit 0 for a blacklisted alias" test "$RC" = 0
not_loaded dummy
same_effect_as_oracle "modprobe -b dummy (blacklisted on the command line)" none modprobe -b dummy
not_loaded dummy
same_effect_as_oracle "modprobe -b crc7" none modprobe -b crc7
not_loaded crc7
same_effect_as_oracle "modprobe crc7 (blacklisted, by its name)" none modprobe crc7
loaded crc7
same_effect_as_oracle "modprobe dummy (blacklisted, by its name; dummy.numdummies=4)" none modprobe dummy
loaded dummy
check "dummy.numdummies=4 from the kernel command line" dummies 4
none
