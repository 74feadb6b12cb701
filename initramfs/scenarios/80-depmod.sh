# depmod compared with kmod's in the guest, on the image's own module tree
# (the index modbox's depmod wrote on the host when the image was made):
# the text indexes of -n, and every file of a full run on two copies.
# modules: dummy loop bridge 8021q crc7

if [ ! -L /bin/depmod ]; then
	echo "info: this modbox has no depmod applet; skipped"
	return 0 2>/dev/null || exit 0
fi

kver=$(uname -r)
same_as_oracle "depmod -n" depmod -n
same_as_oracle "depmod -n -e -F (no System.map)" depmod -n -e -F /nonexistent
same_as_oracle "depmod with a bad version" depmod notaversion

# Full runs on two copies of the tree (in tmpfs, /tmp).
for who in modbox kmod; do
	mkdir -p /tmp/dm-$who/lib/modules
	cp -a /lib/modules/$kver /tmp/dm-$who/lib/modules/
	rm -f /tmp/dm-$who/lib/modules/$kver/modules.*dep* /tmp/dm-$who/lib/modules/$kver/modules.*.bin
done
/bin/depmod -b /tmp/dm-modbox "$kver" 2>/tmp/dm-modbox.err
mrc=$?
/oracle/bin/depmod -b /tmp/dm-kmod "$kver" 2>/tmp/dm-kmod.err
krc=$?
check "depmod -b: same status as kmod ($mrc)" [ "$mrc" = "$krc" ]
for f in modules.dep modules.dep.bin modules.alias modules.alias.bin modules.softdep modules.symbols modules.symbols.bin modules.builtin.bin modules.builtin.alias.bin modules.devname; do
	check "depmod -b: $f as kmod's" cmp /tmp/dm-modbox/lib/modules/$kver/$f /tmp/dm-kmod/lib/modules/$kver/$f
done
# The image's own index (written on the host by modbox) is kmod's too.
check "the image's modules.dep.bin as kmod writes it" cmp /lib/modules/$kver/modules.dep.bin /tmp/dm-kmod/lib/modules/$kver/modules.dep.bin
rm -rf /tmp/dm-modbox /tmp/dm-kmod /tmp/dm-modbox.err /tmp/dm-kmod.err
