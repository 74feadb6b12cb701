# insmod of compressed modules: the .ko.xz files 6.12 ships, and xz, gzip
# and zstd fixtures on both kernels (6.1 has no in-kernel decompression;
# 6.12 decompresses xz with a CRC32 check only). kmod 30 decompresses xz and
# zstd itself.
# modules: crc7 dummy
# fixture: crc7.ko.xz xz crc7
# fixture: crc7-crc64.ko.xz xz-crc64 crc7
# fixture: crc7-truncated.ko.xz xz-truncated crc7
# fixture: crc7.ko.gz gz crc7
# fixture: crc7.ko.zst zst crc7
# fixture: crc7-truncated.ko.gz gz-truncated crc7

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

# gzip and zstd: no Debian kernel decompresses these, so modbox does, on
# both kernels (kmod 30 as Debian builds it has no zlib, so no oracle for
# .ko.gz). -v says which path each file took.
run "insmod -v crc7.ko.gz" 0 insmod -v $F/crc7.ko.gz
expect_stderr "insmod: loaded $F/crc7.ko.gz with init_module(2), decompressed by modbox"
loaded crc7
lsmod_same "after crc7.ko.gz"
prep_unload crc7
same_effect_as_oracle "insmod crc7.ko.zst" unload_crc7 insmod $F/crc7.ko.zst
loaded crc7
prep_unload crc7
run "insmod -v crc7.ko.zst" 0 insmod -v $F/crc7.ko.zst
expect_stderr "insmod: loaded $F/crc7.ko.zst with init_module(2), decompressed by modbox"
prep_unload crc7
run "insmod of a corrupt .ko.gz" 1 insmod $F/crc7-truncated.ko.gz
expect_stderr "insmod: ERROR: could not read gzip-compressed module $F/crc7-truncated.ko.gz: corrupt or truncated data"
not_loaded crc7

case $(uname -r) in
6.1.*) xz_path="with init_module(2), decompressed by modbox" ;;
*) xz_path="with finit_module(2), decompressed by the kernel" ;;
esac
run "insmod -v crc7.ko.xz" 0 insmod -v $F/crc7.ko.xz
expect_stderr "insmod: loaded $F/crc7.ko.xz $xz_path"
prep_unload crc7
# 6.12's decompressor takes only a CRC32 check: for CRC64 it answers EINVAL
# and modbox decompresses instead.
run "insmod -v crc7-crc64.ko.xz" 0 insmod -v $F/crc7-crc64.ko.xz
expect_stderr "insmod: loaded $F/crc7-crc64.ko.xz with init_module(2), decompressed by modbox"
prep_unload crc7
