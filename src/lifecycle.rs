//! The running process, as Glance's is run: readiness for systemd (`Type=notify`), SIGTERM and
//! SIGINT drain and exit, SIGHUP reloads what oslo.service/oslo.log/oslo.policy let a running
//! Glance pick up (the log level and the policy file). Everything else in the configuration
//! takes effect at the next start.

use std::io;

use actix_web::dev::{Server, ServerHandle};
use sd_notify::NotifyState;
use tokio::signal::unix::{signal, SignalKind};

use crate::app::AppState;
use crate::config::{Config, RawConfig};
use crate::logging::LogLevel;

/// How SIGHUP reads the configuration again (the same file, environment and data dir as at
/// start).
pub type Reread = Box<dyn Fn() -> Result<(RawConfig, Config), String>>;

/// What SIGHUP applies; any other change waits for a restart (and is named in a WARN).
const RELOADED: &[(&str, &str)] = &[("DEFAULT", "debug"), ("oslo_policy", "policy_file")];

/// Tells the service manager, when there is one (`NOTIFY_SOCKET`); a no-op otherwise.
fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify the service manager");
    }
}

/// Runs `server` (already listening) until a signal stops it. `raw`: the configuration it
/// started with, to name what a reload cannot apply.
pub async fn run(
    server: Server,
    state: AppState,
    raw: RawConfig,
    reread: Reread,
    log: LogLevel,
) -> io::Result<()> {
    let handle = server.handle();
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let timeout = state.config.process.graceful_shutdown_timeout;
    actix_web::rt::spawn(async move {
        let mut raw = raw;
        loop {
            let why = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
                _ = hup.recv() => {
                    if let Some(now) = reload(&state, &raw, &reread, &log) {
                        raw = now;
                    }
                    continue;
                }
            };
            // A second SIGTERM or SIGINT while draining stops at once (ctrl-c twice).
            tokio::select! {
                _ = drain(&handle, why, timeout) => {}
                _ = term.recv() => hurry(&handle).await,
                _ = int.recv() => hurry(&handle).await,
            }
            return;
        }
    });
    notify(&[NotifyState::Ready, NotifyState::Status("serving")]);
    server.await?;
    tracing::info!("drained; exiting");
    Ok(())
}

/// Stops accepting connections, lets the requests in flight finish (at most
/// `graceful_shutdown_timeout`), then returns from `run`.
async fn drain(handle: &ServerHandle, why: &str, timeout: std::time::Duration) {
    tracing::info!(
        signal = why,
        timeout_s = timeout.as_secs(),
        "draining: no new connections; requests in flight may finish"
    );
    notify(&[NotifyState::Stopping, NotifyState::Status("draining")]);
    handle.stop(true).await;
}

/// A second stop signal during a drain: exit now, with status 1. actix ignores a second stop
/// request, so the process ends itself; uploads cut off here are returned to `queued` by the
/// stale-upload sweep of the next process, as after a crash.
async fn hurry(_handle: &ServerHandle) {
    tracing::warn!("second stop signal while draining: exiting without waiting");
    std::process::exit(1);
}

/// SIGHUP: the log level (`[DEFAULT] debug`) and the policy file. A configuration or policy
/// file that does not load leaves what is in force as it was, with an ERROR line. Returns the
/// configuration read, to compare the next reload with.
fn reload(
    state: &AppState,
    before: &RawConfig,
    reread: &Reread,
    log: &LogLevel,
) -> Option<RawConfig> {
    tracing::info!("SIGHUP: reloading the log level and the policy file");
    let (raw, config) = match reread() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "reload failed: configuration unreadable; nothing changed");
            return None;
        }
    };
    match log.apply_debug(config.process.debug) {
        Ok(level) => tracing::info!(level, "log level in force"),
        Err(e) => tracing::error!(error = %e, "reload: log level unchanged"),
    }
    match crate::startup::policy_enforcer(&config) {
        Ok(policy) => {
            state.policy.replace_with(&policy);
            tracing::info!(policy_file = ?config.policy_file, "policy reloaded");
        }
        Err(e) => tracing::error!(
            error = %e,
            "reload: policy file refused; the policy in force is kept"
        ),
    }
    let pending = changed_options(before, &raw);
    if !pending.is_empty() {
        tracing::warn!(
            options = %pending.join(", "),
            "changed option(s) not applied by SIGHUP: they take effect at the next start"
        );
    }
    Some(raw)
}

/// `[section] key` of every option set, changed or removed between `a` and `b`, except those
/// SIGHUP applies. Values are not named: they may be secrets.
fn changed_options(a: &RawConfig, b: &RawConfig) -> Vec<String> {
    use std::collections::BTreeMap;
    let map = |r: &RawConfig| -> BTreeMap<(String, String), String> {
        r.entries()
            .map(|(s, k, v)| ((s.to_owned(), k.to_owned()), v.to_owned()))
            .collect()
    };
    let (a, b) = (map(a), map(b));
    let mut keys: Vec<&(String, String)> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .filter(|(s, k)| !RELOADED.contains(&(s.as_str(), k.as_str())))
        .map(|(s, k)| format!("[{s}] {k}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_named_except_what_reload_applies() {
        let a = RawConfig::from_text(
            "[DEFAULT]\ndebug = false\nworkers = 2\nbind_port = 9292\n\
             [oslo_policy]\npolicy_file = /a\n[database]\nconnection = sqlite:////x.db\n",
        )
        .unwrap();
        let b = RawConfig::from_text(
            "[DEFAULT]\ndebug = true\nworkers = 4\nbind_port = 9292\n\
             [oslo_policy]\npolicy_file = /b\n[glint_noauth]\nproject_id = p\n",
        )
        .unwrap();
        assert_eq!(
            changed_options(&a, &b),
            [
                "[DEFAULT] workers",
                "[database] connection",
                "[glint_noauth] project_id"
            ]
        );
        assert!(changed_options(&a, &a).is_empty());
    }
}
