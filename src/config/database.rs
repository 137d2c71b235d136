//! `[database] connection`: the URL is parsed once, here, when the configuration is read; the db
//! layer opens what this names and never sees the text again.

use std::str::FromStr;

/// The database backends glint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed `[database] connection` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUrl {
    pub backend: Backend,
    /// What the driver is given: a file path for SQLite, a libpq URL for PostgreSQL.
    pub target: String,
}

impl DbUrl {
    /// Accepts SQLAlchemy-style URLs as found in glance-api.conf:
    /// `sqlite:///relative.db`, `sqlite:////abs/path.db`, `postgresql://...`,
    /// `postgresql+psycopg2://...`, `postgres://...`. Anything else is an error (a mistyped
    /// scheme must not become an empty SQLite file).
    pub fn parse(url: &str) -> Result<DbUrl, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("database URL '{}' has no scheme", redact(url)))?;
        let driverless = scheme.split('+').next().unwrap_or(scheme);
        match driverless {
            "sqlite" => {
                // sqlite:///x -> "x"; sqlite:////abs -> "/abs"
                let path = rest.strip_prefix('/').unwrap_or(rest);
                let path = path.split('?').next().unwrap_or(path);
                if path.is_empty() {
                    return Err(
                        "sqlite URL needs a file path, e.g. sqlite:////var/lib/glint/glint.db"
                            .into(),
                    );
                }
                Ok(DbUrl {
                    backend: Backend::Sqlite,
                    target: path.to_owned(),
                })
            }
            "postgresql" | "postgres" => Ok(DbUrl {
                backend: Backend::Postgres,
                target: format!("postgresql://{rest}"),
            }),
            other => Err(format!(
                "unsupported database scheme '{other}' (glint supports sqlite and postgresql)"
            )),
        }
    }
}

/// `[database] connection` as configured: the text (for messages, redacted) and what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    parsed: DbUrl,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<DatabaseUrl, String> {
        Ok(DatabaseUrl {
            raw: raw.to_owned(),
            parsed: DbUrl::parse(raw)?,
        })
    }

    pub fn backend(&self) -> Backend {
        self.parsed.backend
    }

    pub fn url(&self) -> &DbUrl {
        &self.parsed
    }

    /// The URL as configured.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The URL with its password hidden, for logs and error messages.
    pub fn redacted(&self) -> String {
        redact(&self.raw)
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DatabaseUrl::parse(s)
    }
}

impl PartialEq<&str> for DatabaseUrl {
    fn eq(&self, other: &&str) -> bool {
        self.raw == *other
    }
}

/// Hide a password in a URL before it reaches a log or an error message.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes() {
        assert_eq!(
            DbUrl::parse("sqlite:////var/lib/g.db"),
            Ok(DbUrl {
                backend: Backend::Sqlite,
                target: "/var/lib/g.db".into()
            })
        );
        assert_eq!(
            DbUrl::parse("sqlite:///g.db").map(|u| u.target),
            Ok("g.db".into())
        );
        assert_eq!(
            DbUrl::parse("postgresql+psycopg2://u:p@h/db").map(|u| u.target),
            Ok("postgresql://u:p@h/db".into())
        );
        assert!(DbUrl::parse("postgressql://h/db").is_err());
        assert!(DbUrl::parse("mysql+pymysql://h/db").is_err());
        assert!(DbUrl::parse("/tmp/x.db").is_err());
        assert!(DbUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgresql://u:secret@h/db"),
            "postgresql://u:***@h/db"
        );
        assert_eq!(redact("sqlite:////x.db"), "sqlite:////x.db");
    }

    #[test]
    fn the_configured_url_keeps_its_text() {
        let u = DatabaseUrl::parse("postgresql://u:secret@h/db").unwrap();
        assert_eq!(u.backend(), Backend::Postgres);
        assert_eq!(u.url().target, "postgresql://u:secret@h/db");
        assert_eq!(u, "postgresql://u:secret@h/db");
        assert_eq!(u.redacted(), "postgresql://u:***@h/db");
    }
}
