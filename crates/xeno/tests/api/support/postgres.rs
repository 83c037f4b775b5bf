//! PostgreSQL servers of a test's own, on free ports: a primary, a hot standby of it, and
//! the programs to build them (run as `postgres`, which they insist on).

use std::path::{Path, PathBuf};
use std::process::Command;

use sqlx::{Connection, PgConnection};

use super::free_port;

/// The newest installed PostgreSQL's programs.
pub fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql")
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort_by_key(|bin| {
        bin.parent()
            .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().expect("an initdb")
}

/// Runs a PostgreSQL program as `postgres` (it refuses to run as root).
pub fn as_postgres(program: &Path, args: &[&str]) {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"));
    let status = if root {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args)
            .status()
    } else {
        Command::new(program).args(args).status()
    }
    .expect("runs");
    assert!(status.success(), "{} {args:?}", program.display());
}

/// A PostgreSQL server of the test's own, stopped and removed when dropped.
pub struct Server {
    pub dir: PathBuf,
    pub port: u16,
}

impl Server {
    pub fn start(dir: PathBuf) -> Self {
        let port = free_port();
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            dir.display()
        );
        let log = dir.join("server.log");
        as_postgres(
            &pg_bin().join("pg_ctl"),
            &[
                "-D",
                dir.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
        Self { dir, port }
    }

    /// A fresh primary (trust authentication, as the machine's own server).
    pub fn primary(root: &Path) -> Self {
        let dir = root.join("primary");
        as_postgres(
            &pg_bin().join("initdb"),
            &[
                "-D",
                dir.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
        );
        Self::start(dir)
    }

    /// A hot standby streaming from this server.
    pub fn standby(&self, root: &Path) -> Self {
        let dir = root.join("standby");
        as_postgres(
            &pg_bin().join("pg_basebackup"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-D",
                dir.to_str().unwrap(),
                "-R",
                "-X",
                "stream",
            ],
        );
        Self::start(dir)
    }

    pub fn stop(&self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_bin().join("pg_ctl"))
            .args(["-D", self.dir.to_str().unwrap(), "-m", "immediate", "stop"])
            .status();
    }

    pub async fn superuser(&self) -> PgConnection {
        PgConnection::connect(&format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            self.port
        ))
        .await
        .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A pg_auto_failover formation: a monitor and two data nodes (`a` first, so the primary,
/// and `b` its synchronous standby), each a `pg_autoctl` keeper in a process group of its own,
/// with the monitor's timers shortened so a failover takes seconds. Killed and removed when
/// dropped.
pub struct Formation {
    root: PathBuf,
    pub monitor: u16,
    pub nodes: Vec<(String, u16)>,
    keepers: Vec<std::process::Child>,
}

impl Formation {
    fn autoctl(&self, log: &str, args: &[&str]) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        let log = std::fs::File::create(self.root.join(log)).unwrap();
        // Stopped (killed and waited for) on drop.
        #[allow(clippy::zombie_processes)]
        let child = Command::new("runuser")
            .args(["-u", "postgres", "--", "env"])
            .arg(format!(
                "XDG_CONFIG_HOME={}",
                self.root.join("config").display()
            ))
            .arg(format!(
                "XDG_DATA_HOME={}",
                self.root.join("data").display()
            ))
            .arg(format!("PATH={}:/usr/bin:/bin", pg_bin().display()))
            .arg("pg_autoctl")
            .args(args)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("pg_autoctl runs (Debian's pg-auto-failover-cli package)");
        child
    }

    async fn query_monitor(&self, sql: &str) -> Option<String> {
        let url = format!(
            "postgres://postgres@127.0.0.1:{}/pg_auto_failover",
            self.monitor
        );
        let mut conn = PgConnection::connect(&url).await.ok()?;
        sqlx::query_scalar(sql)
            .fetch_optional(&mut conn)
            .await
            .ok()?
    }

    /// Waits for `sql` (one text value, on the monitor) to answer `want`.
    async fn until_monitor(&self, sql: &str, want: &str) {
        for _ in 0..600 {
            if self.query_monitor(sql).await.as_deref() == Some(want) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the formation never reached {want:?} ({sql})");
    }

    pub async fn start() -> Self {
        let root =
            std::env::temp_dir().join(format!("xeno-formation-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&root).unwrap();
        let _ = Command::new("chown")
            .args(["postgres:", root.to_str().unwrap()])
            .status();
        let mut formation = Self {
            monitor: free_port(),
            nodes: vec![("a".to_owned(), free_port()), ("b".to_owned(), free_port())],
            root,
            keepers: Vec::new(),
        };
        let monitor_data = formation.root.join("monitor");
        let monitor_port = formation.monitor.to_string();
        let keeper = formation.autoctl(
            "monitor.log",
            &[
                "create",
                "monitor",
                "--pgdata",
                monitor_data.to_str().unwrap(),
                "--pgport",
                &monitor_port,
                "--hostname",
                "127.0.0.1",
                "--auth",
                "trust",
                "--no-ssl",
                "--run",
            ],
        );
        formation.keepers.push(keeper);
        formation.until_monitor("SELECT 'up'", "up").await;
        // Seconds, not the defaults' half minute: unhealthy after 2 s, and a primary that
        // cannot be reached counts as demoted after 3 s.
        for (setting, value) in [
            ("health_check_period", "500"),
            ("health_check_retry_delay", "250"),
            ("health_check_timeout", "500"),
            ("health_check_max_retries", "1"),
            ("node_considered_unhealthy_timeout", "2000"),
            ("primary_demote_timeout", "3000"),
        ] {
            let url = format!(
                "postgres://postgres@127.0.0.1:{}/pg_auto_failover",
                formation.monitor
            );
            let mut conn = PgConnection::connect(&url).await.unwrap();
            sqlx::query(&format!(
                "ALTER SYSTEM SET pgautofailover.{setting} = {value}"
            ))
            .execute(&mut conn)
            .await
            .unwrap();
            sqlx::query("SELECT pg_reload_conf()")
                .execute(&mut conn)
                .await
                .unwrap();
        }
        let monitor_uri = format!(
            "postgres://autoctl_node@127.0.0.1:{}/pg_auto_failover?sslmode=disable",
            formation.monitor
        );
        let nodes = formation.nodes.clone();
        for (i, (name, port)) in nodes.iter().enumerate() {
            let data = formation.root.join(name);
            let port = port.to_string();
            let keeper = formation.autoctl(
                &format!("{name}.log"),
                &[
                    "create",
                    "postgres",
                    "--pgdata",
                    data.to_str().unwrap(),
                    "--pgport",
                    &port,
                    "--hostname",
                    "127.0.0.1",
                    "--name",
                    name,
                    "--auth",
                    "trust",
                    "--no-ssl",
                    "--monitor",
                    &monitor_uri,
                    "--run",
                ],
            );
            formation.keepers.push(keeper);
            let want = if i == 0 { "single" } else { "secondary" };
            formation
                .until_monitor(
                    &format!("SELECT reportedstate::text FROM pgautofailover.node WHERE nodename = '{name}'"),
                    want,
                )
                .await;
        }
        formation
            .until_monitor(
                "SELECT reportedstate::text FROM pgautofailover.node WHERE nodename = 'a'",
                "primary",
            )
            .await;
        formation
    }

    /// Kills node `a` (its keeper and its PostgreSQL) at once, as a crash would.
    pub fn kill_primary(&mut self) {
        let keeper = &self.keepers[1];
        let group = keeper.id().to_string();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{group}")])
            .status();
        let data = self.root.join("a");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_bin().join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }

    /// Waits for `b` to be the writable primary.
    pub async fn until_b_promoted(&self) {
        self.until_monitor(
            "SELECT reportedstate::text FROM pgautofailover.node WHERE nodename = 'b'",
            "wait_primary",
        )
        .await;
    }
}

impl Drop for Formation {
    fn drop(&mut self) {
        // Keepers asked to stop stop their PostgreSQL cleanly (its workers with it); one
        // that has not within five seconds is killed.
        let signal = |keeper: &std::process::Child, signal: &str| {
            let _ = Command::new("kill")
                .args([signal, "--", &format!("-{}", keeper.id())])
                .status();
        };
        for keeper in &self.keepers {
            signal(keeper, "-TERM");
        }
        for keeper in &mut self.keepers {
            for _ in 0..50 {
                if keeper.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            signal(keeper, "-KILL");
            let _ = keeper.wait();
        }
        for name in ["monitor", "a", "b"] {
            let data = self.root.join(name);
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(pg_bin().join("pg_ctl"))
                .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
