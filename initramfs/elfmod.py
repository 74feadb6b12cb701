"""Reading kernel module files on the host, for mkfixture.

Only what those helpers need: the (decompressed) image, the .modinfo
section, and the appended signature's layout. stdlib only, so it runs on
any machine with python3.
"""

import struct
import subprocess
import sys

# Appended by scripts/sign-file: PKCS#7 blob, struct module_signature
# (u8 algo, hash, id_type, signer_len, key_id_len, pad[3], be32 sig_len),
# then this marker.
SIG_MAGIC = b"~Module signature appended~\n"
SIG_INFO = struct.Struct(">BBBBB3xI")

_DECOMPRESSORS = {".xz": ["xz", "-dc"], ".gz": ["gzip", "-dc"], ".zst": ["zstd", "-dcq"]}

MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.gz", ".ko.zst")


def die(msg):
    prog = sys.argv[0].rsplit("/", 1)[-1]
    sys.stderr.write(f"{prog}: error: {msg}\n")
    sys.exit(1)


def read_image(path):
    """The module's ELF image; compressed files go through the host's tool,
    as the kernel or kmod would decompress them."""
    for ext, cmd in _DECOMPRESSORS.items():
        if path.endswith(ext):
            try:
                return subprocess.run(cmd + [path], check=True, stdout=subprocess.PIPE).stdout
            except (OSError, subprocess.CalledProcessError) as e:
                die(f"cannot decompress {path}: {e}")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        die(f"cannot read {path}: {e.strerror}")


def module_name(relpath):
    """The name the kernel and kmod use: file name without suffix, - as _."""
    base = relpath.rsplit("/", 1)[-1]
    for suf in MODULE_SUFFIXES:
        if base.endswith(suf):
            base = base[: -len(suf)]
            break
    return base.replace("-", "_")


def section(image, name):
    """(offset, size) of section NAME in an ELF64 little-endian image."""
    if image[:4] != b"\x7fELF" or image[4] != 2 or image[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", image, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", image, 0x3A)

    def sh(i):
        # name, type, flags, addr, offset, size
        return struct.unpack_from("<IIQQQQ", image, shoff + i * shentsize)

    stroff = sh(shstrndx)[4]
    want = name.encode()
    for i in range(shnum):
        s = sh(i)
        start = stroff + s[0]
        if image[start:image.index(b"\0", start)] == want:
            return s[4], s[5]
    raise KeyError(name)


def section_bytes(image, name):
    off, size = section(image, name)
    return image[off:off + size]


def exported_symbols(image):
    """Names the module exports (its __ksymtab_strings), as kmod reads them."""
    try:
        return [s.decode() for s in section_bytes(image, "__ksymtab_strings").split(b"\0") if s]
    except KeyError:
        return []


def undefined_symbols(image):
    """Undefined .symtab names in table order: kmod's
    kmod_elf_get_dependency_symbols() order, which decides the order in
    which depmod records a module's dependencies."""
    symtab = section_bytes(image, ".symtab")
    strtab = section_bytes(image, ".strtab")
    out = []
    for i in range(1, len(symtab) // 24):
        name_off, _info, _other, shndx = struct.unpack_from("<IBBH", symtab, i * 24)
        if shndx != 0 or name_off == 0:
            continue
        out.append(strtab[name_off:strtab.index(b"\0", name_off)].decode(errors="replace"))
    return out


def modinfo(image):
    """The .modinfo entries as a list of (key, value) strings, in file order."""
    off, size = section(image, ".modinfo")
    out = []
    for entry in image[off:off + size].split(b"\0"):
        if b"=" in entry:
            k, v = entry.split(b"=", 1)
            out.append((k.decode(errors="replace"), v.decode(errors="replace")))
    return out


def signature_span(image):
    """(start of PKCS#7 blob, its length) or None for an unsigned image."""
    if not image.endswith(SIG_MAGIC):
        return None
    info_at = len(image) - len(SIG_MAGIC) - SIG_INFO.size
    sig_len = SIG_INFO.unpack_from(image, info_at)[5]
    return info_at - sig_len, sig_len
