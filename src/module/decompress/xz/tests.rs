//! The xz container: streams made here with one defect each (LZMA2 data
//! of uncompressed chunks: the LZMA decoder has its own tests), and
//! streams made by the xz command in its variants.

use super::super::crc::crc64;
use super::*;

/// LZMA2 data of uncompressed chunks holding `data`, the first one
/// resetting the dictionary.
fn stored(data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for (i, c) in data.chunks(1 << 16).enumerate() {
        v.push(if i == 0 { 1 } else { 2 });
        v.extend_from_slice(&((c.len() - 1) as u16).to_be_bytes());
        v.extend_from_slice(c);
    }
    v.push(0);
    v
}

fn to_vli(mut n: u64) -> Vec<u8> {
    let mut v = Vec::new();
    while n >= 0x80 {
        v.push(n as u8 | 0x80);
        n >>= 7;
    }
    v.push(n as u8);
    v
}

/// Sets the CRC32 that ends `part` to that of the bytes before it.
fn mend(part: &mut [u8]) {
    let n = part.len() - 4;
    let crc = crc32(&part[..n]);
    part[n..].copy_from_slice(&crc.to_le_bytes());
}

/// A block header of these fields (flags onwards): size byte, padding,
/// CRC32 added.
fn block_header(fields: &[u8]) -> Vec<u8> {
    let mut h = [&[0], fields].concat();
    h.resize((h.len() + 4).next_multiple_of(4), 0);
    h[0] = (h.len() / 4 - 1) as u8;
    mend(&mut h);
    h
}

/// A stream, part by part, for tests to damage one part.
struct Stream {
    header: Vec<u8>,
    /// Each block's header, LZMA2 data, padding and check.
    blocks: Vec<[Vec<u8>; 4]>,
    index: Vec<u8>,
    footer: Vec<u8>,
}

impl Stream {
    /// A stream of one block per output, with check `check`; each block
    /// header declares the sizes `declare` says (compressed, uncompressed).
    fn new(check: u8, outs: &[&[u8]], declare: [bool; 2]) -> Stream {
        let flags = [0, check];
        let header = [&b"\xfd7zXZ\0"[..], &flags, &crc32(&flags).to_le_bytes()].concat();
        let (mut blocks, mut records) = (Vec::new(), Vec::new());
        for out in outs {
            let data = stored(out);
            let mut fields = vec![(declare[0] as u8) << 6 | (declare[1] as u8) << 7];
            if declare[0] {
                fields.extend(to_vli(data.len() as u64));
            }
            if declare[1] {
                fields.extend(to_vli(out.len() as u64));
            }
            fields.extend([0x21, 1, 16]);
            let sum = match check {
                0 => Vec::new(),
                1 => crc32(out).to_le_bytes().to_vec(),
                _ => crc64(out).to_le_bytes().to_vec(),
            };
            let h = block_header(&fields);
            records.push((h.len() + data.len() + sum.len(), out.len()));
            let pad = vec![0; data.len().next_multiple_of(4) - data.len()];
            blocks.push([h, data, pad, sum]);
        }
        let mut index = [0].into_iter().chain(to_vli(records.len() as u64)).collect::<Vec<u8>>();
        for (unpadded, uncompressed) in records {
            index.extend(to_vli(unpadded as u64));
            index.extend(to_vli(uncompressed as u64));
        }
        index.resize(index.len().next_multiple_of(4) + 4, 0);
        mend(&mut index);
        let mut footer = [&[0; 4][..], &((index.len() / 4 - 1) as u32).to_le_bytes(), &flags, b"YZ"].concat();
        mend_footer(&mut footer);
        Stream { header, blocks, index, footer }
    }

    fn bytes(&self) -> Vec<u8> {
        let blocks = self.blocks.iter().flatten().flatten();
        self.header.iter().chain(blocks).chain(&self.index).chain(&self.footer).copied().collect()
    }
}

fn mend_footer(f: &mut [u8]) {
    let crc = crc32(&f[4..10]);
    f[..4].copy_from_slice(&crc.to_le_bytes());
}

/// Two blocks, one short, one of several chunks.
fn outs() -> [Vec<u8>; 2] {
    [b"modbox".to_vec(), (0..150_000u32).map(|i| (i * 7 % 251) as u8).collect()]
}

fn good() -> Stream {
    let [a, b] = outs();
    Stream::new(1, &[&a, &b], [true, false])
}

fn want() -> Vec<u8> {
    outs().concat()
}

#[test]
fn sound_streams_decode() {
    let [a, b] = outs();
    for check in [0, 1, 4] {
        for declare in [[false, false], [true, false], [false, true], [true, true]] {
            let s = Stream::new(check, &[&a, &b], declare);
            assert_eq!(gives(&s.bytes(), &want()), Ok(true), "check {check}, sizes {declare:?}");
        }
        // No blocks at all: what xz makes of an empty file.
        assert_eq!(decode(&Stream::new(check, &[], [false; 2]).bytes()), Ok(Vec::new()));
    }
    // A block of LZMA2 data that is its end marker alone.
    let mut s = Stream::new(1, &[b""], [true, true]);
    s.blocks[0][1] = vec![0];
    s.blocks[0][2] = vec![0; 3];
    s.blocks[0][0] = block_header(&[0xC0, 1, 0, 0x21, 1, 16]);
    assert_eq!(decode(&s.bytes()), Ok(Vec::new()));
}

/// Whether `data` decodes to `want` (the vectors are too big to print).
fn gives(data: &[u8], want: &[u8]) -> Result<bool, &'static str> {
    decode(data).map(|v| v == want)
}

/// `damage` applied to a sound stream makes it corrupt.
fn refused(what: &str, damage: impl FnOnce(&mut Stream)) {
    let mut s = good();
    damage(&mut s);
    assert_eq!(decode(&s.bytes()), Err(CORRUPT), "{what}");
}

#[test]
fn stream_header_and_footer_are_checked() {
    for i in 0..6 {
        refused("magic", |s| s.header[i] ^= 1);
    }
    refused("header CRC", |s| s.header[9] ^= 1);
    refused("footer CRC", |s| s.footer[0] ^= 1);
    refused("footer magic", |s| s.footer[11] = b'X');
    // The flags: a first byte of zero; a check ID of the four defined ones.
    let flags = |s: &mut Stream, f: [u8; 2]| {
        s.header = [&b"\xfd7zXZ\0"[..], &f, &crc32(&f).to_le_bytes()].concat();
        s.footer[8..10].copy_from_slice(&f);
        mend_footer(&mut s.footer);
    };
    refused("flags' first byte", |s| flags(s, [1, 1]));
    for id in [2, 3, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 0x11] {
        refused(&format!("check {id:#x}"), |s| flags(s, [0, id]));
    }
    // The footer's flags are the header's; its backward size the index's.
    refused("footer flags", |s| {
        s.footer[9] = 4;
        mend_footer(&mut s.footer);
    });
    for delta in [1u8, 0xff] {
        refused("backward size", |s| {
            s.footer[4] = s.footer[4].wrapping_add(delta);
            mend_footer(&mut s.footer);
        });
    }
}

/// The first block's header fields replaced (and its CRC mended).
fn header_fields(fields: &[u8]) -> impl FnOnce(&mut Stream) + '_ {
    move |s| s.blocks[0][0] = block_header(fields)
}

#[test]
fn block_headers_are_checked() {
    // The good first block: compressed size 10, LZMA2, 1 MiB.
    assert_eq!(good().blocks[0][0], block_header(&[0x40, 10, 0x21, 1, 16]));
    refused("header CRC", |s| s.blocks[0][0][7] ^= 1);
    for bit in [1, 2, 4, 8, 0x10, 0x20] {
        refused(&format!("flags {bit:#x}"), header_fields(&[0x40 | bit, 10, 0x21, 1, 16]));
    }
    // Two filters: delta then LZMA2; LZMA2 and a filter 0 (whose fields
    // look like header padding); delta alone; BCJ x86 alone.
    refused("two filters", header_fields(&[0x41, 10, 0x03, 1, 0, 0x21, 1, 16]));
    refused("LZMA2 and 0", header_fields(&[0x41, 10, 0x21, 1, 16, 0, 0]));
    refused("delta", header_fields(&[0x40, 10, 0x03, 1, 0]));
    refused("BCJ", header_fields(&[0x40, 10, 0x04, 0]));
    refused("properties size", header_fields(&[0x40, 10, 0x21, 2, 16, 0]));
    refused("dictionary 41", header_fields(&[0x40, 10, 0x21, 1, 41]));
    refused("reserved dictionary bit", header_fields(&[0x40, 10, 0x21, 1, 0x40 | 16]));
    refused("header padding", header_fields(&[0x40, 10, 0x21, 1, 16, 0, 1]));
    refused("compressed size", header_fields(&[0x40, 9, 0x21, 1, 16]));
    refused("compressed size", header_fields(&[0x40, 11, 0x21, 1, 16]));
    refused("uncompressed size", header_fields(&[0xC0, 10, 5, 0x21, 1, 16]));
    refused("uncompressed size", header_fields(&[0xC0, 10, 7, 0x21, 1, 16]));
    let mut s = good();
    header_fields(&[0xC0, 10, 6, 0x21, 1, 40])(&mut s);
    assert_eq!(gives(&s.bytes(), &want()), Ok(true), "both sizes, a 4 GiB dictionary");
    // Numbers (section 1.2): no needless zero byte, at most 9 bytes.
    refused("long number", header_fields(&[0x40, 0x8a, 0, 0x21, 1, 16]));
    refused("ten bytes", header_fields(&[0x40, 0x8a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 0x21, 1, 16]));
}

#[test]
fn blocks_padding_and_check_are_checked() {
    refused("padding", |s| s.blocks[0][2][1] = 1);
    for check in [1, 4] {
        let [a, b] = outs();
        for i in 0..[0, 4, 0, 0, 8][check as usize] {
            let mut s = Stream::new(check, &[&a, &b], [false; 2]);
            s.blocks[1][3][i] ^= 0x80;
            assert_eq!(decode(&s.bytes()), Err(CORRUPT), "check {check} byte {i}");
        }
    }
    // The data must not run on past its end marker (into the padding).
    refused("LZMA2 data", |s| s.blocks[0][1].truncate(9));
}

#[test]
fn the_index_is_checked() {
    fn index(records: &[(u64, u64)], pad: u8) -> impl FnOnce(&mut Stream) + '_ {
        counted(records.len() as u64, records, pad)
    }
    /// An index that says it has `count` records.
    fn counted(count: u64, records: &[(u64, u64)], pad: u8) -> impl FnOnce(&mut Stream) + '_ {
        move |s| {
            let mut i = vec![0];
            i.extend(to_vli(count));
            for &(a, b) in records {
                i.extend(to_vli(a));
                i.extend(to_vli(b));
            }
            i.resize(i.len().next_multiple_of(4), pad);
            i.extend([0; 4]);
            mend(&mut i);
            s.index = i;
        }
    }
    let s = good();
    let a = (s.blocks[0][0].len() + s.blocks[0][1].len() + 4) as u64;
    let b = (s.blocks[1][0].len() + s.blocks[1][1].len() + 4) as u64;
    let mut s = good();
    index(&[(a, 6), (b, 150_000)], 0)(&mut s);
    assert_eq!(gives(&s.bytes(), &want()), Ok(true), "the index as made here");
    refused("a record too few", index(&[(a, 6)], 0));
    refused("a record too many", index(&[(a, 6), (b, 150_000), (a, 6)], 0));
    refused("a count too big", counted(3, &[(a, 6), (b, 150_000)], 0));
    refused("unpadded size", index(&[(a + 1, 6), (b, 150_000)], 0));
    refused("uncompressed size", index(&[(a, 6), (b, 150_001)], 0));
    refused("padding", index(&[(a, 6), (b, 150_000)], 1));
    refused("CRC", |s| s.index[5] ^= 1);
}

#[test]
fn streams_are_padded_in_fours() {
    let s = good().bytes();
    let (one, two) = (want(), want().repeat(2));
    assert_eq!(gives(&[&s[..], &[0; 4]].concat(), &one), Ok(true));
    assert_eq!(gives(&[&s[..], &[0; 8], &s].concat(), &two), Ok(true));
    assert_eq!(gives(&[&s[..], &s].concat(), &two), Ok(true));
    for bad in [&[&s[..], &[0; 2]].concat(), &[&s[..], &[0; 5], &s].concat(), &[&[0; 4], &s[..]].concat()] {
        assert_eq!(decode(bad), Err(CORRUPT));
    }
    assert_eq!(decode(&[&s[..], b"junk"].concat()), Err(CORRUPT));
    assert_eq!(decode(&[&s[..], &[0; 4], b"\xfd7zXZ"].concat()), Err(CORRUPT));
    assert_eq!(decode(b""), Err(CORRUPT));
}

#[test]
fn every_cut_and_every_changed_byte_is_refused() {
    let s = Stream::new(1, &[&b"modbox, small"[..], &b"and a second block"[..]], [true, true]).bytes();
    for cut in 0..s.len() {
        assert_eq!(decode(&s[..cut]), Err(CORRUPT), "cut at {cut}");
    }
    for at in 0..s.len() {
        let mut b = s.clone();
        b[at] ^= 0x55;
        assert_eq!(decode(&b), Err(CORRUPT), "byte {at} changed");
    }
}

#[test]
fn the_size_hint_is_the_last_index() {
    let s = good().bytes();
    assert_eq!(last_size(&s), Some(want().len() as u64));
    // Of concatenated streams, the last one only.
    let one = Stream::new(1, &[b"modbox"], [false; 2]).bytes();
    assert_eq!(last_size(&[&s[..], &one].concat()), Some(6));
    assert_eq!(last_size(b"short"), None);
}

/// Runs the xz command on `input`; None when it is not installed.
fn xz(args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child =
        Command::new("xz").args(args).arg("-c").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().ok()?;
    let mut stdin = child.stdin.take()?;
    let input = input.to_vec();
    let feed = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().ok()?;
    feed.join().ok()?.ok()?;
    out.status.success().then_some(out.stdout)
}

/// Text, noise and machine code: 300 KB that compresses the way modules do.
fn payload() -> Vec<u8> {
    let mut v: Vec<u8> =
        (0..4000).flat_map(|i| format!("line {i}: modbox insmod {}\n", i * i % 977).into_bytes()).collect();
    let mut x = 1u32;
    v.extend((0..60_000).map(|_| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (x >> 24) as u8
    }));
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    v.extend_from_slice(&exe[..exe.len().min(120_000)]);
    v
}

#[test]
fn streams_of_the_xz_command() {
    let data = payload();
    let Some(plain) = xz(&["-T1"], &data) else {
        eprintln!("skipping: no xz command");
        return;
    };
    assert_eq!(gives(&plain, &data), Ok(true));
    let variants: &[&[&str]] = &[
        &["--check=none"],
        &["--check=crc32"],
        &["--check=crc64"],
        &["--check=sha256"],
        &["-0"],
        &["-1"],
        &["-2"],
        &["-3"],
        &["-4"],
        &["-5"],
        &["-6"],
        &["-7"],
        &["-8"],
        &["-9"],
        &["-e"],
        &["--lzma2=lc=4,lp=0"],
        &["--lzma2=lc=0,lp=4"],
        &["--lzma2=pb=0"],
        &["--block-size=4096"],
    ];
    for args in variants {
        let packed = xz(&[&["-T1"], *args].concat(), &data).unwrap();
        assert_eq!(gives(&packed, &data), Ok(true), "xz {args:?}");
    }
    // Two threads: blocks whose headers declare both sizes.
    let packed = xz(&["-T2", "--block-size=65536"], &data).unwrap();
    assert_eq!(packed[13] & 0xC0, 0xC0, "sizes in the block header");
    assert_eq!(gives(&packed, &data), Ok(true), "xz -T2");
    // An empty file; streams one after the other, with padding or not.
    let empty = xz(&[], b"").unwrap();
    assert_eq!(decode(&empty), Ok(Vec::new()));
    let twice = [&plain[..], &[0; 4], &empty, &plain, &[0; 8]].concat();
    assert_eq!(gives(&twice, &data.repeat(2)), Ok(true));
    // A small stream cut anywhere or with any byte changed.
    let small = xz(&["--check=crc64"], &b"modbox\n".repeat(100)).unwrap();
    for cut in 0..small.len() {
        assert_eq!(decode(&small[..cut]), Err(CORRUPT), "cut at {cut}");
    }
    for at in 0..small.len() {
        let mut b = small.clone();
        b[at] ^= 0x55;
        assert_eq!(decode(&b), Err(CORRUPT), "byte {at} changed");
    }
}

/// Every .ko.xz of the kernel trees in the cache (initramfs/fetch-kernel)
/// decodes to exactly what `xz -dc` gives. Slow, so not in the default run:
/// `MODBOX_CACHE=DIR cargo test --release --lib xz::tests::every -- --ignored`
#[test]
#[ignore]
fn every_module_of_the_trees_decodes_as_xz_does() {
    use std::process::Command;
    let cache =
        std::env::var("MODBOX_CACHE").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/cache").into());
    let found = Command::new("find").arg(format!("{cache}/kernels")).args(["-name", "*.ko.xz", "-type", "f"]).output();
    let list = String::from_utf8(found.unwrap().stdout).unwrap();
    let files: Vec<&str> = list.lines().collect();
    assert!(!files.is_empty(), "no .ko.xz under {cache}/kernels");
    for f in &files {
        let want = Command::new("xz").args(["-dc", f]).output().unwrap();
        assert!(want.status.success(), "xz -dc {f}");
        assert_eq!(gives(&std::fs::read(f).unwrap(), &want.stdout), Ok(true), "{f}");
    }
    eprintln!("{} modules decode as xz -dc does", files.len());
}
