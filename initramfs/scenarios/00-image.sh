# The image itself: modbox's links are what /bin/insmod & co. run, busybox
# provides no module tool, the kmod oracle works.

for t in $(/bin/modbox --list); do
	check "/bin/$t is modbox's link" test "$(readlink /bin/$t)" = modbox
done
for t in insmod rmmod lsmod; do
	check "modbox provides $t" test -L /bin/$t
done
for t in modprobe modinfo depmod; do
	if [ -e /bin/$t ]; then
		check "/bin/$t, if present, is modbox's" test "$(readlink /bin/$t)" = modbox
	fi
done
# Debian's busybox sh runs its applets by name before searching PATH
# (FEATURE_SH_STANDALONE): the reason the harness uses absolute paths.
echo "info: in busybox sh, 'type insmod' says: $(sh -c 'type insmod' 2>&1)"
check "kmod 30 runs as the oracle" sh -c '/oracle/bin/kmod --version | grep -qx "kmod version 30"'
check "modules.dep is in the image" test -s "$MODDIR/modules.dep"
check "nothing is loaded at the start" sh -c '! grep -q . /proc/modules'
