# Dependency chains loaded by hand, bottom-up: 8021q needs garp, mrp, stp,
# llc; bridge needs stp, llc. The order comes from the image's modules.dep
# (made by modbox's depmod): loading from the right end first works.
# modules: 8021q bridge

p8021q=$(ko 8021q)
same_as_oracle --stderr-prefix "insmod 8021q before its dependencies" insmod "$p8021q"
expect_stderr_first_line "insmod: ERROR: could not insert module $p8021q: Unknown symbol in module"
# modbox shows the kernel's own lines about the failure.
expect_stderr_contains "8021q: Unknown symbol garp_register_application"
expect_stderr_contains "8021q: Unknown symbol mrp_register_application"
not_loaded 8021q

deps=$(grep "^[^:]*/8021q\.ko[^:]*:" "$MODDIR/modules.dep" | cut -d: -f2)
check "modules.dep lists the four dependencies of 8021q" test "$(echo $deps | wc -w)" = 4
order=
for d in $deps; do order="$d $order"; done
for d in $order; do
	n=${d##*/}; n=${n%%.ko*}
	run "insmod $n (dependency of 8021q)" 0 insmod "$(ko "$n")"
	expect_stderr_empty
done
run "insmod 8021q after its dependencies" 0 insmod "$p8021q"
expect_stderr_empty
chain_8021q_loaded
lsmod_same "after 8021q"

run "insmod bridge (stp, llc already loaded)" 0 insmod "$(ko bridge)"
expect_stderr_empty
holders_are stp "bridge garp"
holders_are llc "bridge garp stp"
lsmod_same "after bridge"

for m in 8021q garp mrp bridge stp llc; do
	run "rmmod $m (top-down)" 0 rmmod $m
	expect_stderr_empty
	not_loaded $m
done
lsmod_same "after removing the chains"
