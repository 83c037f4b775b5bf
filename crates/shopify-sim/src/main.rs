//! `shopify-sim`: the simulator as a program (or its schema, printed).

use std::net::SocketAddr;

use clap::Parser;
use shopify_sim::SimOptions;

/// shopify-sim: a local Shopify for development, tests, demos and load.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9100")]
    bind: SocketAddr,
    /// The app's client id.
    #[arg(long, env = "SHOPIFY_API_KEY", default_value = "sim-api-key")]
    api_key: String,
    /// The app's client secret (signs OAuth redirects and webhooks).
    #[arg(long, env = "SHOPIFY_API_SECRET", default_value = "sim-api-secret")]
    api_secret: String,
    /// Divide platform durations (token lifetimes, webhook retries) by this.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Print the Admin GraphQL schema (SDL) and exit.
    #[arg(long)]
    print_schema: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    if cli.print_schema {
        print!("{}", shopify_sim::graphql::schema().sdl());
        return Ok(());
    }
    if cli.time_scale <= 0.0 {
        anyhow::bail!("--time-scale must be positive");
    }
    let sim = shopify_sim::spawn(
        cli.bind,
        SimOptions {
            api_key: cli.api_key,
            api_secret: cli.api_secret,
            time_scale: cli.time_scale,
        },
    )
    .await?;
    tracing::info!(url = %sim.base_url(), template = %sim.shop_url_template(), "shopify-sim is serving");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
