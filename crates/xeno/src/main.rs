//! The `xeno` command: serve, work, both, migrate, demo, or print the OpenAPI document.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use xeno::config::Config;

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
    /// Apply migrations, then serve the HTTP API and the worker together (the default; right
    /// for one machine).
    All,
    /// Apply migrations, then serve the HTTP API and dashboard only.
    Serve,
    /// Apply migrations, then apply webhook events only (run as many as needed).
    Worker,
    /// Create the database roles and database when missing and apply migrations, then exit.
    Migrate,
    /// Print the API's OpenAPI document (JSON) and exit; needs no database.
    Openapi,
    /// Exit 0 when the service on this machine answers `/healthz` (for container health
    /// checks: the runtime image has no shell or curl).
    Healthcheck,
    /// Everything, with a simulated Shopify shop connected, backfilled and kept busy: the
    /// whole product without a Shopify account.
    Demo {
        /// Orders in the demo shop's year of history.
        #[arg(long, default_value_t = 10_000)]
        orders: u32,
        /// Customers in the demo shop.
        #[arg(long, default_value_t = 2_000)]
        customers: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Some(Command::Openapi)) {
        return match serde_json::to_string_pretty(&xeno_http::openapi()) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("xeno: cannot write the OpenAPI document: {err}");
                ExitCode::FAILURE
            }
        };
    }
    if matches!(cli.command, Some(Command::Healthcheck)) {
        return healthcheck();
    }
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
    let _telemetry = xeno::telemetry::init(&config);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("xeno: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::All), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "xeno stopped");
            eprintln!("xeno: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Asks the local service's `/healthz`, on the port it listens on, with a short timeout.
fn healthcheck() -> ExitCode {
    let lookup = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let bind = xeno::config::bind_text(&lookup);
    let port = bind.rsplit_once(':').map_or("8080", |(_, port)| port);
    let url = format!("http://127.0.0.1:{port}/healthz");
    let answered = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())
        .and_then(|runtime| {
            runtime.block_on(async {
                let client = reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(3))
                    .build()
                    .map_err(|err| err.to_string())?;
                let response = client
                    .get(&url)
                    .send()
                    .await
                    .map_err(|err| err.to_string())?;
                Ok(response.status())
            })
        });
    match answered {
        Ok(status) if status.is_success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("xeno: {url} answered {status}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("xeno: {url} did not answer: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Demo { orders, customers } => {
            let listener = TcpListener::bind(config.bind).await.map_err(|err| {
                anyhow::anyhow!("cannot listen on {} (XENO_BIND): {err}", config.bind)
            })?;
            let (stop, stopping) = tokio::sync::watch::channel(false);
            let size = xeno::demo::DemoSize {
                orders,
                customers,
                ..xeno::demo::DemoSize::default()
            };
            let demo = xeno::demo::start(config, listener, size, stopping).await?;
            println!();
            println!(
                "  Xeno is running with a simulated Shopify store: {}",
                demo.url
            );
            println!(
                "  sign in as {} / {}",
                xeno::demo::DEMO_EMAIL,
                xeno::demo::DEMO_PASSWORD
            );
            println!("  API documentation: {}/api/docs", demo.url);
            println!(
                "  Shopify simulator: {} (control API under /_sim/)",
                demo.sim.base_url()
            );
            if demo.reset {
                println!("  the demo store of an earlier run was reset: this run's simulator starts it afresh");
            }
            println!("  the store is backfilling now; progress: GET /api/sync/status?store_id=…");
            println!();
            xeno::shutdown_signal().await;
            let _ = stop.send(true);
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            tracing::info!("demo stopped");
        }
        Command::Migrate => {
            xeno::migrate(&config).await?;
            tracing::info!("database is up to date");
        }
        Command::Openapi | Command::Healthcheck => {}
        Command::Serve | Command::Worker | Command::All => {
            xeno::migrate(&config).await?;
            let (stop, stopping) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                xeno::shutdown_signal().await;
                let _ = stop.send(true);
            });
            // Built once: serve and worker share the pool, HTTP client and breakers.
            let services = xeno::services(&config)?;
            let worker = matches!(command, Command::Worker | Command::All).then(|| {
                let config = config.clone();
                let services = services.clone();
                let stopping = stopping.clone();
                tokio::spawn(async move { xeno::run_worker(&config, &services, stopping).await })
            });
            if matches!(command, Command::Serve | Command::All) {
                let listener = TcpListener::bind(config.bind).await.map_err(|err| {
                    anyhow::anyhow!("cannot listen on {} (XENO_BIND): {err}", config.bind)
                })?;
                tracing::info!(url = %config.public_url, bind = %config.bind, "xeno is serving");
                let mut stopping = stopping.clone();
                xeno::serve(&config, &services, listener, async move {
                    let _ = stopping.wait_for(|stop| *stop).await;
                })
                .await?;
            }
            if let Some(worker) = worker {
                worker.await?;
            }
            tracing::info!("stopped cleanly");
        }
    }
    Ok(())
}
