//! The LZMA2 decoder against data made here by a small encoder of the same
//! model (a range encoder and the symbols of LZMA), so that each test can
//! place exactly one defect: a distance too far, a match past the end of
//! its chunk, a chunk of the wrong size.

use super::*;

/// The range encoder: the inverse of `Rc`, as the LZMA SDK describes it.
struct Enc {
    low: u64,
    range: u32,
    cache: u8,
    pending: u64,
    out: Vec<u8>,
}

impl Enc {
    fn new() -> Enc {
        Enc { low: 0, range: !0, cache: 0, pending: 1, out: Vec::new() }
    }

    fn shift(&mut self) {
        if self.low < 0xFF00_0000 || self.low >= 1 << 32 {
            let carry = (self.low >> 32) as u8;
            let mut b = self.cache;
            while self.pending > 0 {
                self.out.push(b.wrapping_add(carry));
                b = 0xFF;
                self.pending -= 1;
            }
            self.cache = (self.low >> 24) as u8;
        }
        self.pending += 1;
        self.low = (self.low & 0xFF_FFFF) << 8;
    }

    fn normalize(&mut self) {
        while self.range < 1 << 24 {
            self.range <<= 8;
            self.shift();
        }
    }

    fn bit(&mut self, p: &mut u16, b: usize) {
        let bound = (self.range >> 11) * *p as u32;
        if b == 0 {
            self.range = bound;
            *p += (2048 - *p) >> 5;
        } else {
            self.low += bound as u64;
            self.range -= bound;
            *p -= *p >> 5;
        }
        self.normalize();
    }

    fn direct(&mut self, v: usize, n: usize) {
        for i in (0..n).rev() {
            self.range >>= 1;
            if (v >> i) & 1 == 1 {
                self.low += self.range as u64;
            }
            self.normalize();
        }
    }

    fn finish(mut self) -> Vec<u8> {
        for _ in 0..5 {
            self.shift();
        }
        self.out
    }
}

/// The LZMA model, encoding: the same probabilities, states and reps as
/// the decoder, and the bytes since the dictionary reset.
struct Lz {
    rc: Enc,
    p: Vec<u16>,
    state: usize,
    reps: [usize; 4],
    data: Vec<u8>,
    lc: usize,
    lp: usize,
    pb: usize,
}

impl Lz {
    fn new(lc: usize, lp: usize, pb: usize) -> Lz {
        Lz { rc: Enc::new(), p: vec![1024; TOTAL], state: 0, reps: [0; 4], data: Vec::new(), lc, lp, pb }
    }

    /// A state reset, as chunks from 0xA0 on make.
    fn reset(&mut self) {
        self.p.fill(1024);
        self.state = 0;
        self.reps = [0; 4];
    }

    /// The properties byte of the current lc, lp and pb.
    fn props(&self) -> u8 {
        ((self.pb * 5 + self.lp) * 9 + self.lc) as u8
    }

    fn pos_state(&self) -> usize {
        self.data.len() & ((1 << self.pb) - 1)
    }

    fn bit(&mut self, at: usize, b: usize) {
        self.rc.bit(&mut self.p[at], b);
    }

    fn tree(&mut self, at: usize, v: usize, n: usize) {
        let mut m = 1;
        for i in (0..n).rev() {
            let b = (v >> i) & 1;
            self.bit(at + m, b);
            m = (m << 1) | b;
        }
    }

    fn reverse(&mut self, at: usize, v: usize, n: usize) {
        let mut m = 1;
        for i in 0..n {
            let b = (v >> i) & 1;
            self.bit(at + m, b);
            m = (m << 1) | b;
        }
    }

    fn literal(&mut self, byte: u8) {
        let (s, ps) = (self.state, self.pos_state());
        self.bit(IS_MATCH + s * 16 + ps, 0);
        let prev = self.data.last().map_or(0, |&b| b as usize);
        let at = LITERAL + 0x300 * (((self.data.len() & ((1 << self.lp) - 1)) << self.lc) + (prev >> (8 - self.lc)));
        if s < 7 {
            self.tree(at, byte as usize, 8);
        } else {
            let mut m = self.data[self.data.len() - self.reps[0] - 1] as usize;
            let (mut v, mut offs) = (1, 0x100);
            for i in (0..8).rev() {
                m <<= 1;
                let mbit = m & offs;
                let b = (byte as usize >> i) & 1;
                self.bit(at + offs + mbit + v, b);
                v = (v << 1) | b;
                offs &= if b != 0 { mbit } else { !mbit };
            }
        }
        self.data.push(byte);
        self.state = [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 4, 5][s];
    }

    fn length(&mut self, at: usize, len: usize) {
        let ps = self.pos_state();
        if len < 8 {
            self.bit(at, 0);
            self.tree(at + LOW + ps * 8, len, 3);
        } else if len < 16 {
            self.bit(at, 1);
            self.bit(at + 1, 0);
            self.tree(at + MID + ps * 8, len - 8, 3);
        } else {
            self.bit(at, 1);
            self.bit(at + 1, 1);
            self.tree(at + HIGH, len - 16, 8);
        }
    }

    /// A match of `n` bytes with a new distance: `dist` bytes back, less
    /// one (as the format codes it).
    fn matched(&mut self, dist: usize, n: usize) {
        let (s, ps) = (self.state, self.pos_state());
        self.bit(IS_MATCH + s * 16 + ps, 1);
        self.bit(IS_REP + s, 0);
        self.length(MATCH_LEN, n - 2);
        self.state = if s < 7 { 7 } else { 10 };
        let slot = if dist < 4 {
            dist
        } else {
            let k = (usize::BITS - 1 - dist.leading_zeros()) as usize;
            2 * k + ((dist >> (k - 1)) & 1)
        };
        self.tree(SLOT + 64 * (n - 2).min(3), slot, 6);
        if slot >= 4 {
            let bits = (slot >> 1) - 1;
            let base = (2 | (slot & 1)) << bits;
            if slot < 14 {
                self.reverse(SPECIAL + base - slot - 1, dist - base, bits);
            } else {
                self.rc.direct((dist - base) >> 4, bits - 4);
                self.reverse(ALIGN, (dist - base) & 15, 4);
            }
        }
        self.reps = [dist, self.reps[0], self.reps[1], self.reps[2]];
        self.copy(n);
    }

    /// A match of `n` bytes at rep `i`.
    fn rep(&mut self, i: usize, n: usize) {
        let (s, ps) = (self.state, self.pos_state());
        self.bit(IS_MATCH + s * 16 + ps, 1);
        self.bit(IS_REP + s, 1);
        for k in 0..3 {
            self.bit(IS_REP0 + 12 * k + s, (i > k) as usize);
            if i == k {
                break;
            }
        }
        if i == 0 {
            self.bit(IS_REP0_LONG + s * 16 + ps, 1);
        }
        let d = self.reps[i];
        self.reps.copy_within(0..i, 1);
        self.reps[0] = d;
        self.length(REP_LEN, n - 2);
        self.state = if s < 7 { 8 } else { 11 };
        self.copy(n);
    }

    /// One byte at rep0.
    fn short_rep(&mut self) {
        let (s, ps) = (self.state, self.pos_state());
        self.bit(IS_MATCH + s * 16 + ps, 1);
        self.bit(IS_REP + s, 1);
        self.bit(IS_REP0 + s, 0);
        self.bit(IS_REP0_LONG + s * 16 + ps, 0);
        self.state = if s < 7 { 9 } else { 11 };
        self.copy(1);
    }

    /// The bytes a match adds (zeros where its distance reaches nothing:
    /// the decoder must refuse those).
    fn copy(&mut self, n: usize) {
        for _ in 0..n {
            let from = self.data.len().checked_sub(self.reps[0] + 1);
            self.data.push(from.map_or(0, |i| self.data[i]));
        }
    }

    /// The range coder's bytes so far, as one chunk's compressed data; the
    /// next chunk starts a new range coder.
    fn take(&mut self) -> Vec<u8> {
        std::mem::replace(&mut self.rc, Enc::new()).finish()
    }
}

/// An LZMA chunk's header and data: `control` carries the reset bits.
fn lzma_chunk(control: u8, unpacked: usize, props: Option<u8>, data: &[u8]) -> Vec<u8> {
    let (u, c) = (unpacked - 1, data.len() - 1);
    let mut v = vec![control | (u >> 16) as u8, (u >> 8) as u8, u as u8, (c >> 8) as u8, c as u8];
    v.extend(props);
    v.extend_from_slice(data);
    v
}

fn stored_chunk(control: u8, data: &[u8]) -> Vec<u8> {
    let n = data.len() - 1;
    [&[control, (n >> 8) as u8, n as u8][..], data].concat()
}

/// Decodes LZMA2 data alone, with a dictionary of `dict` bytes; the data
/// must end exactly with its end marker.
fn run(data: &[u8], dict: usize) -> Result<Vec<u8>, &'static str> {
    let mut lz = Lzma::new()?;
    let mut out = Output { buf: Vec::new(), len: 0 };
    let used = lzma2(&mut lz, data, &mut out, dict)?;
    assert_eq!(used, data.len(), "the end marker ends the data");
    out.buf.truncate(out.len);
    Ok(out.buf)
}

const DICT: usize = 1 << 20;

/// A chunk with every kind of symbol: literals, plain and after a match;
/// matches with short, middle and long distances (direct bits) and every
/// length class; reps 0 to 3; a one-byte rep.
fn every_symbol(lz: &mut Lz) {
    for &b in b"modbox: insmod, rmmod, lsmod, modinfo" {
        lz.literal(b);
    }
    for i in 0..3000 {
        lz.literal((i * 7 % 251) as u8);
    }
    lz.matched(7, 5);
    lz.literal(b'x');
    lz.matched(3000, 12);
    lz.matched(2500, 40);
    lz.matched(1, 273);
    lz.rep(1, 3);
    lz.rep(2, 18);
    lz.rep(3, 9);
    lz.rep(0, 2);
    lz.short_rep();
    lz.literal(b'y');
    lz.matched(100, 2);
}

#[test]
fn every_symbol_round_trips() {
    for (lc, lp, pb) in [(3, 0, 2), (0, 0, 0), (4, 0, 4), (0, 4, 2), (1, 3, 1), (2, 2, 0)] {
        let mut lz = Lz::new(lc, lp, pb);
        every_symbol(&mut lz);
        let packed = lz.take();
        let data = [lzma_chunk(0xE0, lz.data.len(), Some(lz.props()), &packed), vec![0]].concat();
        assert_eq!(run(&data, DICT).as_deref(), Ok(&lz.data[..]), "lc={lc} lp={lp} pb={pb}");
    }
}

/// Chunks one after the other: the state goes on (0x80), is reset (0xA0),
/// gets new properties (0xC0); uncompressed chunks in between, with and
/// without a dictionary reset; a match reaching back across chunks.
#[test]
fn chunks_keep_or_reset_state() {
    let mut lz = Lz::new(3, 0, 2);
    let (mut data, mut at) = (Vec::new(), 0);
    // The symbols since `at` as one chunk.
    let chunk = |lz: &mut Lz, control: u8, at: &mut usize, data: &mut Vec<u8>| {
        let props = (control >= 0xC0).then(|| lz.props());
        let packed = lz.take();
        data.extend(lzma_chunk(control, lz.data.len() - *at, props, &packed));
        *at = lz.data.len();
    };
    every_symbol(&mut lz);
    chunk(&mut lz, 0xE0, &mut at, &mut data);
    lz.literal(b'a');
    lz.matched(1000, 30);
    chunk(&mut lz, 0x80, &mut at, &mut data);
    lz.reset();
    lz.literal(b'b');
    lz.matched(2000, 20);
    chunk(&mut lz, 0xA0, &mut at, &mut data);
    data.extend(stored_chunk(2, b"stored"));
    lz.data.extend_from_slice(b"stored");
    at = lz.data.len();
    (lz.lc, lz.lp, lz.pb) = (1, 1, 1);
    lz.reset();
    lz.literal(b'c');
    lz.rep(0, 4);
    chunk(&mut lz, 0xC0, &mut at, &mut data);
    let mut want = lz.data.clone();
    // A dictionary reset by an uncompressed chunk, then new properties.
    data.extend(stored_chunk(1, b"fresh start"));
    let mut lz = Lz::new(0, 2, 0);
    lz.data = b"fresh start".to_vec();
    lz.literal(b'!');
    lz.matched(5, 6);
    let packed = lz.take();
    data.extend(lzma_chunk(0xC0, 7, Some(lz.props()), &packed));
    want.extend_from_slice(&lz.data);
    data.push(0);
    assert_eq!(run(&data, DICT).as_deref(), Ok(&want[..]));
}

#[test]
fn empty_lzma2_data_is_empty() {
    assert_eq!(run(&[0], DICT).as_deref(), Ok(&[][..]));
}

/// A chunk of literals "abc", then the test's symbols, as LZMA2 data.
fn after_abc(f: impl FnOnce(&mut Lz)) -> Vec<u8> {
    let mut lz = Lz::new(3, 0, 2);
    for &b in b"abc" {
        lz.literal(b);
    }
    f(&mut lz);
    let packed = lz.take();
    [lzma_chunk(0xE0, lz.data.len(), Some(lz.props()), &packed), vec![0]].concat()
}

#[test]
fn distances_reach_only_into_the_dictionary() {
    // "abc": distance 3 (coded 2) is the first byte; 4 is before it.
    assert_eq!(run(&after_abc(|lz| lz.matched(2, 3)), DICT).as_deref(), Ok(&b"abcabc"[..]));
    assert_eq!(run(&after_abc(|lz| lz.matched(3, 3)), DICT), Err(CORRUPT));
    // The end of payload marker (distance 2^32) has no place in LZMA2.
    assert_eq!(run(&after_abc(|lz| lz.matched(0xFFFF_FFFF, 2)), DICT), Err(CORRUPT));
    // Not beyond the dictionary size either, though the bytes are there.
    let far = |dist| {
        let mut lz = Lz::new(3, 0, 2);
        for i in 0..5000 {
            lz.literal(i as u8);
        }
        lz.matched(dist, 2);
        let packed = lz.take();
        [lzma_chunk(0xE0, lz.data.len(), Some(lz.props()), &packed), vec![0]].concat()
    };
    assert!(run(&far(4095), 4096).is_ok());
    assert_eq!(run(&far(4096), 4096), Err(CORRUPT));
    assert!(run(&far(4096), 8192).is_ok());
}

#[test]
fn a_dictionary_reset_forgets_what_was_before() {
    // Two chunks that reset the dictionary: the second's match reaches
    // into the first's bytes, or stays in its own.
    let mut lz = Lz::new(3, 0, 2);
    for &b in b"abcdef" {
        lz.literal(b);
    }
    let first = lzma_chunk(0xE0, 6, Some(lz.props()), &lz.take());
    let second = |dist| {
        let mut lz = Lz::new(3, 0, 2);
        lz.literal(b'g');
        lz.literal(b'h');
        lz.matched(dist, 2);
        [&first[..], &lzma_chunk(0xE0, 4, Some(lz.props()), &lz.take()), &[0]].concat()
    };
    assert_eq!(run(&second(1), DICT).as_deref(), Ok(&b"abcdefghgh"[..]));
    assert_eq!(run(&second(2), DICT), Err(CORRUPT));
}

#[test]
fn a_rep_needs_something_before_it() {
    let first: [fn(&mut Lz); 3] = [|lz| lz.rep(0, 2), |lz| lz.short_rep(), |lz| lz.rep(3, 2)];
    for f in first {
        let mut lz = Lz::new(3, 0, 2);
        f(&mut lz);
        let data = [lzma_chunk(0xE0, lz.data.len(), Some(lz.props()), &lz.take()), vec![0]].concat();
        assert_eq!(run(&data, DICT), Err(CORRUPT));
    }
}

#[test]
fn a_match_stays_in_its_chunk() {
    let mut lz = Lz::new(3, 0, 2);
    for &b in b"abc" {
        lz.literal(b);
    }
    lz.matched(2, 3);
    let packed = lz.take();
    // The chunk says 5 bytes; the match would make 6.
    let data = [lzma_chunk(0xE0, 5, Some(lz.props()), &packed), vec![0]].concat();
    assert_eq!(run(&data, DICT), Err(CORRUPT));
}

#[test]
fn a_chunk_is_its_exact_size() {
    let mut lz = Lz::new(3, 0, 2);
    every_symbol(&mut lz);
    let packed = lz.take();
    let n = lz.data.len();
    let good = [lzma_chunk(0xE0, n, Some(lz.props()), &packed), vec![0]].concat();
    assert!(run(&good, DICT).is_ok());
    // One compressed byte more or less, the output size one less or more.
    let longer = [&packed[..], &[0]].concat();
    assert_eq!(run(&[lzma_chunk(0xE0, n, Some(lz.props()), &longer), vec![0]].concat(), DICT), Err(CORRUPT));
    let shorter = &packed[..packed.len() - 1];
    assert_eq!(run(&[lzma_chunk(0xE0, n, Some(lz.props()), shorter), vec![0]].concat(), DICT), Err(CORRUPT));
    for unpacked in [n - 1, n + 1] {
        let data = [lzma_chunk(0xE0, unpacked, Some(lz.props()), &packed), vec![0]].concat();
        assert_eq!(run(&data, DICT), Err(CORRUPT), "{unpacked} of {n}");
    }
    // The range coder starts with a zero byte and ends with its code at 0.
    let mut first = packed.clone();
    first[0] = 1;
    assert_eq!(run(&[lzma_chunk(0xE0, n, Some(lz.props()), &first), vec![0]].concat(), DICT), Err(CORRUPT));
    let mut last = packed.clone();
    *last.last_mut().unwrap() ^= 1;
    assert_eq!(run(&[lzma_chunk(0xE0, n, Some(lz.props()), &last), vec![0]].concat(), DICT), Err(CORRUPT));
    // Cut anywhere, with or without the end marker.
    for cut in 0..good.len() {
        assert!(run(&good[..cut], DICT).is_err(), "cut at {cut}");
    }
}

/// A chunk of `abc` with control byte `control` (and properties from 0xC0
/// on), after `before`, which leaves `dict` in the dictionary.
fn abc_after(before: &[u8], dict: &[u8], control: u8) -> Vec<u8> {
    let mut lz = Lz::new(3, 0, 2);
    if control < 0xE0 {
        lz.data = dict.to_vec();
    }
    for &b in b"abc" {
        lz.literal(b);
    }
    let props = (control >= 0xC0).then(|| lz.props());
    [before, &lzma_chunk(control, 3, props, &lz.take()), &[0]].concat()
}

#[test]
fn control_bytes_follow_the_rules() {
    // The first chunk must reset the dictionary.
    for control in [0x80, 0xA0, 0xC0] {
        assert_eq!(run(&abc_after(&[], &[], control), DICT), Err(CORRUPT), "{control:#x} first");
    }
    assert_eq!(run(&stored_chunk(2, b"abc"), DICT), Err(CORRUPT));
    assert_eq!(run(&abc_after(&[], &[], 0xE0), DICT).as_deref(), Ok(&b"abc"[..]));
    // After a dictionary reset, the first LZMA chunk sets properties, even
    // where the state it would go on with is sound.
    let reset = stored_chunk(1, b"xyz");
    // "uvw" in a first chunk, then "abc" in one that goes on with its state
    // and has `dict` in the dictionary.
    let two = |control: u8, dict: &[u8]| {
        let mut lz = Lz::new(3, 0, 2);
        for &b in b"uvw" {
            lz.literal(b);
        }
        let first = lzma_chunk(0xE0, 3, Some(lz.props()), &lz.take());
        if control == 0xA0 {
            lz.reset();
        }
        lz.data = dict.to_vec();
        for &b in b"abc" {
            lz.literal(b);
        }
        (first, lzma_chunk(control, 3, None, &lz.take()))
    };
    for control in [0x80, 0xA0] {
        let (first, go_on) = two(control, b"uvw");
        let data = [&first[..], &go_on, &[0]].concat();
        assert_eq!(run(&data, DICT).as_deref(), Ok(&b"uvwabc"[..]), "{control:#x} after 0xE0");
        let (first, go_on) = two(control, b"xyz");
        let data = [&first[..], &reset, &go_on, &[0]].concat();
        assert_eq!(run(&data, DICT), Err(CORRUPT), "{control:#x} after 1");
    }
    // 3 to 0x7F mean nothing.
    for control in [3, 0x7F] {
        assert_eq!(run(&[&reset[..], &[control, 0, 0, 0], &[0]].concat(), DICT), Err(CORRUPT));
    }
}

#[test]
fn properties_are_checked() {
    let chunk = |props: u8| {
        let mut lz = Lz::new(0, 0, 0);
        lz.literal(b'a');
        [lzma_chunk(0xE0, 1, Some(props), &lz.take()), vec![0]].concat()
    };
    assert_eq!(run(&chunk(0), DICT).as_deref(), Ok(&b"a"[..]));
    // lc + lp = 5; pb = 5.
    for bad in [4 + 9, 5 * 45, 255] {
        assert_eq!(run(&chunk(bad), DICT), Err(CORRUPT), "props {bad}");
    }
}
