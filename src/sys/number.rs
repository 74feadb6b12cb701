//! Numbers read the way the C code modbox matches reads them. Each is a
//! different C function with its own quirks (what it skips, which bases,
//! what it does on overflow), so each keeps its own parser here.

/// scanf's `%u`: blanks, a sign, digits; the value as C stores it.
pub fn scan_u(s: &[u8]) -> Option<(u32, &[u8])> {
    let s = &s[s.iter().position(|c| !b" \t\n\r\x0b\x0c".contains(c)).unwrap_or(s.len())..];
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let v = s[..n].iter().fold(0u64, |v, &c| v.saturating_mul(10).saturating_add(u64::from(c - b'0')));
    Some((if neg { v.wrapping_neg() } else { v } as u32, &s[n..]))
}

/// C's strtoul(s, &end, 0) accepting the whole string: decimal, 0x hex, 0 octal.
pub fn strtoul(s: &str) -> Option<u64> {
    let s = s.trim_start();
    let s = s.strip_prefix('+').unwrap_or(s);
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// A decimal number, optionally negative, nothing else.
pub fn decimal(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, s),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().fold(0i64, |acc, &d| acc * 10 + (d - b'0') as i64);
    Some(if neg { -v } else { v })
}
