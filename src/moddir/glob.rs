//! fnmatch(3) with flags 0 in the C locale, as kmod matches module alias
//! patterns: `*`, `?`, bracket expressions (`[a-z]`, `[!x]`, `[^x]`, `]`
//! first taken as a member, `[:digit:]` and the other classes, `[=x=]`,
//! `[.x.]`) and backslash escapes; `*` may match `/` (no FNM_PATHNAME).
//! Malformed brackets behave as in glibc 2.36, which the fuzz target
//! checks byte for byte: one that never closes is an ordinary `[`, an
//! unknown class or a collating element of more than one byte matches
//! nothing.
//! Backtracking only to the last `*` keeps it O(pattern x text) on hostile
//! patterns such as `*a*a*a*a*b`, never exponential.

/// kmod holds names and aliases in PATH_MAX buffers (alias_normalize(),
/// modname_normalize()): nothing this long is one, and the bound keeps a
/// 10 MB pattern from a configuration file from taking hours.
const MAX: usize = 4096;

/// glibc's CHAR_CLASS_MAX_LENGTH (CHARCLASS_NAME_MAX): a `[:` name this
/// long makes the pattern fail.
const CLASS_MAX: usize = 2048;

/// Whether `text` matches `pattern`. One loop over both, with the `*`
/// backtracking and the bracket cache side by side: split, each half would
/// need the other's state.
pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    if pattern.len() >= MAX || text.len() >= MAX {
        return false;
    }
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: the pattern position after it,
    // and the text position it currently covers up to.
    let mut star: Option<(usize, usize)> = None;
    // What each bracket does with a `[` of the text, in increasing order
    // of position (each retry after the last `*` walks the pattern forward
    // from it). A bracket that never closes lets a `[` through as itself,
    // and finding that out scans to the end of the pattern: once per
    // bracket, not on every retry. Any other byte that does not match ends
    // the walk, so its scan is paid once per retry.
    let mut open: Vec<(usize, Bracket)> = Vec::new();
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
                    let got = if text[t] == b'[' {
                        match open.binary_search_by_key(&p, |b| b.0) {
                            Ok(i) => open[i].1,
                            Err(i) => {
                                let b = bracket(pattern, p, b'[');
                                open.insert(i, (p, b));
                                b
                            }
                        }
                    } else {
                        bracket(pattern, p, text[t])
                    };
                    match got {
                        Bracket::Match(next) => {
                            p = next;
                            t += 1;
                            continue;
                        }
                        Bracket::Literal if text[t] == b'[' => {
                            p += 1;
                            t += 1;
                            continue;
                        }
                        _ => {}
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

/// What the bracket expression at a `[` does with one byte of the text.
#[derive(Clone, Copy)]
enum Bracket {
    /// The byte is in it; the pattern goes on at this index.
    Match(usize),
    /// The byte is not in it, or the bracket is malformed in a way that
    /// makes glibc's fnmatch() fail this attempt.
    NoMatch,
    /// It never closes: the `[` is an ordinary character.
    Literal,
}

/// Matches `c` against the bracket expression at `pattern[at]` (a `[`),
/// parsing as glibc's fnmatch_loop.c does in the C locale: first member
/// by member until one matches, then skipping the rest, with rules of its
/// own, to the closing `]`. The two parses differ on malformed input, so
/// the outcome depends on `c`. This first parse stays one function, as in
/// glibc, so that the two can be read side by side.
fn bracket(pattern: &[u8], at: usize, c: u8) -> Bracket {
    use Bracket::*;
    // Pattern bytes as a C string: NUL past the end.
    let get = |i: usize| pattern.get(i).copied().unwrap_or(0);
    let mut p = at + 1;
    let negate = matches!(get(p), b'!' | b'^');
    p += negate as usize;
    // `ch` is the member's first byte and `p` the index after it; a `]`
    // is a member when first, so the check for the end comes after one.
    let mut ch = get(p);
    p += 1;
    loop {
        let lo;
        let is_range;
        if ch == b'\\' {
            if get(p) == 0 {
                return NoMatch;
            }
            lo = get(p);
            p += 1;
            is_range = get(p) == b'-' && get(p + 1) != 0 && get(p + 1) != b']';
        } else if ch == 0 {
            return Literal;
        } else if let Some(set) = (ch == b'[').then(|| set(pattern, p, c)).flatten() {
            match set {
                Set::Bad => return NoMatch,
                Set::Has(hit, next) => {
                    p = next;
                    if hit {
                        break;
                    }
                    ch = get(p);
                    p += 1;
                    if ch == b']' {
                        return if negate { Match(p) } else { NoMatch };
                    }
                    continue;
                }
                // A collating element may start a range; glibc's test for
                // one is laxer here than after a plain byte.
                Set::Byte(x, next) => {
                    p = next;
                    lo = x;
                    is_range = get(p) == b'-' && get(p + 1) != 0;
                }
            }
        } else {
            // Also a `[` that starts no class, equivalence class or
            // collating element: it is itself, and the parse goes on
            // after it.
            lo = ch;
            is_range = get(p) == b'-' && get(p + 1) != 0 && get(p + 1) != b']';
        }
        if !is_range && lo == c {
            break;
        }
        ch = get(p);
        p += 1;
        if ch == b'-' && get(p) != b']' {
            let mut hi = get(p);
            p += 1;
            if hi == b'[' && get(p) == b'.' {
                let Some((x, next)) = collating(pattern, p) else { return NoMatch };
                hi = x;
                p = next;
            } else {
                if hi == b'\\' {
                    hi = get(p);
                    p += 1;
                }
                if hi == 0 {
                    return NoMatch;
                }
            }
            if lo <= c && c <= hi {
                break;
            }
            ch = get(p);
            p += 1;
        }
        if ch == b']' {
            return if negate { Match(p) } else { NoMatch };
        }
    }
    skip_rest(pattern, p, negate)
}

/// After a member matched: skips to the closing `]` from `p`, by glibc's
/// rules for this part, which know classes, equivalence classes and
/// collating elements but not ranges.
fn skip_rest(pattern: &[u8], mut p: usize, negate: bool) -> Bracket {
    use Bracket::*;
    let get = |i: usize| pattern.get(i).copied().unwrap_or(0);
    loop {
        let ch = get(p);
        p += 1;
        match ch {
            b']' => return if negate { NoMatch } else { Match(p) },
            0 => return Literal,
            b'\\' => {
                if get(p) == 0 {
                    return NoMatch;
                }
                p += 1;
            }
            b'[' if get(p) == b':' => {
                let start = p;
                loop {
                    p += 1;
                    if p - start == CLASS_MAX {
                        return NoMatch;
                    }
                    if get(p) == b':' && get(p + 1) == b']' {
                        p += 2;
                        break;
                    }
                    if !name_byte(get(p)) {
                        // Not a class: the `[` was an ordinary member.
                        p = start;
                        break;
                    }
                }
            }
            b'[' if get(p) == b'=' => {
                if get(p + 1) == 0 || get(p + 2) != b'=' || get(p + 3) != b']' {
                    return NoMatch;
                }
                p += 4;
            }
            b'[' if get(p) == b'.' => loop {
                p += 1;
                match get(p) {
                    0 => return NoMatch,
                    b'.' if get(p + 1) == b']' => {
                        p += 2;
                        break;
                    }
                    _ => {}
                }
            },
            _ => {}
        }
    }
}

/// A bracket member that starts with `[`, as the first parse reads it.
enum Set {
    /// `[:class:]` or `[=x=]` (in the C locale, the byte x): whether the
    /// byte is in it, and the index after it.
    Has(bool, usize),
    /// `[.x.]`: the byte, which may start a range.
    Byte(u8, usize),
    /// An unknown class, a class name too long, or a collating element
    /// longer than a byte or unclosed: the match fails.
    Bad,
}

/// The member at `pattern[p]`, just after a `[`, for the byte `c`; None
/// when the `[` is an ordinary member.
fn set(pattern: &[u8], p: usize, c: u8) -> Option<Set> {
    let get = |i: usize| pattern.get(i).copied().unwrap_or(0);
    match get(p) {
        b':' => {
            let mut q = p;
            loop {
                if q - p == CLASS_MAX {
                    return Some(Set::Bad);
                }
                q += 1;
                if get(q) == b':' && get(q + 1) == b']' {
                    let name = &pattern[p + 1..q];
                    return Some(
                        CLASSES.iter().position(|k| *k == name).map_or(Set::Bad, |i| Set::Has(class(i, c), q + 2)),
                    );
                }
                // Anything else makes the `[` an ordinary member.
                if !name_byte(get(q)) {
                    return None;
                }
            }
        }
        b'=' if get(p + 1) != 0 && get(p + 2) == b'=' && get(p + 3) == b']' => Some(Set::Has(get(p + 1) == c, p + 4)),
        b'.' => Some(collating(pattern, p).map_or(Set::Bad, |(x, next)| Set::Byte(x, next))),
        _ => None,
    }
}

/// `[.x.]` with `pattern[p]` at its first `.`: the byte and the index
/// after it. The C locale names no collating elements, so a longer one,
/// like an unclosed one, is None.
fn collating(pattern: &[u8], p: usize) -> Option<(u8, usize)> {
    let get = |i: usize| pattern.get(i).copied().unwrap_or(0);
    let mut q = p + 1;
    loop {
        match get(q) {
            0 => return None,
            b'.' if get(q + 1) == b']' => break,
            _ => q += 1,
        }
    }
    (q == p + 2).then(|| (get(p + 1), q + 2))
}

/// What glibc lets into a class name (`c < 'a' || c >= 'z'` ends one):
/// no `z`, though no class has one.
fn name_byte(c: u8) -> bool {
    (b'a'..=b'y').contains(&c)
}

const CLASSES: [&[u8]; 12] = [
    b"alpha", b"digit", b"alnum", b"upper", b"lower", b"xdigit", b"space", b"blank", b"punct", b"cntrl", b"print",
    b"graph",
];

/// Whether `c` is in CLASSES[i] in the C locale.
fn class(i: usize, c: u8) -> bool {
    match i {
        0 => c.is_ascii_alphabetic(),
        1 => c.is_ascii_digit(),
        2 => c.is_ascii_alphanumeric(),
        3 => c.is_ascii_uppercase(),
        4 => c.is_ascii_lowercase(),
        5 => c.is_ascii_hexdigit(),
        6 => matches!(c, b' ' | b'\t'..=b'\r'),
        7 => matches!(c, b' ' | b'\t'),
        8 => c.is_ascii_punctuation(),
        9 => c.is_ascii_control(),
        10 => (0x20..0x7f).contains(&c),
        _ => c.is_ascii_graphic(),
    }
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
            ("[[=a=]]", "a"),
            ("[[.a.]]", "a"),
            ("[[.-.]]", "-"),
            ("[![:digit:]]", "a"),
            // Not a class name (no `z` in any): `[`, `:`, `z`, `:`, then `]`.
            ("[[:z:]]", "z]"),
            // A collating element starts a range before a `]`, and a range
            // ending at `]` is no range: `-` is a member, `a` is not.
            ("[[.a.]-]", "-"),
            // Malformed `[=` is an ordinary `[` in the first parse.
            ("[a[=bc]", "["),
            ("[x+-[=b]", "A"),
            // A bracket that matched and then never closes is a `[`.
            ("[[", "[["),
            ("*[[", "[["),
            // The skip after a match reads `[:alpha:]` whole; the first
            // parse took `x-[` as a range.
            ("[yx-[:alpha:]]", "y"),
            ("[yx-[:alpha:]]", ":]"),
        ];
        for (p, t) in yes {
            assert!(matches(p.as_bytes(), t.as_bytes()), "{p} ~ {t}");
        }
        let no: &[(&str, &str)] = &[
            ("a?c", "ac"),
            ("[a-c]x", "dx"),
            ("[!a-c]x", "bx"),
            ("\\*", "a"),
            ("abc", "abcd"),
            ("*b", "a"),
            ("", "a"),
            ("[[:digit:]]", "a"),
            ("[![:alpha:]_]x", "_x"),
            ("[a-", "[a-"),
            ("**[[a-", "[[a-"),
            ("[a\\", "[a\\"),
            ("[a-\\", "[a-\\"),
        ];
        let no2: &[(&str, &str)] = &[
            ("[[.a.]-]", "a"),
            ("[[:z:]]", "z"),
            ("[[:foo:]]", "f"),
            ("[[::]]", ":"),
            ("[[.ab.]]", "a"),
            ("[[.bc.]a]", "a"),
            // After a match, the skip refuses what the first parse took.
            ("[a[.bc.]]", "b"),
            ("[a[=bc]", "a"),
            ("[x+-[=b]", "x"),
            ("[:-x[.", "[:-x[."),
        ];
        for (p, t) in no.iter().chain(no2) {
            assert!(!matches(p.as_bytes(), t.as_bytes()), "{p} !~ {t}");
        }
    }

    /// glibc's CHAR_CLASS_MAX_LENGTH, 2048, as its two parses count it.
    #[test]
    fn class_names_too_long() {
        let a = |n| "a".repeat(n);
        assert!(matches(format!("[x[:{}:]]", a(2046)).as_bytes(), b"x"));
        assert!(!matches(format!("[x[:{}:]]", a(2047)).as_bytes(), b"x"));
        let p = format!("[[:{}", a(2047));
        assert!(matches(p.as_bytes(), p.as_bytes()));
        let p = format!("[[:{}", a(2048));
        assert!(!matches(p.as_bytes(), p.as_bytes()));
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
        // Classes, equivalence classes and collating elements in brackets
        // that never close, each a `[` of the text, after stars.
        for unit in ["[[:alpha:]", "*[[=a=]", "[a[.b.]", "*[x[:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] {
            let p = "*".to_string() + &unit.repeat(4000 / unit.len()) + "q";
            let t = "[".repeat(2000) + &"a".repeat(2000);
            assert!(!matches(p.as_bytes(), t.as_bytes()));
        }
    }
}
