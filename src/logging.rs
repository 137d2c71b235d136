//! The process's log output: one subscriber on stderr whose level can change while glint runs.
//!
//! The level is oslo.log's `[DEFAULT] debug` (DEBUG when true, INFO otherwise), applied once the
//! configuration is read and again on SIGHUP, as oslo.log treats `debug` as a mutable option.
//! `GLINT_LOG` (an `EnvFilter` directive such as `glint=debug,actix_server=warn`) wins over it:
//! an operator who set a filter by hand keeps it across reloads.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// The environment variable whose filter overrides `[DEFAULT] debug`.
pub const ENV_FILTER: &str = "GLINT_LOG";

/// Changes the level of the installed subscriber.
pub struct LogLevel {
    handle: reload::Handle<EnvFilter, Registry>,
    /// The filter came from `GLINT_LOG`: `debug` does not change it.
    from_env: bool,
}

/// Installs the subscriber (INFO until the configuration says otherwise).
pub fn init() -> LogLevel {
    use std::io::IsTerminal;
    let (filter, from_env) = match EnvFilter::try_from_env(ENV_FILTER) {
        Ok(f) => (f, true),
        Err(_) => (EnvFilter::new("info"), false),
    };
    let (filter, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .init();
    LogLevel { handle, from_env }
}

impl LogLevel {
    /// Applies `[DEFAULT] debug`; returns the level now in force, for the log line that says so.
    pub fn apply_debug(&self, debug: bool) -> Result<&'static str, String> {
        if self.from_env {
            return Ok("as GLINT_LOG says");
        }
        let level = if debug { "debug" } else { "info" };
        self.handle
            .reload(EnvFilter::new(level))
            .map_err(|e| format!("cannot change the log level: {e}"))?;
        Ok(level)
    }
}
