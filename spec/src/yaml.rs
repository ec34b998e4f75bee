//! A small YAML writer for `validate --explain`: prints any serde value (through
//! `serde_json::Value`) as block YAML that the decoder reads back to the same experiment.

use serde::Serialize;
use serde_json::Value;

/// Prints `value` as a YAML document (no leading `---`).
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let v = serde_json::to_value(value)?;
    let mut out = String::new();
    match &v {
        Value::Object(m) if !m.is_empty() => map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => seq(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    Ok(out)
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn map(out: &mut String, m: &serde_json::Map<String, Value>, ind: usize) {
    let mut first = true;
    for (k, v) in m {
        // The first key of a map inside a list item shares the `- ` line.
        if !first || !out.ends_with("- ") {
            indent(out, ind);
        }
        first = false;
        out.push_str(&key(k));
        out.push(':');
        value(out, v, ind);
    }
}

fn seq(out: &mut String, a: &[Value], ind: usize) {
    for v in a {
        indent(out, ind);
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => map(out, m, ind + 2),
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                seq(out, inner, ind + 2);
            }
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn value(out: &mut String, v: &Value, ind: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            map(out, m, ind + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            seq(out, a, ind + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn key(k: &str) -> String {
    if plain(k) { k.to_string() } else { quote(k) }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if plain(s) && !looks_typed(s) => s.clone(),
        Value::String(s) => quote(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// Strings YAML would read as another type must be quoted to stay strings.
fn looks_typed(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    matches!(
        l.as_str(),
        "true" | "false" | "null" | "~" | "yes" | "no" | "on" | "off" | ".inf" | ".nan"
    ) || s.parse::<f64>().is_ok()
        || s.starts_with("0x")
        || s.starts_with("0o")
}

fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./@()+".contains(c))
        && !s.starts_with(['-', '.', '@'])
}

fn quote(s: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_print_as_block_yaml() {
        let v = serde_json::json!({
            "a": 1, "b": "x y", "c": ["p", {"q": true, "r": [1, 2]}], "d": {}, "e": "10", "f": {"g": null}
        });
        let y = to_yaml(&v).unwrap();
        assert_eq!(
            y,
            "a: 1\nb: \"x y\"\nc:\n  - p\n  - q: true\n    r:\n      - 1\n      - 2\nd: {}\ne: \"10\"\nf:\n  g: null\n"
        );
    }
}
