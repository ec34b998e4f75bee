//! Reading Rust source for the architecture test: comments and literals blanked (so a
//! path in a doc comment or a string is no import), `#[cfg(test)]` items blanked (unit
//! tests may wire real adapters together, as the composition root does), then tokens with
//! their line numbers.

/// A token: an identifier (or keyword), `::`, or one punctuation character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub line: usize,
}

/// `src` with comments, string and char literals replaced by spaces; newlines are kept so
/// line numbers stay true.
pub fn blank_comments_and_literals(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&c, i) {
            // r"..." or r#"..."#: no escapes, ends at a quote and as many hashes.
            let open = 1 + hashes + 1 + usize::from(c[i] == 'b');
            for _ in 0..open {
                out.push(' ');
            }
            i += open;
            while i < c.len() {
                if c[i] == '"' && (0..hashes).all(|k| c.get(i + 1 + k) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(c[i]));
                i += 1;
            }
        } else if c[i] == '"' {
            out.push(' ');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < c.len() {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c[i] == '\''
            && let Some(len) = char_literal_len(&c, i)
        {
            for _ in 0..len {
                out.push(' ');
            }
            i += len;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// At `i`, the number of `#` of a raw string literal (`r"`, `r#"`, `br"`) that starts
/// there; `None` when none does (an identifier ending in `r` does not count).
fn raw_string_start(c: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if c[j] == 'b' {
        j += 1;
    }
    if c.get(j) != Some(&'r') {
        return None;
    }
    if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_') {
        return None;
    }
    let mut hashes = 0;
    j += 1;
    while c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (c.get(j) == Some(&'"')).then_some(hashes)
}

/// The length of the char literal starting at `i` (`'a'`, `'\n'`, `'\u{1F600}'`), or
/// `None` for a lifetime (`'a`).
fn char_literal_len(c: &[char], i: usize) -> Option<usize> {
    match (c.get(i + 1), c.get(i + 2)) {
        (Some('\\'), _) => {
            let end = (i + 2..c.len().min(i + 12)).find(|&k| c[k] == '\'')?;
            Some(end - i + 1)
        }
        (Some(_), Some('\'')) => Some(3),
        _ => None,
    }
}

/// Blanks every item marked `#[cfg(test)]` (a test module, a test-only `use` or
/// function): from the attribute to the end of the item.
pub fn blank_test_items(src: &str) -> String {
    const ATTR: &str = "#[cfg(test)]";
    let mut out: Vec<char> = src.chars().collect();
    let text: String = out.iter().collect();
    let mut from = 0;
    while let Some(at) = text[from..].find(ATTR).map(|k| k + from) {
        // Character indices equal byte indices only for ASCII text; map them.
        let start = text[..at].chars().count();
        let end = item_end(&out, start + ATTR.chars().count());
        for ch in out.iter_mut().take(end).skip(start) {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
        from = at + ATTR.len();
    }
    out.into_iter().collect()
}

/// Where the item starting after an attribute at `i` ends: its `;` or the `}` closing
/// its first block (further attributes are part of it).
fn item_end(c: &[char], mut i: usize) -> usize {
    let mut depth = 0i32;
    let mut opened_block = false;
    while i < c.len() {
        match c[i] {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '{' => {
                if depth == 0 {
                    opened_block = true;
                }
                depth += 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 && opened_block {
                    return i + 1;
                }
            }
            ';' if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    c.len()
}

/// The tokens of cleaned source: identifiers, `::`, and single punctuation characters.
pub fn tokens(src: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for (n, line) in src.lines().enumerate() {
        let c: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < c.len() {
            if c[i].is_alphabetic() || c[i] == '_' {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                out.push(Token {
                    text: c[start..i].iter().collect(),
                    line: n + 1,
                });
            } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
                out.push(Token {
                    text: "::".into(),
                    line: n + 1,
                });
                i += 2;
            } else if c[i].is_whitespace() || c[i].is_numeric() {
                i += 1;
            } else {
                out.push(Token {
                    text: c[i].to_string(),
                    line: n + 1,
                });
                i += 1;
            }
        }
    }
    out
}

/// Cleaned tokens of a source file: what the architecture test reads.
pub fn read(src: &str) -> Vec<Token> {
    tokens(&blank_test_items(&blank_comments_and_literals(src)))
}
