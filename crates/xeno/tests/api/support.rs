//! A real service per test: its own PostgreSQL database, the real router on a random port.

pub mod oracle;
pub mod postgres;
pub mod shop;
pub mod truth;
pub mod webhooks;

use std::collections::HashMap;

use reqwest::{Client, Response};
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use xeno::config::Config;

/// The claims of one of the service's tokens, read without checking it.
pub fn token_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub config: Config,
    pub database: String,
    _stop: oneshot::Sender<()>,
    _stop_worker: Option<tokio::sync::watch::Sender<bool>>,
}

/// A configuration for a fresh database, with `extra` variables on top.
pub fn test_config(database: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        (
            "DATABASE_URL".to_owned(),
            format!("postgres://xeno_app@127.0.0.1:5432/{database}"),
        ),
        ("DATABASE_ADMIN_URL".to_owned(), ADMIN_URL.to_owned()),
    ]);
    for (name, value) in extra {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    Config::from_lookup(|name| vars.get(name).cloned()).expect("test configuration is valid")
}

pub fn fresh_database_name() -> String {
    format!("xeno_test_{}", uuid::Uuid::now_v7().simple())
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// A migrated database, the HTTP server and the worker; `XENO_PUBLIC_URL` is the server.
    pub async fn spawn_with(extra: &[(&str, &str)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let mut vars: Vec<(&str, &str)> = vec![
            ("XENO_PUBLIC_URL", &base),
            ("XENO_WORKER_BACKOFF_MS", "50"),
            ("XENO_BULK_POLL_MS", "20"),
            // Scheduled syncs only where a test asks for them.
            ("XENO_SYNC_INTERVAL", "0"),
        ];
        vars.extend_from_slice(extra);
        let database = fresh_database_name();
        let config = test_config(&database, &vars);
        xeno::migrate(&config).await.expect("migrations apply");
        let (stop_worker, stopping) = tokio::sync::watch::channel(false);
        let services = xeno::services(&config).expect("services");
        let worker_config = config.clone();
        let worker_services = services.clone();
        tokio::spawn(async move {
            xeno::run_worker(&worker_config, &worker_services, stopping).await;
        });
        let mut app = Self::serve_on(listener, config, services, database).await;
        app._stop_worker = Some(stop_worker);
        app
    }

    /// Serves `config` without migrating or a worker (for outage tests).
    pub async fn start(config: Config, database: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let services = xeno::services(&config).expect("services");
        Self::serve_on(listener, config, services, database).await
    }

    async fn serve_on(
        listener: TcpListener,
        config: Config,
        services: xeno_ingest::backfill::Backfill,
        database: String,
    ) -> Self {
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let served = config.clone();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            xeno::serve(&served, &services, listener, shutdown)
                .await
                .expect("server runs");
        });
        Self {
            base,
            client: Client::new(),
            config,
            database,
            _stop: stop,
            _stop_worker: None,
        }
    }

    /// A client for a service started elsewhere (by `xeno demo`).
    pub fn attach(config: Config, database: String, base: String) -> Self {
        let (stop, _) = oneshot::channel();
        Self {
            base,
            client: Client::new(),
            config,
            database,
            _stop: stop,
            _stop_worker: None,
        }
    }

    /// Asks the worker to stop (it finishes the batch in hand) and gives it time to.
    pub async fn stop_worker(&self) {
        if let Some(stop) = &self._stop_worker {
            stop.send_replace(true);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get_authed(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// Registers a tenant and returns its sign-up answer.
    pub async fn register(&self, tenant: &str, email: &str) -> Value {
        let response = self
            .post_json(
                "/api/auth/register",
                &json!({"tenant_name": tenant, "email": email, "password": "correct horse 9"}),
            )
            .await;
        assert_eq!(response.status(), 201, "register {email}");
        response.json().await.expect("json")
    }

    /// A direct connection to this test's database (on the server it runs on) as `user`.
    pub async fn connect_as(&self, user: &str) -> PgConnection {
        let runtime = &self.config.database.runtime;
        let options = PgConnectOptions::new()
            .host(runtime.get_host())
            .port(runtime.get_port())
            .username(user)
            .database(runtime.get_database().unwrap_or(&self.database));
        PgConnection::connect_with(&options).await.expect("connect")
    }
}

/// Asserts a problem+json answer with `status` and `code`, and returns its body.
pub async fn expect_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("problem body");
    assert_eq!(body["status"], status);
    assert_eq!(body["code"], code, "{body}");
    assert!(body["title"].is_string());
    body
}

/// A real `xeno` process (`serve` or `worker`) on `database`, killed on drop.
pub struct XenoProcess {
    child: std::process::Child,
    /// Where a `serve` listens.
    pub base: String,
}

impl XenoProcess {
    fn spawn(
        command: &str,
        database: &str,
        port: u16,
        extra: &[(&str, &str)],
    ) -> std::process::Child {
        let base = format!("http://127.0.0.1:{port}");
        // Stopped (killed and waited for) on drop.
        #[allow(clippy::zombie_processes)]
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_xeno"))
            .arg(command)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "DATABASE_URL",
                format!("postgres://xeno_app@127.0.0.1:5432/{database}"),
            )
            .env("DATABASE_ADMIN_URL", ADMIN_URL)
            .env("XENO_BIND", format!("127.0.0.1:{port}"))
            .env("XENO_PUBLIC_URL", &base)
            .envs(extra.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("xeno starts");
        child
    }

    /// `xeno serve` on a free port, once it is ready.
    pub async fn serve(database: &str, extra: &[(&str, &str)]) -> Self {
        let port = free_port();
        let process = Self {
            child: Self::spawn("serve", database, port, extra),
            base: format!("http://127.0.0.1:{port}"),
        };
        let ready = format!("{}/readyz", process.base);
        for _ in 0..300 {
            if reqwest::get(&ready).await.is_ok_and(|r| r.status() == 200) {
                return process;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("xeno serve did not become ready");
    }

    /// `xeno worker` (it listens nowhere).
    pub fn worker(database: &str, extra: &[(&str, &str)]) -> Self {
        Self {
            child: Self::spawn("worker", database, free_port(), extra),
            base: String::new(),
        }
    }
}

impl Drop for XenoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on (just released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// HAProxy running `config` (its directory holds the file and anything the config names);
/// killed and its directory removed on drop.
pub struct Haproxy {
    child: std::process::Child,
    pub dir: std::path::PathBuf,
}

impl Haproxy {
    /// A directory for the configuration (and files it refers to), before starting.
    pub fn directory() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(fresh_database_name());
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    pub fn start(dir: std::path::PathBuf, config: &str) -> Self {
        let file = dir.join("haproxy.cfg");
        std::fs::write(&file, config).unwrap();
        // Stopped (killed and waited for) on drop.
        #[allow(clippy::zombie_processes)]
        let child = std::process::Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("haproxy runs (Debian's haproxy package)");
        Self { child, dir }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
