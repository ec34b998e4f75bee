//! Name patterns in config files: experiment names in notification routes, project
//! paths and branches in the GitLab config.

/// An experiment-name pattern: `*` any run of characters, `?` one character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    /// A pattern as written.
    pub fn new(pattern: impl Into<String>) -> Glob {
        Glob(pattern.into())
    }

    /// Whether `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> bool {
        glob_matches(&self.0, name)
    }
}

/// Whether `name` matches the whole of `pattern` (`*` any run, `?` one character),
/// without building a [`Glob`]: trust policies match claims on every request.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    if pattern.is_ascii() && name.is_ascii() {
        // One byte is one character: no copy needed.
        return wildcard(pattern.as_bytes(), name.as_bytes(), b'*', b'?');
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    wildcard(&p, &n, '*', '?')
}

/// Iterative wildcard match with one backtrack point: linear enough for names.
fn wildcard<T: PartialEq + Copy>(p: &[T], n: &[T], any_run: T, any_one: T) -> bool {
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == any_one || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == any_run {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == any_run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        let g = Glob::new("checkout-*");
        assert!(g.matches("checkout-") && g.matches("checkout-under-stress"));
        assert!(!g.matches("pre-checkout-x") && !g.matches("checkout"));
        assert!(Glob::new("*-stress").matches("checkout-under-stress"));
        assert!(Glob::new("a?c*d").matches("abcxxd") && !Glob::new("a?c*d").matches("abcxxe"));
        assert!(Glob::new("*").matches("") && Glob::new("ünï*").matches("ünïcode"));
        // `?` is one character, also where a character is several bytes.
        assert!(Glob::new("a?c").matches("aüc") && !Glob::new("a??c").matches("aüc"));
        assert!(glob_matches("release-*", "release-1") && !glob_matches("release-?", "release-10"));
    }
}
