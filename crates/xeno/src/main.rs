use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use xeno::config::{Config, LogFormat};

/// Xeno: Shopify store data and insights for retailers.
///
/// Configuration comes from environment variables (and `.env`); see the README.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply migrations, then serve the HTTP API and dashboard (the default).
    Serve,
    /// Create the database roles and database when missing and apply migrations, then exit.
    Migrate,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A missing .env is normal; a malformed one is worth a line.
    if let Err(err) = dotenvy::dotenv() {
        if !err.not_found() {
            eprintln!("xeno: cannot read .env: {err}");
            return ExitCode::from(2);
        }
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("xeno: invalid configuration: {err}");
            return ExitCode::from(2);
        }
    };
    init_tracing(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("xeno: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "xeno stopped");
            eprintln!("xeno: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Migrate => {
            xeno::migrate(&config).await?;
            tracing::info!("database is up to date");
        }
        Command::Serve => {
            xeno::migrate(&config).await?;
            let listener = TcpListener::bind(config.bind).await.map_err(|err| {
                anyhow::anyhow!("cannot listen on {} (XENO_BIND): {err}", config.bind)
            })?;
            tracing::info!(url = %config.public_url, bind = %config.bind, "xeno is serving");
            xeno::serve(&config, listener, xeno::shutdown_signal()).await?;
            tracing::info!("stopped cleanly");
        }
    }
    Ok(())
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}
