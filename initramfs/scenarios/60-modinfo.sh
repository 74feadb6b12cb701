# modinfo compared with kmod's: files, fields, names (through the image's
# modules.dep; kmod through its .bin indexes), built-in and unknown modules.
# modules: crc7 dummy loop bridge 8021q
# fixture: crc7-unsigned.ko unsigned crc7

if [ ! -L /bin/modinfo ]; then
	echo "info: this modbox has no modinfo applet; skipped"
	return 0 2>/dev/null || exit 0
fi

for m in crc7 dummy loop bridge 8021q; do
	same_as_oracle "modinfo FILE ($m)" modinfo "$(ko $m)"
done
same_as_oracle "modinfo of an unsigned module" modinfo /fixtures/crc7-unsigned.ko
same_as_oracle "modinfo -F vermagic" modinfo -F vermagic "$(ko crc7)"
same_as_oracle "modinfo -F depends (8021q)" modinfo -F depends "$(ko 8021q)"
same_as_oracle "modinfo -p loop" modinfo -p "$(ko loop)"
same_as_oracle "modinfo -0 -F alias dummy" modinfo -0 -F alias "$(ko dummy)"
same_as_oracle "modinfo of two files" modinfo -F name "$(ko crc7)" "$(ko loop)"

# By name: the shipped file (compressed on 6.12).
for m in crc7 loop bridge; do
	same_as_oracle "modinfo $m (by name)" modinfo $m
done
same_as_oracle "modinfo -n bridge (by name)" modinfo -n bridge
same_as_oracle "modinfo of a built-in module" modinfo sha256_generic
same_as_oracle "modinfo of an unknown module" modinfo nosuchmodule
same_as_oracle "modinfo without an argument" modinfo

# modinfo --sizes against what the kernel allocated: its byte and page
# counts may not exceed /sys/module/M/coresize (which also holds the
# kernel's copy of the symbol table, not counted by --sizes), and not fall
# far short of it.
for m in crc7 dummy loop; do
	prep_load $m
	run "modinfo --sizes ($m)" 0 modinfo --sizes "$(ko_real $m)"
	core=$(sed -n 's/^core: *\([0-9]*\) bytes.*/\1/p' "$H/out")
	pages=$(sed -n 's/^core: *[0-9]* bytes, \([0-9]*\) page.*/\1/p' "$H/out")
	kernel=$(cat /sys/module/$m/coresize)
	check "$m: core by --sizes ($core bytes, $pages pages) within the kernel's coresize ($kernel)" \
		sh -c "[ -n '$core' ] && [ -n '$pages' ] && [ '$core' -le '$kernel' ] && [ \$(( $pages * 4096 )) -le '$kernel' ] && [ \$(( $kernel - $core )) -lt 65536 ]"
	prep_unload $m
done
