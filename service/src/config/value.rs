//! Typed reads of one setting's text, the same for a file, an environment variable and a
//! flag, so a bad value gets the same message wherever it came from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use faultline_spec::Duration;

use crate::application::config_file::walk::check_url;

/// A setting's raw value: text (flag, env, file scalar) or a file's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raw {
    /// One value.
    Text(String),
    /// A YAML list (only list-valued keys take one).
    List(Vec<String>),
}

/// An http(s) URL with a host, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(pub String);

/// Reading a setting's type from its raw value; `base` is where relative paths start (the
/// config file's directory, or the working directory for flags and env).
pub trait Setting: Sized {
    /// The value, or why not (without the key: the caller adds it).
    fn read(raw: Raw, base: &Path) -> Result<Self, String>;
}

fn text(raw: Raw) -> Result<String, String> {
    match raw {
        Raw::Text(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        Raw::Text(_) => Err("empty value".into()),
        Raw::List(_) => Err("expected one value, got a list".into()),
    }
}

impl Setting for String {
    fn read(raw: Raw, _: &Path) -> Result<Self, String> {
        text(raw)
    }
}

impl Setting for PathBuf {
    fn read(raw: Raw, base: &Path) -> Result<Self, String> {
        let p = PathBuf::from(text(raw)?);
        Ok(if p.is_relative() { base.join(p) } else { p })
    }
}

impl Setting for HttpUrl {
    fn read(raw: Raw, _: &Path) -> Result<Self, String> {
        let t = text(raw)?;
        check_url(&t)?;
        Ok(HttpUrl(t))
    }
}

impl Setting for bool {
    fn read(raw: Raw, _: &Path) -> Result<Self, String> {
        // The words clap's BoolishValueParser takes, so env values keep meaning what
        // they meant before the config file existed.
        match text(raw)?.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" | "y" => Ok(true),
            "false" | "no" | "off" | "0" | "n" => Ok(false),
            other => Err(format!("`{other}` is not true or false")),
        }
    }
}

impl Setting for SocketAddr {
    fn read(raw: Raw, _: &Path) -> Result<Self, String> {
        let t = text(raw)?;
        t.parse()
            .map_err(|_| format!("`{t}` is not an address like 127.0.0.1:8080 or [::1]:8080"))
    }
}

impl Setting for Duration {
    fn read(raw: Raw, _: &Path) -> Result<Self, String> {
        let t = text(raw)?;
        t.parse().map_err(|e| format!("`{t}`: {e}"))
    }
}

macro_rules! number {
    ($($ty:ty => $what:literal),*) => {$(
        impl Setting for $ty {
            fn read(raw: Raw, _: &Path) -> Result<Self, String> {
                let t = text(raw)?;
                t.parse().map_err(|_| format!("`{t}` is not {}", $what))
            }
        }
    )*};
}
number!(u16 => "a port number (1-65535)", u32 => "a whole number", f64 => "a number");

impl Setting for Vec<String> {
    fn read(raw: Raw, _: &Path) -> Result<Self, String> {
        // Env and flags give lists comma-separated, as FAULTLINE_PROTECT_NAMESPACES did.
        let items: Vec<String> = match raw {
            Raw::Text(t) => t.split(',').map(|s| s.trim().to_string()).collect(),
            Raw::List(l) => l.into_iter().map(|s| s.trim().to_string()).collect(),
        };
        if items.iter().any(String::is_empty) {
            return Err("an empty entry in the list".into());
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Raw {
        Raw::Text(s.into())
    }

    #[test]
    fn each_type_says_what_it_wanted() {
        let here = Path::new("/etc/faultline");
        assert_eq!(
            PathBuf::read(t("tokens"), here).unwrap(),
            PathBuf::from("/etc/faultline/tokens")
        );
        assert_eq!(PathBuf::read(t("/x"), here).unwrap(), PathBuf::from("/x"));
        assert!(
            bool::read(t("maybe"), here)
                .unwrap_err()
                .contains("true or false")
        );
        assert!(bool::read(t("FALSE"), here).is_ok_and(|b| !b));
        assert!(
            SocketAddr::read(t("localhost"), here)
                .unwrap_err()
                .contains("127.0.0.1:8080")
        );
        assert!(u16::read(t("70000"), here).unwrap_err().contains("port"));
        assert!(
            HttpUrl::read(t("ftp://x"), here)
                .unwrap_err()
                .contains("http")
        );
        assert!(Duration::read(t("30"), here).is_err());
        assert!(
            String::read(Raw::List(vec!["a".into()]), here)
                .unwrap_err()
                .contains("list")
        );
        assert_eq!(
            Vec::<String>::read(t("a, b"), here).unwrap(),
            vec!["a".to_string(), "b".to_string()]
        );
        assert!(Vec::<String>::read(t("a,,b"), here).is_err());
    }
}
