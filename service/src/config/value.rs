//! Typed reads of one setting's text, the same for a file, an environment variable and a
//! flag, so a bad value gets the same message wherever it came from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use faultline_spec::Duration;
use faultline_spec::units::UnitError;

use crate::application::config_file::walk::{UrlError, check_url};

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

/// Why a setting's raw value is not a value of its type (without the key: the caller
/// adds it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Nothing but blanks.
    #[error("empty value")]
    Empty,
    /// A list where one value belongs.
    #[error("expected one value, got a list")]
    List,
    /// Not an http(s) URL with a host.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// Not one of the boolean words.
    #[error("`{0}` is not true or false")]
    Bool(String),
    /// Not a socket address.
    #[error("`{0}` is not an address like 127.0.0.1:8080 or [::1]:8080")]
    Address(String),
    /// Not a duration (`30s`, `1m`).
    #[error("`{text}`: {error}")]
    Duration {
        /// The text.
        text: String,
        /// Why, as the experiment language says it.
        error: UnitError,
    },
    /// A duration of zero where only a positive one means anything.
    #[error("`{0}`: must be longer than 0s")]
    ZeroDuration(String),
    /// Not a number of the setting's kind.
    #[error("`{text}` is not {what}")]
    Number {
        /// The text.
        text: String,
        /// What was expected, e.g. `a port number (1-65535)`.
        what: &'static str,
    },
    /// A list with an empty entry.
    #[error("an empty entry in the list")]
    EmptyEntry,
}

/// Reading a setting's type from its raw value; `base` is where relative paths start (the
/// config file's directory, or the working directory for flags and env).
pub trait Setting: Sized {
    /// The value, or why not.
    fn read(raw: Raw, base: &Path) -> Result<Self, ValueError>;
}

fn text(raw: Raw) -> Result<String, ValueError> {
    match raw {
        Raw::Text(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        Raw::Text(_) => Err(ValueError::Empty),
        Raw::List(_) => Err(ValueError::List),
    }
}

impl Setting for String {
    fn read(raw: Raw, _: &Path) -> Result<Self, ValueError> {
        text(raw)
    }
}

impl Setting for PathBuf {
    fn read(raw: Raw, base: &Path) -> Result<Self, ValueError> {
        let p = PathBuf::from(text(raw)?);
        Ok(if p.is_relative() { base.join(p) } else { p })
    }
}

impl Setting for HttpUrl {
    fn read(raw: Raw, _: &Path) -> Result<Self, ValueError> {
        let t = text(raw)?;
        check_url(&t)?;
        Ok(HttpUrl(t))
    }
}

impl Setting for bool {
    fn read(raw: Raw, _: &Path) -> Result<Self, ValueError> {
        // The words clap's BoolishValueParser takes, so env values keep meaning what
        // they meant before the config file existed.
        match text(raw)?.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" | "y" => Ok(true),
            "false" | "no" | "off" | "0" | "n" => Ok(false),
            other => Err(ValueError::Bool(other.to_string())),
        }
    }
}

impl Setting for SocketAddr {
    fn read(raw: Raw, _: &Path) -> Result<Self, ValueError> {
        let t = text(raw)?;
        t.parse().map_err(|_| ValueError::Address(t))
    }
}

impl Setting for Duration {
    fn read(raw: Raw, _: &Path) -> Result<Self, ValueError> {
        let t = text(raw)?;
        t.parse()
            .map_err(|error| ValueError::Duration { text: t, error })
    }
}

/// A duration longer than zero (`maxDuration`: a bound of 0s would recover a fault the
/// moment it is applied), refused where it is read, so the message names the file line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositiveDuration(pub Duration);

impl Setting for PositiveDuration {
    fn read(raw: Raw, base: &Path) -> Result<Self, ValueError> {
        let text = match &raw {
            Raw::Text(t) => t.trim().to_string(),
            Raw::List(_) => String::new(),
        };
        match Duration::read(raw, base)? {
            d if d == Duration::ZERO => Err(ValueError::ZeroDuration(text)),
            d => Ok(PositiveDuration(d)),
        }
    }
}

macro_rules! number {
    ($($ty:ty => $what:literal),*) => {$(
        impl Setting for $ty {
            fn read(raw: Raw, _: &Path) -> Result<Self, ValueError> {
                let t = text(raw)?;
                t.parse().map_err(|_| ValueError::Number { text: t, what: $what })
            }
        }
    )*};
}
number!(u16 => "a port number (1-65535)", u32 => "a whole number", f64 => "a number");

impl Setting for Vec<String> {
    fn read(raw: Raw, _: &Path) -> Result<Self, ValueError> {
        // Env and flags give lists comma-separated, as FAULTLINE_PROTECT_NAMESPACES did.
        let items: Vec<String> = match raw {
            Raw::Text(t) => t.split(',').map(|s| s.trim().to_string()).collect(),
            Raw::List(l) => l.into_iter().map(|s| s.trim().to_string()).collect(),
        };
        if items.iter().any(String::is_empty) {
            return Err(ValueError::EmptyEntry);
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
                .to_string()
                .contains("true or false")
        );
        assert!(bool::read(t("FALSE"), here).is_ok_and(|b| !b));
        assert!(
            SocketAddr::read(t("localhost"), here)
                .unwrap_err()
                .to_string()
                .contains("127.0.0.1:8080")
        );
        assert!(
            u16::read(t("70000"), here)
                .unwrap_err()
                .to_string()
                .contains("port")
        );
        assert!(
            HttpUrl::read(t("ftp://x"), here)
                .unwrap_err()
                .to_string()
                .contains("http")
        );
        assert!(Duration::read(t("30"), here).is_err());
        assert!(
            String::read(Raw::List(vec!["a".into()]), here)
                .unwrap_err()
                .to_string()
                .contains("list")
        );
        assert_eq!(
            Vec::<String>::read(t("a, b"), here).unwrap(),
            vec!["a".to_string(), "b".to_string()]
        );
        assert!(Vec::<String>::read(t("a,,b"), here).is_err());
    }
}
