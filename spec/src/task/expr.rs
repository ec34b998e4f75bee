//! Branch conditions of a task: the subset of antonmedv/expr that Chaos Mesh's
//! `conditionalBranches[].expression` uses in practice, over the task's `exitCode` (a
//! whole number) and `stdout` (its log, whitespace trimmed at both ends, as Chaos Mesh
//! trims it).
//!
//! Supported: `==`, `!=`, `<`, `>`, `<=`, `>=`, `&&`/`and`, `||`/`or`, `!`/`not`,
//! `contains`, `startsWith`, `endsWith`, parentheses, whole numbers (with a leading `-`),
//! strings in double or single quotes (with `\"`, `\'`, `\\`, `\n`, `\t`), `true`,
//! `false`, `exitCode` and `stdout`. Types are checked when parsed: `exitCode == "0"` is
//! an error here, where Chaos Mesh would report it only at run time and skip the branch.
//! Anything else (`matches`, `in`, arithmetic, function calls, `?:`) is refused by name.
//!
//! Why hand-written: no crate implements expr's syntax for Rust with the positions and
//! refusals a validating decoder needs, and the subset is small enough to read in one go.

use std::fmt;

/// What every refusal lists.
pub const SUPPORTED: &str = "==, !=, <, >, <=, >=, && (and), || (or), ! (not), contains, startsWith, endsWith, parentheses, whole numbers, \"strings\", true, false, exitCode, stdout";

/// A parsed, type-checked condition; shown and serialized as written.
#[derive(Debug, Clone)]
pub struct Condition {
    source: String,
    expr: Expr,
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// Why an expression was refused, and where in it (a character offset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {})", .at + 1)]
pub struct ExprError {
    /// 0-based character offset in the expression.
    pub at: usize,
    /// What is wrong.
    pub message: String,
}

/// What a task left behind for its branches.
#[derive(Debug, Clone, Copy)]
pub struct TaskOutcome<'a> {
    /// The container's exit code.
    pub exit_code: i64,
    /// Its log, whitespace trimmed at both ends.
    pub stdout: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Int,
    Str,
    Bool,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::Int => "a whole number",
            Type::Str => "a string",
            Type::Bool => "true or false",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    And,
    Or,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone)]
enum Expr {
    Int(i64),
    Str(String),
    Bool(bool),
    ExitCode,
    Stdout,
    Not(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone)]
enum Value<'a> {
    Int(i64),
    Str(std::borrow::Cow<'a, str>),
    Bool(bool),
}

impl Condition {
    /// Parses and type-checks `source`; the whole must be true or false.
    pub fn parse(source: &str) -> Result<Condition, ExprError> {
        let tokens = lex(source)?;
        let mut p = Parser { tokens, i: 0 };
        let (expr, ty, at) = p.or()?;
        if let Some(t) = p.peek() {
            if let Tok::Refused(s) | Tok::Sym(s @ "-") = t.tok {
                return Err(refused(t.at, &format!("`{s}`")));
            }
            return Err(ExprError {
                at: t.at,
                message: format!("unexpected {}", t.tok.describe()),
            });
        }
        if ty != Type::Bool {
            return Err(ExprError {
                at,
                message: format!(
                    "the condition is {}, not true or false; compare it, e.g. `exitCode == 0`",
                    ty.name()
                ),
            });
        }
        Ok(Condition {
            source: source.to_string(),
            expr,
        })
    }

    /// The condition as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether it holds for `outcome`.
    pub fn holds(&self, outcome: TaskOutcome<'_>) -> bool {
        matches!(eval(&self.expr, outcome), Value::Bool(true))
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for Condition {
    type Err = ExprError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Condition::parse(s)
    }
}

impl serde::Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> serde::Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Condition::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn eval<'a>(e: &Expr, o: TaskOutcome<'a>) -> Value<'a> {
    use std::borrow::Cow;
    match e {
        Expr::Int(i) => Value::Int(*i),
        Expr::Str(s) => Value::Str(Cow::Owned(s.clone())),
        Expr::Bool(b) => Value::Bool(*b),
        Expr::ExitCode => Value::Int(o.exit_code),
        Expr::Stdout => Value::Str(Cow::Borrowed(o.stdout)),
        Expr::Not(x) => Value::Bool(!truth(&eval(x, o))),
        // Short-circuit, as expr does.
        Expr::Bin(Op::And, a, b) => Value::Bool(truth(&eval(a, o)) && truth(&eval(b, o))),
        Expr::Bin(Op::Or, a, b) => Value::Bool(truth(&eval(a, o)) || truth(&eval(b, o))),
        Expr::Bin(op, a, b) => {
            let (a, b) = (eval(a, o), eval(b, o));
            Value::Bool(match (&a, &b) {
                (Value::Int(x), Value::Int(y)) => compare(*op, x.cmp(y)),
                (Value::Str(x), Value::Str(y)) => match op {
                    Op::Contains => x.contains(y.as_ref()),
                    Op::StartsWith => x.starts_with(y.as_ref()),
                    Op::EndsWith => x.ends_with(y.as_ref()),
                    _ => compare(*op, x.as_ref().cmp(y.as_ref())),
                },
                (Value::Bool(x), Value::Bool(y)) => compare(*op, x.cmp(y)),
                // The type check at parse time rules this out.
                _ => false,
            })
        }
    }
}

fn truth(v: &Value<'_>) -> bool {
    matches!(v, Value::Bool(true))
}

fn compare(op: Op, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => ord == Equal,
        Op::Ne => ord != Equal,
        Op::Lt => ord == Less,
        Op::Gt => ord == Greater,
        Op::Le => ord != Greater,
        Op::Ge => ord != Less,
        _ => false,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(i64),
    Str(String),
    Ident(String),
    Sym(&'static str),
    /// An operator of expr outside the subset, refused where the parser meets it (so
    /// `exitCode in [0, 1]` names `in`, the first thing it cannot do).
    Refused(&'static str),
    Open,
    Close,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Int(i) => format!("number `{i}`"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Sym(s) | Tok::Refused(s) => format!("`{s}`"),
            Tok::Open => "`(`".into(),
            Tok::Close => "`)`".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    at: usize,
}

/// Operators of expr that are recognised only to be refused by name.
const REFUSED_SYMBOLS: [&str; 16] = [
    "??", "?.", "**", "..", "+", "-", "*", "/", "%", "^", "?", ":", ".", "[", "]", "|",
];
const SYMBOLS: [&str; 10] = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", ","];

fn lex(src: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '(' || c == ')' {
            out.push(Token {
                tok: if c == '(' { Tok::Open } else { Tok::Close },
                at,
            });
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text
                .replace('_', "")
                .parse::<i64>()
                .map_err(|_| ExprError {
                    at,
                    message: format!("`{text}` is not a whole number"),
                })?;
            out.push(Token {
                tok: Tok::Int(n),
                at,
            });
            continue;
        }
        if c == '"' || c == '\'' {
            let (s, next) = string(&chars, i)?;
            out.push(Token {
                tok: Tok::Str(s),
                at,
            });
            i = next;
            continue;
        }
        if c.is_alphabetic() || c == '_' || c == '$' || c == '#' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(chars[start..i].iter().collect()),
                at,
            });
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if let Some(s) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            out.push(Token {
                tok: Tok::Sym(s),
                at,
            });
            i += s.chars().count();
            continue;
        }
        if let Some(s) = REFUSED_SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            // A leading minus on a number is a negative literal; every other use is
            // arithmetic, which branch conditions do not need.
            if *s == "-" && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                out.push(Token {
                    tok: Tok::Sym("-"),
                    at,
                });
                i += 1;
                continue;
            }
            out.push(Token {
                tok: Tok::Refused(s),
                at,
            });
            i += s.chars().count();
            continue;
        }
        let single: String = chars[i..i + 1].iter().collect();
        let message = if single == "=" {
            "`=` is not a comparison; write `==`".to_string()
        } else if single == "&" || single == "|" {
            format!("`{single}` alone is not an operator; write `{single}{single}`")
        } else {
            format!("unexpected `{single}`")
        };
        return Err(ExprError { at, message });
    }
    Ok(out)
}

fn string(chars: &[char], start: usize) -> Result<(String, usize), ExprError> {
    let quote = chars[start];
    let mut s = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let Some(&e) = chars.get(i + 1) else { break };
                s.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '\\' | '"' | '\'' => e,
                    other => {
                        return Err(ExprError {
                            at: i,
                            message: format!("unknown escape `\\{other}`"),
                        });
                    }
                });
                i += 2;
            }
            c if c == quote => return Ok((s, i + 1)),
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    Err(ExprError {
        at: start,
        message: format!("the string is not closed: add `{quote}`"),
    })
}

fn refused(at: usize, what: &str) -> ExprError {
    ExprError {
        at,
        message: format!("{what} is not supported in a branch condition; supported: {SUPPORTED}"),
    }
}

struct Parser {
    tokens: Vec<Token>,
    i: usize,
}

type Parsed = (Expr, Type, usize);

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.i)
    }

    fn end(&self) -> usize {
        self.tokens.last().map_or(0, |t| t.at + 1)
    }

    /// The binary operator at the cursor, if it is one of `ops`.
    fn op(&self, ops: &[(&str, Op)]) -> Option<(Op, usize)> {
        let t = self.peek()?;
        let text = match &t.tok {
            Tok::Sym(s) => *s,
            Tok::Ident(s) => s.as_str(),
            _ => return None,
        };
        ops.iter()
            .find(|(name, _)| *name == text)
            .map(|(_, op)| (*op, t.at))
    }

    fn or(&mut self) -> Result<Parsed, ExprError> {
        let mut left = self.and()?;
        while let Some((op, _)) = self.op(&[("||", Op::Or), ("or", Op::Or)]) {
            self.i += 1;
            let right = self.and()?;
            left = logical(op, left, right)?;
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Parsed, ExprError> {
        let mut left = self.comparison()?;
        while let Some((op, _)) = self.op(&[("&&", Op::And), ("and", Op::And)]) {
            self.i += 1;
            let right = self.comparison()?;
            left = logical(op, left, right)?;
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Parsed, ExprError> {
        const OPS: [(&str, Op); 9] = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("<", Op::Lt),
            (">", Op::Gt),
            ("contains", Op::Contains),
            ("startsWith", Op::StartsWith),
            ("endsWith", Op::EndsWith),
        ];
        let mut left = self.unary()?;
        loop {
            if let Some(t) = self.peek() {
                match &t.tok {
                    Tok::Ident(word) if ["matches", "in"].contains(&word.as_str()) => {
                        return Err(refused(t.at, &format!("`{word}`")));
                    }
                    Tok::Refused(s) => return Err(refused(t.at, &format!("`{s}`"))),
                    _ => {}
                }
            }
            let Some((op, at)) = self.op(&OPS) else {
                return Ok(left);
            };
            self.i += 1;
            let right = self.unary()?;
            left = comparison(op, at, left, right)?;
        }
    }

    fn unary(&mut self) -> Result<Parsed, ExprError> {
        if let Some((_, at)) = self.op(&[("!", Op::Eq), ("not", Op::Eq)]) {
            self.i += 1;
            let (e, ty, _) = self.unary()?;
            if ty != Type::Bool {
                return Err(ExprError {
                    at,
                    message: format!("`!` needs true or false, not {}", ty.name()),
                });
            }
            return Ok((Expr::Not(Box::new(e)), Type::Bool, at));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Parsed, ExprError> {
        let Some(t) = self.tokens.get(self.i).cloned() else {
            return Err(ExprError {
                at: self.end(),
                message: "the condition ends too early: a value is missing".into(),
            });
        };
        self.i += 1;
        let at = t.at;
        let parsed = match t.tok {
            Tok::Int(i) => (Expr::Int(i), Type::Int, at),
            Tok::Str(s) => (Expr::Str(s), Type::Str, at),
            Tok::Sym("-") => match self.tokens.get(self.i).map(|t| &t.tok) {
                Some(Tok::Int(i)) => {
                    let i = -*i;
                    self.i += 1;
                    (Expr::Int(i), Type::Int, at)
                }
                _ => return Err(refused(at, "`-`")),
            },
            Tok::Refused(s) => return Err(refused(at, &format!("`{s}`"))),
            Tok::Open => {
                let inner = self.or()?;
                match self.peek() {
                    Some(Token {
                        tok: Tok::Close, ..
                    }) => self.i += 1,
                    Some(t) => {
                        return Err(ExprError {
                            at: t.at,
                            message: format!("expected `)`, got {}", t.tok.describe()),
                        });
                    }
                    None => {
                        return Err(ExprError {
                            at,
                            message: "this `(` is not closed: add `)`".into(),
                        });
                    }
                }
                (inner.0, inner.1, at)
            }
            Tok::Ident(name) => {
                if matches!(self.peek(), Some(Token { tok: Tok::Open, .. })) {
                    return Err(refused(at, &format!("calling `{name}(...)`")));
                }
                match name.as_str() {
                    "exitCode" => (Expr::ExitCode, Type::Int, at),
                    "stdout" => (Expr::Stdout, Type::Str, at),
                    "true" => (Expr::Bool(true), Type::Bool, at),
                    "false" => (Expr::Bool(false), Type::Bool, at),
                    "nil" => return Err(refused(at, "`nil`")),
                    _ => {
                        let hint = match crate::decode::cx::closest(&name, ["exitCode", "stdout"]) {
                            Some(c) => format!("; did you mean `{c}`?"),
                            None => String::new(),
                        };
                        return Err(ExprError {
                            at,
                            message: format!(
                                "unknown name `{name}`: a task's branches know `exitCode` and `stdout`{hint}"
                            ),
                        });
                    }
                }
            }
            other => {
                return Err(ExprError {
                    at,
                    message: format!("expected a value, got {}", other.describe()),
                });
            }
        };
        Ok(parsed)
    }
}

fn logical(op: Op, l: Parsed, r: Parsed) -> Result<Parsed, ExprError> {
    for side in [&l, &r] {
        if side.1 != Type::Bool {
            return Err(ExprError {
                at: side.2,
                message: format!(
                    "`{}` joins conditions, but this is {}; compare it, e.g. `exitCode == 0`",
                    if op == Op::And { "&&" } else { "||" },
                    side.1.name()
                ),
            });
        }
    }
    Ok((Expr::Bin(op, Box::new(l.0), Box::new(r.0)), Type::Bool, l.2))
}

fn comparison(op: Op, at: usize, l: Parsed, r: Parsed) -> Result<Parsed, ExprError> {
    let name = match op {
        Op::Eq => "==",
        Op::Ne => "!=",
        Op::Lt => "<",
        Op::Gt => ">",
        Op::Le => "<=",
        Op::Ge => ">=",
        Op::Contains => "contains",
        Op::StartsWith => "startsWith",
        Op::EndsWith => "endsWith",
        Op::And | Op::Or => unreachable!("logical operators are parsed apart"),
    };
    let strings_only = matches!(op, Op::Contains | Op::StartsWith | Op::EndsWith);
    let ordered = matches!(op, Op::Lt | Op::Gt | Op::Le | Op::Ge);
    let fits = l.1 == r.1 && (!strings_only || l.1 == Type::Str) && (!ordered || l.1 != Type::Bool);
    if !fits {
        let hint = if l.1 != r.1 && (l.1 == Type::Str || r.1 == Type::Str) {
            "; write numbers without quotes for `exitCode`, and quote strings for `stdout`"
        } else {
            ""
        };
        return Err(ExprError {
            at,
            message: format!(
                "`{name}` cannot compare {} with {}{hint}",
                l.1.name(),
                r.1.name()
            ),
        });
    }
    Ok((Expr::Bin(op, Box::new(l.0), Box::new(r.0)), Type::Bool, l.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(src: &str, exit_code: i64, stdout: &str) -> bool {
        Condition::parse(src)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
            .holds(TaskOutcome { exit_code, stdout })
    }

    fn refusal(src: &str) -> String {
        Condition::parse(src).unwrap_err().to_string()
    }

    #[test]
    fn chaos_mesh_examples_pick_their_branch() {
        let a = r#"exitCode == 0 && stdout == "branch-a""#;
        assert!(holds(a, 0, "branch-a"));
        assert!(!holds(a, 0, "branch-b"));
        assert!(!holds(a, 1, "branch-a"));
        assert!(holds("exitCode != 0", 2, ""));
        assert!(holds("'b' == stdout", 0, "b"));
    }

    #[test]
    fn precedence_parentheses_and_words() {
        // && binds tighter than ||.
        assert!(holds(
            "exitCode == 1 || exitCode == 0 && stdout == 'x'",
            1,
            "y"
        ));
        assert!(!holds(
            "(exitCode == 1 || exitCode == 0) && stdout == 'x'",
            1,
            "y"
        ));
        assert!(holds("not (exitCode > 0) and !false", 0, ""));
        assert!(holds(
            "exitCode >= -1 && exitCode <= 2 && exitCode < 3",
            -1,
            ""
        ));
        assert!(holds(
            r#"stdout contains "ok" or stdout startsWith "done""#,
            0,
            "all ok"
        ));
        assert!(holds(r#"stdout endsWith "\"x\"""#, 0, "say \"x\""));
        assert!(holds("stdout < 'b'", 0, "a"));
    }

    #[test]
    fn anything_outside_the_subset_is_refused_by_name() {
        assert!(refusal("stdout matches '^a'").contains("`matches` is not supported"));
        assert!(refusal("exitCode in [0, 1]").contains("`in` is not supported"));
        assert!(refusal("exitCode + 1 == 2").contains("`+` is not supported"));
        assert!(refusal("exitCode -1 == 2").contains("`-` is not supported"));
        assert!(refusal("len(stdout) > 0").contains("calling `len(...)`"));
        assert!(refusal("exitCode = 0").contains("write `==`"));
        assert!(refusal("exitcode == 0").contains("did you mean `exitCode`?"));
        assert_eq!(
            refusal(r#"exitCode == "0""#),
            "`==` cannot compare a whole number with a string; write numbers without quotes for `exitCode`, and quote strings for `stdout` (at character 10)"
        );
        assert!(refusal("exitCode").contains("not true or false"));
        assert!(refusal("exitCode == 0 &&").contains("ends too early"));
        assert!(refusal("(exitCode == 0").contains("not closed"));
        assert!(refusal("stdout == 'a").contains("string is not closed"));
        assert!(refusal("exitCode == 0 stdout").contains("unexpected `stdout`"));
    }

    #[test]
    fn serde_keeps_the_text() {
        let c: Condition = serde_json::from_str(r#""exitCode == 0""#).unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), r#""exitCode == 0""#);
        assert!(serde_json::from_str::<Condition>(r#""exitCode ==""#).is_err());
    }
}
