//! The `glint` command: serve, db sync, db version, check-config.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use glint::config::{Config, RawConfig};

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
    /// Validate the configuration and exit.
    CheckConfig,
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

fn load_config(cli: &Cli) -> Result<Config, String> {
    let mut raw = match &cli.config_file {
        Some(p) => RawConfig::from_file(p)?,
        None => RawConfig::default(),
    };
    raw.apply_env(std::env::vars());
    for option in raw.ignored() {
        tracing::info!(%option, "configuration option not used by glint; ignored");
    }
    std::fs::create_dir_all(&cli.data_dir)
        .map_err(|e| format!("cannot create data dir {}: {e}", cli.data_dir.display()))?;
    let data_dir = std::fs::canonicalize(&cli.data_dir).unwrap_or_else(|_| cli.data_dir.clone());
    Config::from_raw(&raw, Path::new(&data_dir))
}

fn main() -> ExitCode {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GLINT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let result = load_config(&cli).and_then(|config| match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::CheckConfig => {
            if let Some(path) = &config.policy_file {
                glint::policy::file::check_policy_file(path)?;
            }
            println!("configuration OK");
            Ok(())
        }
        Command::Db { action } => {
            let settings = glint::db::connection::PoolSettings {
                max_size: 1,
                ..glint::db::connection::PoolSettings::from_config(&config)
            };
            let db = glint::db::Db::open(&config.database_connection, &settings)?;
            match action {
                DbAction::Sync => {
                    let applied = db.migrate()?;
                    println!("applied {} migration(s)", applied.len());
                }
                DbAction::Version => println!("{}", db.version()?.unwrap_or_else(|| "none".into())),
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

fn serve(config: Config) -> Result<(), String> {
    let workers = if config.workers == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        config.workers
    };
    let addr = (config.bind_host.clone(), config.bind_port);
    let state = glint::startup::build_state(config)?;
    tracing::info!(host = %addr.0, port = addr.1, workers, "glint listening");
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
                }
            });
            // actix stops gracefully on SIGTERM and ctrl-c: in-flight requests finish first.
            let options = glint::server::ServeOptions {
                workers,
                handle_signals: true,
            };
            glint::server::serve(state, glint::server::Bind::Addr(addr.0, addr.1), options)?.await
        })
        .map_err(|e| format!("server error: {e}"))
}
