//! Frames built by hand, one structure of RFC 8878 at a time, and one made
//! by the zstd tool; damaged copies of each are refused.

use super::super::CORRUPT;
use super::decode;

const RAW: u32 = 0;
const RLE: u32 = 1;
const COMPRESSED: u32 = 2;

/// A frame: the header `head` (descriptor and the fields it announces), then
/// `blocks` (type, Block_Size, content), the last one marked so.
fn frame(head: &[u8], blocks: &[(u32, usize, &[u8])]) -> Vec<u8> {
    let mut f = vec![0x28, 0xb5, 0x2f, 0xfd];
    f.extend_from_slice(head);
    for (i, &(kind, size, content)) in blocks.iter().enumerate() {
        let h = u32::from(i + 1 == blocks.len()) | kind << 1 | (size as u32) << 3;
        f.extend_from_slice(&h.to_le_bytes()[..3]);
        f.extend_from_slice(content);
    }
    f
}

/// A compressed block of `content`.
fn block(content: &[u8]) -> (u32, usize, &[u8]) {
    (COMPRESSED, content.len(), content)
}

/// No content size, no checksum, a window of 1 KiB.
const SMALL: [u8; 2] = [0, 0];

/// Every cut of `f` short of its end is refused.
fn cuts_refused(f: &[u8]) {
    for n in 1..f.len() {
        assert_eq!(decode(&f[..n]), Err(CORRUPT), "cut at {n}");
    }
}

#[test]
fn raw_and_rle_blocks() {
    let f = frame(&SMALL, &[(RAW, 3, b"abc"), (RLE, 5, b"x")]);
    assert_eq!(decode(&f).as_deref(), Ok(&b"abcxxxxx"[..]));
    cuts_refused(&f);
    // A block larger than the window (Block_Maximum_Size, §3.1.1.2).
    assert_eq!(decode(&frame(&SMALL, &[(RLE, 1025, b"x")])), Err(CORRUPT));
    assert_eq!(decode(&frame(&[0, 8], &[(RLE, 1025, b"x")])).map(|v| v.len()), Ok(1025));
    // Block type 3 is reserved.
    assert_eq!(decode(&frame(&SMALL, &[(3, 1, b"x")])), Err(CORRUPT));
}

/// Raw literals, then one sequence of literal length 3 (code 3), offset
/// value 4 + 2 extra bits (code 2) and match length 4 (code 1), all in RLE
/// mode, whose bitstream is one byte: the 2 bits under a 1.
fn sequence_block(bits: u8) -> [u8; 10] {
    [3 << 3, b'a', b'b', b'c', 1, 0b01_01_01_00, 3, 2, 1, bits]
}

#[test]
fn sequences_in_rle_and_repeat_modes() {
    // Offset value 6: offset 3, "abc" then "abca".
    let first = sequence_block(0b110);
    // The same tables in Repeat mode; offset value 5: offset 2.
    let repeat = [3 << 3, b'x', b'y', b'z', 1, 0b11_11_11_00, 0b101];
    // No literals, offset value 1, match length 3: with a literal length of 0
    // that is the second repeat offset (3), not the first (2).
    let shifted = [0, 1, 0b01_01_01_00, 0, 0, 0, 1];
    let f = frame(&SMALL, &[block(&first), block(&repeat), block(&shifted)]);
    assert_eq!(decode(&f).as_deref(), Ok(&b"abcabcaxyzyzyzzyz"[..]));
    cuts_refused(&f);
    // Offset 4 goes before the frame's output.
    assert_eq!(decode(&frame(&SMALL, &[block(&sequence_block(0b111))])), Err(CORRUPT));
    // A bit left over in the stream.
    assert_eq!(decode(&frame(&SMALL, &[block(&sequence_block(0b1101))])), Err(CORRUPT));
    // Repeat mode with no tables yet in the frame.
    assert_eq!(decode(&frame(&SMALL, &[block(&repeat)])), Err(CORRUPT));
    let two = [frame(&SMALL, &[block(&first)]), frame(&SMALL, &[block(&repeat)])].concat();
    assert_eq!(decode(&two), Err(CORRUPT));
    // Each frame starts with the repeat offsets 1, 4 and 8: offset value 1
    // after "xyz" copies from 1 back.
    let rep1 = [3 << 3, b'x', b'y', b'z', 1, 0b01_01_01_00, 3, 0, 0, 1];
    let two = [frame(&SMALL, &[block(&first)]), frame(&SMALL, &[block(&rep1)])].concat();
    assert_eq!(decode(&two).as_deref(), Ok(&b"abcabcaxyzzzz"[..]));
    // A match may not reach into an earlier frame.
    let reach = [0, 1, 0b01_01_01_00, 0, 2, 0, 0b110];
    assert_eq!(decode(&frame(&SMALL, &[block(&reach)])), Err(CORRUPT));
    let two = [frame(&SMALL, &[(RAW, 3, b"abc")]), frame(&SMALL, &[block(&reach)])].concat();
    assert_eq!(decode(&two), Err(CORRUPT));
}

/// A literals section header for Huffman-coded literals (§3.1.1.3.1.1):
/// `kind` 2 (with a tree) or 3 (treeless), `format` 0 (one stream, 3-byte
/// header) or 1 (four streams, 3-byte header).
fn huffman_header(kind: u32, format: u32, regenerated: u32, compressed: u32) -> [u8; 3] {
    let v = kind | format << 2 | regenerated << 4 | compressed << 14;
    [v as u8, (v >> 8) as u8, (v >> 16) as u8]
}

/// Literals "abba" with a tree of direct weights: symbols 0 to 97 listed
/// (all 0 but 'a', 1), 'b' implied (1): one bit each, 'a' 0 and 'b' 1.
fn tree_block(stream: u8) -> Vec<u8> {
    let mut weights = [0u8; 49];
    weights[48] = 0x01;
    [&huffman_header(2, 0, 4, 51)[..], &[127 + 98], &weights, &[stream, 0]].concat()
}

#[test]
fn huffman_literals_with_a_tree_then_treeless() {
    let tree = tree_block(0b1_0110);
    let treeless = [&huffman_header(3, 0, 4, 1)[..], &[0b1_1001, 0]].concat();
    // Four streams: "ab" three times, then an empty one, after the sizes of
    // the first three.
    let streams = [1, 0, 1, 0, 1, 0, 0b101, 0b101, 0b101, 1, 0];
    let four = [&huffman_header(3, 1, 6, 10)[..], &streams].concat();
    let f = frame(&SMALL, &[block(&tree), block(&treeless), block(&four)]);
    assert_eq!(decode(&f).as_deref(), Ok(&b"abbabaabababab"[..]));
    cuts_refused(&f);
    // Treeless literals with no tree before them in the frame.
    assert_eq!(decode(&frame(&SMALL, &[block(&treeless)])), Err(CORRUPT));
    let two = [frame(&SMALL, &[block(&tree)]), frame(&SMALL, &[block(&treeless)])].concat();
    assert_eq!(decode(&two), Err(CORRUPT));
    // A stream with a bit left over.
    assert_eq!(decode(&frame(&SMALL, &[block(&tree_block(0b10_0110))])), Err(CORRUPT));
    // Weights 2 and 2 (one bit each, but no pair of weight 1), which libzstd
    // refuses; 1 and 1 make the same code.
    let weights = |w: u8| [&huffman_header(2, 0, 2, 3)[..], &[128, w << 4, 0b101, 0]].concat();
    assert_eq!(decode(&frame(&SMALL, &[block(&weights(1))])).as_deref(), Ok(&b"\0\x01"[..]));
    assert_eq!(decode(&frame(&SMALL, &[block(&weights(2))])), Err(CORRUPT));
}

#[test]
fn skippable_frames_are_skipped() {
    let f = frame(&SMALL, &[(RAW, 3, b"abc")]);
    let skip = |magic: u32, data: &[u8]| [&magic.to_le_bytes()[..], &(data.len() as u32).to_le_bytes(), data].concat();
    let all = [skip(0x184D_2A50, b""), f.clone(), skip(0x184D_2A5F, b"hello"), f].concat();
    assert_eq!(decode(&all).as_deref(), Ok(&b"abcabc"[..]));
    assert_eq!(decode(&skip(0x184D_2A53, b"x")).as_deref(), Ok(&b""[..]));
    assert_eq!(decode(&skip(0x184D_2A53, b"x")[..8]), Err(CORRUPT));
    assert_eq!(decode(&skip(0x184D_2A60, b"x")), Err(CORRUPT));
}

#[test]
fn content_size_must_match() {
    // Single segment, a 1-byte content size (the window, too).
    assert_eq!(decode(&frame(&[0x20, 3], &[(RAW, 3, b"abc")])).as_deref(), Ok(&b"abc"[..]));
    assert_eq!(decode(&frame(&[0x20, 4], &[(RAW, 3, b"abc")])), Err(CORRUPT));
    assert_eq!(decode(&frame(&[0x20, 2], &[(RAW, 2, b"ab"), (RAW, 1, b"c")])), Err(CORRUPT));
    // A 2-byte content size counts from 256.
    assert_eq!(decode(&frame(&[0x60, 0, 0], &[(RLE, 256, b"x")])).map(|v| v.len()), Ok(256));
    assert_eq!(decode(&frame(&[0x60, 1, 0], &[(RLE, 256, b"x")])), Err(CORRUPT));
}

/// What `printf modbox | zstd -c` writes: a raw block and the checksum.
const MODBOX: [u8; 19] =
    [0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x31, 0x00, 0x00, 0x6d, 0x6f, 0x64, 0x62, 0x6f, 0x78, 0x62, 0x16, 0x08, 0xcc];

#[test]
fn checksum_is_verified() {
    assert_eq!(decode(&MODBOX).as_deref(), Ok(&b"modbox"[..]));
    cuts_refused(&MODBOX);
    for at in [9, 14, 15, 18] {
        let mut f = MODBOX;
        f[at] ^= 1;
        assert_eq!(decode(&f), Err(CORRUPT), "byte {at} changed");
    }
}

#[test]
fn header_fields() {
    // The reserved bit.
    assert_eq!(decode(&frame(&[0x08, 0], &[(RAW, 1, b"x")])), Err(CORRUPT));
    // A dictionary ID of 0 names none; any other needs a dictionary.
    assert_eq!(decode(&frame(&[0x01, 0, 0], &[(RAW, 1, b"x")])).as_deref(), Ok(&b"x"[..]));
    assert_eq!(decode(&frame(&[0x01, 0, 7], &[(RAW, 1, b"x")])), Err(CORRUPT));
    // Windows up to 128 MiB, libzstd's limit for streaming.
    assert_eq!(decode(&frame(&[0, 17 << 3], &[(RAW, 1, b"x")])).as_deref(), Ok(&b"x"[..]));
    assert_eq!(decode(&frame(&[0, 17 << 3 | 1], &[(RAW, 1, b"x")])), Err(CORRUPT));
    // Not a frame at all, and nothing.
    assert_eq!(decode(b"\x28\xb5\x2f\xfe\x00\x00"), Err(CORRUPT));
    assert_eq!(decode(b"").as_deref(), Ok(&b""[..]));
}
