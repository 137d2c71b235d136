//! The running process, as Glance's is run: readiness for systemd (`Type=notify`), SIGTERM and
//! SIGINT drain and exit, SIGHUP reloads what oslo.service/oslo.log/oslo.policy let a running
//! Glance pick up (the log level and the policy file). Everything else in the configuration
//! takes effect at the next start.

use std::io;

use actix_web::dev::{Server, ServerHandle};
use sd_notify::NotifyState;
use tokio::signal::unix::{signal, SignalKind};

use crate::app::AppState;
use crate::config::Config;
use crate::logging::LogLevel;

/// How SIGHUP reads the configuration again (the same file, environment and data dir as at
/// start).
pub type Reread = Box<dyn Fn() -> Result<Config, String>>;

/// Tells the service manager, when there is one (`NOTIFY_SOCKET`); a no-op otherwise.
fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify the service manager");
    }
}

/// Runs `server` (already listening) until a signal stops it.
pub async fn run(server: Server, state: AppState, reread: Reread, log: LogLevel) -> io::Result<()> {
    let handle = server.handle();
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let timeout = state.config.process.graceful_shutdown_timeout;
    actix_web::rt::spawn(async move {
        loop {
            let why = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
                _ = hup.recv() => {
                    reload(&state, &reread, &log);
                    continue;
                }
            };
            drain(&handle, why, timeout).await;
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

/// SIGHUP: the log level (`[DEFAULT] debug`) and the policy file. A configuration or policy
/// file that does not load leaves what is in force as it was, with an ERROR line.
fn reload(state: &AppState, reread: &Reread, log: &LogLevel) {
    tracing::info!("SIGHUP: reloading the log level and the policy file");
    let config = match reread() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "reload failed: configuration unreadable; nothing changed");
            return;
        }
    };
    match log.apply_debug(config.process.debug) {
        Ok(level) => tracing::info!(level, "log level in force"),
        Err(e) => tracing::error!(error = %e, "reload: log level unchanged"),
    }
    match crate::startup::policy_enforcer(&config) {
        Ok(policy) => {
            state.policy.replace_with(&policy);
            tracing::info!(
                policy_file = ?config.policy_file,
                "policy reloaded"
            );
        }
        Err(e) => tracing::error!(
            error = %e,
            "reload: policy file refused; the policy in force is kept"
        ),
    }
    if config.policy_file != state.config.policy_file {
        tracing::warn!(
            "[oslo_policy] policy_file now names another file; it was read, but other options \
             still take effect only at restart"
        );
    }
}
