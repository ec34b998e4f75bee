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
        let (p, n): (Vec<char>, Vec<char>) = (self.0.chars().collect(), name.chars().collect());
        // Iterative wildcard match with one backtrack point: linear enough for names.
        let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
        while j < n.len() {
            if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
                i += 1;
                j += 1;
            } else if i < p.len() && p[i] == '*' {
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
        p[i..].iter().all(|c| *c == '*')
    }
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
    }
}
