# modprobe with modprobe.d: options, blacklist, install and remove
# commands, softdeps; -C, /run/modprobe.d; compared with kmod 30's modprobe.
# modules: dummy loop crc7 crc-itu-t
# timeout: 180

C=/etc/modprobe.d/71-test.conf
R=/run/modprobe.d/71-run.conf
mkdir -p /etc/modprobe.d /run/modprobe.d
conf() { printf '%s\n' "$@" >"$C"; }
none() { prep_unload dummy loop crc7 crc_itu_t; }
dummies() { [ -d /sys/class/net/dummy$(($1 - 1)) ] && [ ! -e /sys/class/net/dummy$1 ]; }
# /proc/modules' names, newest first, of the given modules only.
order_is() {
	local got
	got=$(cut -d' ' -f1 /proc/modules | grep -x -e crc7 -e crc_itu_t -e loop -e dummy | tr '\n' ' ')
	if [ "$got" = "$1 " ]; then pass "$2: newest first '$1'"
	else fail "$2: newest first '$1'" "got '$got'"; fi
}

# ---- options
conf "options dummy numdummies=3" "options loop max_loop=5"
none
same_as_oracle "modprobe -n -v loop (options max_loop=5)" modprobe -n -v loop
expect_stdout "insmod $(ko_real loop) max_loop=5 "
same_effect_as_oracle "modprobe loop (options max_loop=5)" none modprobe loop
param_is loop max_loop 5
same_effect_as_oracle "modprobe dummy (options numdummies=3)" none modprobe dummy
check "numdummies=3 from modprobe.d: dummy2 and no dummy3" dummies 3
same_effect_as_oracle "modprobe dummy numdummies=2 (command line after options)" none modprobe dummy numdummies=2
check "numdummies=2 wins over modprobe.d's 3" dummies 2
same_effect_as_oracle "modprobe rtnl-link-dummy (options by the module's name)" none modprobe rtnl-link-dummy
check "numdummies=3 through the alias" dummies 3
same_as_oracle "modprobe -c (with options)" modprobe -c
expect_stdout_contains "options loop max_loop=5"

# -C: only that file.
printf 'options loop max_loop=9\n' >/tmp/71-alt.conf
same_effect_as_oracle "modprobe -C /tmp/71-alt.conf loop" none modprobe -C /tmp/71-alt.conf loop
param_is loop max_loop 9
same_effect_as_oracle "modprobe -C /tmp/71-alt.conf dummy (no numdummies there)" none modprobe -C /tmp/71-alt.conf dummy
check "numdummies default 1 with -C" dummies 1

# /run/modprobe.d counts too; a file of the same name in /etc wins.
conf "options dummy numdummies=3"
printf 'options loop max_loop=6\n' >"$R"
same_effect_as_oracle "modprobe loop (options in /run/modprobe.d)" none modprobe loop
param_is loop max_loop 6
printf 'options loop max_loop=4\n' >/run/modprobe.d/71-test.conf
same_effect_as_oracle "modprobe dummy (/etc's 71-test.conf hides /run's)" none modprobe dummy
check "numdummies=3 from /etc, not /run's file of the same name" dummies 3
rm -f "$R" /run/modprobe.d/71-test.conf

# ---- blacklist: aliases only, names with -b
conf "blacklist dummy" "blacklist loop"
same_effect_as_oracle "modprobe rtnl-link-dummy (alias of a blacklisted module)" none modprobe rtnl-link-dummy
check "modprobe of a blacklisted alias exits 0" test "$RC" = 0
expect_stderr_empty
not_loaded dummy
same_effect_as_oracle "modprobe block-major-7-0 (alias of blacklisted loop)" none modprobe block-major-7-0
not_loaded loop
same_effect_as_oracle "modprobe dummy (blacklisted, by its name)" none modprobe dummy
loaded dummy
same_effect_as_oracle "modprobe -b dummy" none modprobe -b dummy
not_loaded dummy
same_effect_as_oracle "modprobe -b loop crc7 (-a)" none modprobe -b -a loop crc7
not_loaded loop
loaded crc7
same_as_oracle "modprobe -n -v -b dummy" modprobe -n -v -b dummy
expect_stdout_empty

# ---- install and remove commands
conf "install dummy echo \"install \$MODPROBE_MODULE [\$CMDLINE_OPTS]\" >>/tmp/71-cmd.log; /bin/modprobe --ignore-install dummy \$CMDLINE_OPTS" \
	"remove dummy echo \"remove \$MODPROBE_MODULE\" >>/tmp/71-cmd.log; /bin/modprobe -r --ignore-remove dummy"
none_log() { none; : >/tmp/71-cmd.log; }
dummy_log() { none_log; prep_load dummy; }
same_as_oracle "modprobe -n -v dummy (install command)" modprobe -n -v dummy numdummies=2
expect_stdout_contains "install echo"
same_effect_as_oracle "modprobe dummy numdummies=2 (install command)" none_log modprobe dummy numdummies=2
check "the install command ran once, with \$CMDLINE_OPTS and \$MODPROBE_MODULE" test "$(cat /tmp/71-cmd.log)" = "install dummy [numdummies=2]"
check "the install command passed numdummies=2 on" dummies 2
same_effect_as_oracle "modprobe rtnl-link-dummy (install command through an alias)" none_log modprobe rtnl-link-dummy
check "the install command ran for the alias" test "$(cat /tmp/71-cmd.log)" = "install dummy []"
loaded dummy
same_effect_as_oracle "modprobe -i dummy (install command ignored)" none_log modprobe -i dummy
check "no install command with -i" test ! -s /tmp/71-cmd.log
loaded dummy
same_effect_as_oracle "modprobe -r dummy (remove command)" dummy_log modprobe -r dummy
check "the remove command ran" test "$(cat /tmp/71-cmd.log)" = "remove dummy"
not_loaded dummy
same_effect_as_oracle "modprobe -r -i dummy (remove command ignored)" dummy_log modprobe -r -i dummy
check "no remove command with -i" test ! -s /tmp/71-cmd.log
not_loaded dummy

conf "install crc7 /bin/false" "remove crc7 /bin/false"
none
same_effect_as_oracle --no-srcpos "modprobe crc7 (failing install command)" none modprobe crc7
check "a failing install command: exit 1" test "$RC" = 1
expect_stderr "modprobe: ERROR: Error running install command '/bin/false' for module crc7: retcode 1
modprobe: ERROR: could not insert 'crc7': Invalid argument"
not_loaded crc7
crc7_in() { none; prep_load crc7; }
same_effect_as_oracle "modprobe -r crc7 (failing remove command)" crc7_in modprobe -r crc7
check "a failing remove command: exit 1" test "$RC" = 1
loaded crc7

# ---- softdeps
conf "softdep loop pre: crc7 post: crc-itu-t"
none
same_as_oracle "modprobe -n -v loop (softdeps)" modprobe -n -v loop
check "modprobe -n -v loop lists three modules" test "$(grep -c '^insmod ' "$H/out")" = 3
same_as_oracle "modprobe --show-depends loop (softdeps)" modprobe --show-depends loop
same_effect_as_oracle "modprobe loop (softdep pre: crc7 post: crc-itu-t)" none modprobe loop
for m in crc7 loop crc_itu_t; do loaded $m; done
order_is "crc_itu_t loop crc7" "modprobe loop with softdeps"
soft_in() { none; prep_load crc7; prep_load loop; prep_load crc-itu-t; }
same_effect_as_oracle "modprobe -r loop (softdeps)" soft_in modprobe -r loop
for m in crc7 loop crc_itu_t; do not_loaded $m; done
same_effect_as_oracle "modprobe -i loop (softdeps ignored)" none modprobe -i loop
loaded loop
not_loaded crc7
not_loaded crc_itu_t
conf "softdep loop pre: crc7 nosuchmodule post: crc-itu-t"
same_effect_as_oracle "modprobe loop (a softdep not found)" none modprobe loop
loaded loop

rm -f "$C" /tmp/71-alt.conf /tmp/71-cmd.log
none
