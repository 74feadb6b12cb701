# lsmod on its own: the empty list, the formatting of long names, and the
# usage error.
# modules: firmware_attributes_class led-class-multicolor crc7

run "lsmod with nothing loaded" 0 lsmod
expect_stdout "Module                  Size  Used by"
expect_stderr_empty
lsmod_same "with nothing loaded"

# Names longer than the 19-column field push the other columns right.
prep_load firmware_attributes_class
prep_load led-class-multicolor
prep_load crc7
run "lsmod with long names" 0 lsmod
expect_stdout_contains "firmware_attributes_class "
expect_stdout_contains "led_class_multicolor "
lsmod_same "with long names"

# kmod's lsmod takes no argument; its usage line names argv[0] as run.
oracle "kmod lsmod with an argument" 1 lsmod extra
run "lsmod with an argument" 1 lsmod extra
expect_stdout_empty
expect_stderr "Usage: lsmod"

run "lsmod --help" 0 lsmod --help
expect_stdout_contains "Usage: lsmod"
