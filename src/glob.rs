//! fnmatch(3) with flags 0, as kmod matches module alias patterns: `*`,
//! `?`, bracket expressions (`[a-z]`, `[!x]`, `[^x]`, `]` first taken as a
//! member, `[:digit:]` and the other classes) and backslash escapes. Not
//! kept: collating elements `[.x.]` and `[=x=]`, and glibc's refusal of a
//! whole pattern whose bracket is malformed around them (no kernel alias
//! has either; the fuzz target documents the difference). `*` may match `/` (no FNM_PATHNAME).
//! Backtracking only to the last `*` keeps it O(pattern x text) on hostile
//! patterns such as `*a*a*a*a*b`, never exponential.

/// kmod holds names and aliases in PATH_MAX buffers (alias_normalize(),
/// modname_normalize()): nothing this long is one, and the bound keeps a
/// 10 MB pattern from a configuration file from taking hours.
const MAX: usize = 4096;

pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    if pattern.len() >= MAX || text.len() >= MAX {
        return false;
    }
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: the pattern position after it,
    // and the text position it currently covers up to.
    let mut star: Option<(usize, usize)> = None;
    // The `[` found not to close or to be malformed, in increasing order
    // (each retry after the last `*` walks the pattern forward from it):
    // finding that out scans to the end of the pattern, once, not on every
    // retry.
    let mut broken: Vec<(usize, Open)> = Vec::new();
    loop {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    p += 1;
                    star = Some((p, t));
                    continue;
                }
                b'?' if t < text.len() => {
                    p += 1;
                    t += 1;
                    continue;
                }
                b'[' if t < text.len() => {
                    let known = broken.binary_search_by_key(&p, |b| b.0).ok().map(|i| broken[i].1);
                    match known.map_or_else(|| bracket(pattern, p, text[t]), Err) {
                        Ok((true, next)) => {
                            p = next;
                            t += 1;
                            continue;
                        }
                        Ok(_) => {}
                        Err(open) => {
                            if known.is_none() {
                                broken.push((p, open));
                            }
                            // An unclosed `[` is an ordinary character; a
                            // malformed one matches nothing.
                            if open == Open::Unclosed && text[t] == b'[' {
                                p += 1;
                                t += 1;
                                continue;
                            }
                        }
                    }
                }
                b'\\' if p + 1 < pattern.len() && t < text.len() && pattern[p + 1] == text[t] => {
                    p += 2;
                    t += 1;
                    continue;
                }
                c if c != b'\\' && c != b'?' && c != b'[' && t < text.len() && c == text[t] => {
                    p += 1;
                    t += 1;
                    continue;
                }
                _ => {}
            }
        } else if t == text.len() {
            return true;
        }
        // Mismatch: let the last `*` swallow one more character.
        match star {
            Some((sp, st)) if st < text.len() => {
                star = Some((sp, st + 1));
                p = sp;
                t = st + 1;
            }
            _ => return false,
        }
    }
}

/// How a bracket expression that does not close ends: at the end of the
/// pattern after its members (the `[` is then an ordinary character), or
/// inside a range or an escape (`[a-`, `[a\\`), for which glibc's fnmatch()
/// gives no match at all.
#[derive(Clone, Copy, PartialEq)]
enum Open {
    Unclosed,
    Malformed,
}

/// Matches `c` against the bracket expression at `pattern[at]` (a `[`).
/// Returns whether it matched and where the pattern goes on.
fn bracket(pattern: &[u8], at: usize, c: u8) -> Result<(bool, usize), Open> {
    let mut i = at + 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let mut lo = *pattern.get(i).ok_or(Open::Unclosed)?;
        if lo == b']' && !first {
            return Ok((hit != negate, i + 1));
        }
        first = false;
        if let Some((is, len)) = class(&pattern[i..], c) {
            hit |= is;
            i += len;
            continue;
        }
        if lo == b'\\' {
            i += 1;
            lo = *pattern.get(i).ok_or(Open::Malformed)?;
        }
        i += 1;
        let mut hi = lo;
        if pattern.get(i) == Some(&b'-') && pattern.get(i + 1) != Some(&b']') {
            hi = *pattern.get(i + 1).ok_or(Open::Malformed)?;
            if hi == b'\\' {
                hi = *pattern.get(i + 2).ok_or(Open::Malformed)?;
                i += 1;
            }
            i += 2;
        }
        hit |= lo <= c && c <= hi;
    }
}

/// A POSIX character class such as `[:digit:]` at the front of `p`, in the
/// C locale fnmatch() uses for kmod: whether `c` is in it and its length.
/// Anything else starting `[:` is ordinary characters here.
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let rest = p.strip_prefix(b"[:")?;
    let end = rest.windows(2).position(|w| w == b":]")?;
    let is = match &rest[..end] {
        b"alpha" => c.is_ascii_alphabetic(),
        b"digit" => c.is_ascii_digit(),
        b"alnum" => c.is_ascii_alphanumeric(),
        b"upper" => c.is_ascii_uppercase(),
        b"lower" => c.is_ascii_lowercase(),
        b"xdigit" => c.is_ascii_hexdigit(),
        b"space" => matches!(c, b' ' | b'\t'..=b'\r'),
        b"blank" => matches!(c, b' ' | b'\t'),
        b"punct" => c.is_ascii_punctuation(),
        b"cntrl" => c.is_ascii_control(),
        b"print" => (0x20..0x7f).contains(&c),
        b"graph" => c.is_ascii_graphic(),
        _ => return None,
    };
    Some((is, end + 4))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn like_fnmatch() {
        let yes: &[(&str, &str)] = &[
            ("pci:v00008086d*sv*sd*bc*sc*i*", "pci:v00008086d00001234sv00000000sd00000000bc02sc00i00"),
            ("usb:v*p*d*dc*dsc*dp*ic03isc*ip*in*", "usb:v046Dp C52Bd1201dc00dsc00dp00ic03isc01ip02in00"),
            ("a?c", "abc"),
            ("[a-c]x", "bx"),
            ("[!a-c]x", "dx"),
            ("[^a-c]x", "dx"),
            ("[]]", "]"),
            ("[a-]", "-"),
            ("\\*", "*"),
            ("*", ""),
            ("a*", "a/b"),
            ("[", "["),
            ("a[", "a["),
            ("of:N*T*Cfsl,imx6q-uart", "of:NserialT<NULL>Cfsl,imx6q-uart"),
            ("net-pf-[[:digit:]]*", "net-pf-10"),
            ("[![:alpha:]_]x", "-x"),
            ("[a-b-", "[a-b-"),
            ("[-", "[-"),
        ];
        for (p, t) in yes {
            assert!(matches(p.as_bytes(), t.as_bytes()), "{p} ~ {t}");
        }
        let no: &[(&str, &str)] = &[("a?c", "ac"), ("[a-c]x", "dx"), ("[!a-c]x", "bx"), ("\\*", "a"), ("abc", "abcd"), ("*b", "a"), ("", "a"), ("[[:digit:]]", "a"), ("[![:alpha:]_]x", "_x"), ("[a-", "[a-"), ("**[[a-", "[[a-"), ("[a\\", "[a\\"), ("[a-\\", "[a-\\")];
        for (p, t) in no {
            assert!(!matches(p.as_bytes(), t.as_bytes()), "{p} !~ {t}");
        }
    }

    #[test]
    fn hostile_patterns_stay_fast() {
        let p = "*a".repeat(200) + "b";
        let t = "a".repeat(4000);
        assert!(!matches(p.as_bytes(), t.as_bytes()));
        // Unclosed brackets (the escaped `]` is a member), each an ordinary
        // `[`, against a text that matches them literally up to the end.
        let p = "*".to_string() + &"[a\\]".repeat(800) + "x";
        let t = "[a]".repeat(1300);
        assert!(!matches(p.as_bytes(), t.as_bytes()));
        assert!(matches(b"*[a\\]", b"x[a]"));
        assert!(!matches(&[b'*'; 4096], b"x"));
    }
}
