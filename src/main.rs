//! The `glint` command: serve, db sync, db version, db load-metadefs, check-config.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use glint::config::{inventory, Config, RawConfig};

#[derive(Parser)]
#[command(
    name = "glint",
    version,
    about = "OpenStack Glance v2 compatible image service"
)]
struct Cli {
    /// A glance-api.conf-style file. Without one, glint runs on defaults.
    #[arg(long, global = true, env = "GLINT_CONFIG_FILE")]
    config_file: Option<PathBuf>,
    /// Where the default SQLite database and image store live.
    #[arg(
        long,
        global = true,
        default_value = "./glint-data",
        env = "GLINT_DATA_DIR"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server (the default).
    Serve,
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// Run every start-up check of `serve` without starting, list the options glint ignores.
    CheckConfig {
        /// Fail when any option set in the file is ignored by glint.
        #[arg(long)]
        strict: bool,
    },
}

#[derive(Subcommand)]
enum DbAction {
    /// Apply migrations.
    Sync,
    /// Print the applied schema version.
    Version,
    /// Load metadata definitions from every *.json file in DIR (glance-manage db_load_metadefs).
    LoadMetadefs { dir: PathBuf },
}

/// Read and validate the configuration; `enforce` (serve, check-config) fails on refused
/// options before anything else. Only commands that write (`serve`, `db sync`,
/// `db load-metadefs`) pass `create_data_dir`: the others leave the disk alone.
fn load_config(
    cli: &Cli,
    enforce: bool,
    create_data_dir: bool,
) -> Result<(Config, inventory::Report, RawConfig), String> {
    let mut raw = match &cli.config_file {
        Some(p) => RawConfig::from_file(p)?,
        None => RawConfig::default(),
    };
    raw.apply_env(std::env::vars());
    let report = inventory::classify(&raw);
    for option in &report.unknown {
        tracing::warn!(%option, "configuration option unknown to Glance 32 and glint; ignored");
    }
    if !report.ignored.is_empty() {
        tracing::warn!(
            "{} configuration option(s) ignored as irrelevant to glint (see docs/CONFIG-OPTIONS.md): {}",
            report.ignored.len(),
            report.ignored.join(", ")
        );
    }
    if enforce {
        refuse(&report)?;
    }
    if create_data_dir {
        std::fs::create_dir_all(&cli.data_dir)
            .map_err(|e| format!("cannot create data dir {}: {e}", cli.data_dir.display()))?;
    }
    let data_dir = std::fs::canonicalize(&cli.data_dir)
        .or_else(|_| std::path::absolute(&cli.data_dir))
        .unwrap_or_else(|_| cli.data_dir.clone());
    let config = Config::from_raw(&raw, Path::new(&data_dir))?;
    Ok((config, report, raw))
}

/// The options that stop `serve` and fail `check-config`, in one message.
fn refuse(report: &inventory::Report) -> Result<(), String> {
    if report.refused.is_empty() {
        return Ok(());
    }
    Err(format!(
        "configuration refused: {}",
        report.refused.join("; ")
    ))
}

fn check_config(config: &Config, report: &inventory::Report, strict: bool) -> Result<(), String> {
    glint::startup::check(config)?;
    let unused: Vec<&String> = report.ignored.iter().chain(&report.unknown).collect();
    for option in &report.ignored {
        println!("ignored: {option}");
    }
    for option in &report.unknown {
        println!("unknown to Glance: {option}");
    }
    if strict && !unused.is_empty() {
        return Err(format!(
            "--strict: {} option(s) set but ignored by glint",
            unused.len()
        ));
    }
    println!("configuration OK");
    Ok(())
}

fn main() -> ExitCode {
    let log = glint::logging::init();
    let mut cli = Cli::parse();
    let command = cli.command.take().unwrap_or(Command::Serve);
    let (enforce, writes) = match &command {
        Command::Serve => (true, true),
        Command::CheckConfig { .. } => (true, false),
        Command::Db { action } => (false, !matches!(action, DbAction::Version)),
    };
    let result =
        load_config(&cli, enforce, writes).and_then(|(config, report, raw)| match command {
            Command::Serve => serve(config, raw, &cli, log),
            Command::CheckConfig { strict } => check_config(&config, &report, strict),
            Command::Db { action } => {
                let settings = glint::db::connection::PoolSettings {
                    max_size: 1,
                    ..glint::db::connection::PoolSettings::from_config(&config)
                };
                let db = glint::db::Db::open(&config.database_connection, &settings)?;
                match action {
                    DbAction::Sync => {
                        let applied = db.migrate()?;
                        if applied.is_empty() {
                            println!("the database is up to date");
                        }
                        for step in &applied {
                            println!("applied {step}");
                        }
                    }
                    DbAction::Version => {
                        println!("{}", db.version()?.unwrap_or_else(|| "none".into()))
                    }
                    DbAction::LoadMetadefs { dir } => {
                        let r = glint::service::metadefs::load::load_dir(&db, &dir)?;
                        println!(
                            "loaded {} namespace(s), skipped {} already present",
                            r.loaded.len(),
                            r.skipped.len()
                        );
                        for f in &r.failed {
                            eprintln!("glint: not loaded: {f}");
                        }
                    }
                }
                Ok(())
            }
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("glint: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(
    config: Config,
    raw: RawConfig,
    cli: &Cli,
    log: glint::logging::LogLevel,
) -> Result<(), String> {
    let level = log.apply_debug(config.process.debug)?;
    tracing::info!(level, "log level in force");
    let workers = if config.workers == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        config.workers
    };
    let addr = (config.bind_host.clone(), config.bind_port);
    let state = glint::startup::build_state(config)?;
    // SIGHUP reads the same file and environment again (the data dir as at start).
    let reread: glint::lifecycle::Reread = {
        let config_file = cli.config_file.clone();
        let data_dir = cli.data_dir.clone();
        Box::new(move || reread_config(config_file.as_deref(), &data_dir))
    };
    actix_web::rt::System::new()
        .block_on(async move {
            // Every process sweeps for uploads of dead processes: at start and periodically.
            let sweeper = state.clone();
            actix_web::rt::spawn(async move {
                let period = glint::service::transfer::heartbeat_period(&sweeper.config);
                let mut every = actix_web::rt::time::interval(period);
                loop {
                    every.tick().await;
                    if let Err(e) = glint::service::recovery::recover_stale_uploads(&sweeper).await
                    {
                        tracing::warn!(error = %e, "upload recovery sweep failed");
                    }
                    if let Err(e) = glint::service::sharing_sweep::purge_expired(&sweeper).await {
                        tracing::warn!(error = %e, "expired-share sweep failed");
                    }
                }
            });
            // Grants reach projects created since (and not yet seen by a process): each grant's
            // target listed again in Keystone, at a slower pace than the other sweeps.
            let grant_sweeper = state.clone();
            actix_web::rt::spawn(async move {
                let mut every = actix_web::rt::time::interval(glint::service::grants::SWEEP_PERIOD);
                loop {
                    every.tick().await;
                    if let Err(e) = glint::service::grants::sweep(&grant_sweeper).await {
                        tracing::warn!(error = %e, "grant sweep failed");
                    }
                }
            });
            // Signals are glint's own (`lifecycle`): drain on SIGTERM/SIGINT, reload on SIGHUP.
            let options = glint::server::ServeOptions {
                workers,
                handle_signals: false,
            };
            let server = glint::server::serve(
                state.clone(),
                glint::server::Bind::Addr(addr.0.clone(), addr.1),
                options,
            )?;
            tracing::info!(host = %addr.0, port = addr.1, workers, "glint listening");
            glint::lifecycle::run(server, state, raw, reread, log).await
        })
        .map_err(|e| format!("server error: {e}"))
}

/// The configuration as `serve` read it at start, read again (SIGHUP).
fn reread_config(
    config_file: Option<&Path>,
    data_dir: &Path,
) -> Result<(RawConfig, Config), String> {
    let mut raw = match config_file {
        Some(p) => RawConfig::from_file(p)?,
        None => RawConfig::default(),
    };
    raw.apply_env(std::env::vars());
    let data_dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let config = Config::from_raw(&raw, &data_dir)?;
    Ok((raw, config))
}
