//! Module parameters as the kernel's parser (kernel/params.c, next_arg())
//! expects them: `name=value` words separated by single spaces, a value
//! with spaces in double quotes.

/// Joins the command-line words into one parameter string. A value that
/// contains a space and is not already quoted is wrapped in `"`, the rule of
/// kmod's modprobe (options_from_array()) and busybox's insmod; without it the
/// kernel would split the value into separate parameters.
pub fn join<'a>(words: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for w in words {
        if !out.is_empty() {
            out.push(b' ');
        }
        match w.iter().position(|&c| c == b'=') {
            Some(eq) if !matches!(w.get(eq + 1), Some(b'"' | b'\'')) && w[eq + 1..].contains(&b' ') => {
                out.extend_from_slice(&w[..=eq]);
                out.push(b'"');
                out.extend_from_slice(&w[eq + 1..]);
                out.push(b'"');
            }
            _ => out.extend_from_slice(w),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(words: &[&str]) -> String {
        String::from_utf8(join(words.iter().map(|w| w.as_bytes()))).unwrap()
    }

    #[test]
    fn quoting() {
        assert_eq!(j(&[]), "");
        assert_eq!(j(&["numdummies=3"]), "numdummies=3");
        assert_eq!(j(&["a=1", "b", "c=x y"]), "a=1 b c=\"x y\"");
        assert_eq!(j(&["c=\"x y\""]), "c=\"x y\"");
        assert_eq!(j(&["c='x y'"]), "c='x y'");
        assert_eq!(j(&["flag with space"]), "flag with space");
        assert_eq!(j(&["e="]), "e=");
    }
}
