//! `[database] connection`: the URL is parsed once, here, when the configuration is read; the db
//! layer opens what this names and never sees the text again.

use std::str::FromStr;

/// The database backends glint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

impl Backend {
    /// A server that may still be starting when glint starts (waited for, as oslo.db does).
    pub fn is_server(self) -> bool {
        !matches!(self, Backend::Sqlite)
    }
}

/// A parsed `[database] connection` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUrl {
    pub backend: Backend,
    /// What the driver is given: a file path for SQLite, a libpq URL for PostgreSQL, a
    /// `mysql://` URL with only the options the MySQL client library takes for MySQL.
    pub target: String,
}

impl DbUrl {
    /// Accepts SQLAlchemy-style URLs as found in glance-api.conf:
    /// `sqlite:///relative.db`, `sqlite:////abs/path.db`, `postgresql://...`,
    /// `postgresql+psycopg2://...`, `postgres://...`, `mysql://...`, `mysql+pymysql://...`,
    /// `mysql+mysqldb://...`, `mariadb+pymysql://...`. Anything else is an error (a mistyped
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
            "mysql" | "mariadb" => Ok(DbUrl {
                backend: Backend::Mysql,
                target: mysql_target(rest)?,
            }),
            other => Err(format!(
                "unsupported database scheme '{other}' (glint supports sqlite, postgresql and mysql)"
            )),
        }
    }
}

/// The MySQL client's URL for what follows `mysql[+driver]://`. oslo.db passes the query
/// options to the Python driver; glint speaks to the server through the MySQL client library,
/// which takes the socket and TLS options. The character set is always utf8mb4 on glint's
/// connections, so `charset` may name only a UTF-8 set; any other option is refused by name
/// rather than dropped (it may be one the operator relies on, such as a TLS setting).
fn mysql_target(rest: &str) -> Result<String, String> {
    const PASSED: [&str; 5] = ["unix_socket", "ssl_ca", "ssl_cert", "ssl_key", "ssl_mode"];
    let (base, query) = match rest.split_once('?') {
        Some((b, q)) => (b, q),
        None => (rest, ""),
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "charset" => {
                if !matches!(
                    value.to_ascii_lowercase().as_str(),
                    "utf8" | "utf8mb4" | "utf8mb3"
                ) {
                    return Err(format!(
                        "database URL option charset={value} is not supported: glint's \
                         connections use utf8mb4"
                    ));
                }
            }
            k if PASSED.contains(&k) => kept.push(pair),
            other => {
                return Err(format!(
                    "database URL option '{other}' is not supported for MySQL (glint takes \
                     charset, {})",
                    PASSED.join(", ")
                ))
            }
        }
    }
    // `mysql://user@/db` (no host): the client library's default, the local socket.
    let base = match base.split_once('@') {
        Some((user, host)) if host.starts_with('/') => format!("{user}@localhost{host}"),
        _ if base.starts_with('/') => format!("localhost{base}"),
        _ => base.to_owned(),
    };
    if kept.is_empty() {
        Ok(format!("mysql://{base}"))
    } else {
        Ok(format!("mysql://{base}?{}", kept.join("&")))
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
        assert!(DbUrl::parse("oracle://h/db").is_err());
        assert!(DbUrl::parse("/tmp/x.db").is_err());
        assert!(DbUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn mysql_urls_as_oslo_db_takes_them() {
        let t = |u: &str| DbUrl::parse(u).map(|u| (u.backend, u.target));
        for scheme in ["mysql", "mysql+pymysql", "mysql+mysqldb", "mariadb+pymysql"] {
            assert_eq!(
                t(&format!("{scheme}://glance:pw@db.example:3306/glance")),
                Ok((
                    Backend::Mysql,
                    "mysql://glance:pw@db.example:3306/glance".into()
                ))
            );
        }
        assert_eq!(
            t("mysql+pymysql://root@127.0.0.1/glance?charset=utf8mb4").map(|x| x.1),
            Ok("mysql://root@127.0.0.1/glance".into())
        );
        assert_eq!(
            t("mysql+pymysql://g:p@db/glance?charset=utf8&ssl_ca=/etc/ca.pem").map(|x| x.1),
            Ok("mysql://g:p@db/glance?ssl_ca=/etc/ca.pem".into())
        );
        assert_eq!(
            t("mysql+pymysql://glance@/glance?unix_socket=/run/mysqld/mysqld.sock").map(|x| x.1),
            Ok("mysql://glance@localhost/glance?unix_socket=/run/mysqld/mysqld.sock".into())
        );
        // Refused by name, never dropped.
        let e = t("mysql+pymysql://g@db/glance?read_default_file=/etc/my.cnf").unwrap_err();
        assert!(e.contains("'read_default_file'"), "{e}");
        let e = t("mysql://g@db/glance?charset=latin1").unwrap_err();
        assert!(e.contains("charset=latin1"), "{e}");
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
