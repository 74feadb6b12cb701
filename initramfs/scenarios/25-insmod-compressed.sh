# insmod of xz-compressed modules: the files 6.12 ships, and fixtures on
# both kernels (6.1 has no in-kernel decompression; 6.12 decompresses xz
# with a CRC32 check only). kmod 30 decompresses them itself.
# modules: crc7 dummy
# fixture: crc7.ko.xz xz crc7
# fixture: crc7-crc64.ko.xz xz-crc64 crc7
# fixture: crc7-truncated.ko.xz xz-truncated crc7

F=/fixtures
unload_crc7() { prep_unload crc7; }

same_effect_as_oracle "insmod crc7.ko.xz (CRC32 check)" unload_crc7 insmod $F/crc7.ko.xz
expect_stderr_empty
loaded crc7
lsmod_same "after crc7.ko.xz"
same_effect_as_oracle "insmod crc7.ko.xz (CRC64 check)" unload_crc7 insmod $F/crc7-crc64.ko.xz
expect_stderr_empty
loaded crc7
prep_unload crc7

run "insmod of a truncated .ko.xz" 1 insmod $F/crc7-truncated.ko.xz
not_loaded crc7

case $(uname -r) in
6.1.*) ;;
*)
	unload_dummy() { prep_unload dummy; }
	p=$(ko_real dummy)
	same_effect_as_oracle "insmod of the shipped $p numdummies=2" unload_dummy insmod "$p" numdummies=2
	expect_stderr_empty
	check "numdummies=2 made dummy1" test -d /sys/class/net/dummy1
	lsmod_same "after the shipped dummy.ko.xz"
	load_dummy() { prep_load dummy; }
	same_effect_as_oracle "rmmod by the path of a .ko.xz" load_dummy rmmod "$p"
	not_loaded dummy
	;;
esac
