//! Bringing a database to the current schema: roles, database, migrations, grants.
//!
//! Two roles take part. The *owner* role owns every table and runs migrations. The *runtime*
//! role, which the service connects as, owns nothing and is neither superuser nor
//! `BYPASSRLS`, so row-level security binds it. An optional *admin* connection (a superuser)
//! creates both roles and the database when they are missing.

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use thiserror::Error;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How to reach PostgreSQL in each role.
#[derive(Debug, Clone)]
pub struct DbRoles {
    /// The service's runtime role.
    pub runtime: PgConnectOptions,
    /// The owner role, for migrations.
    pub owner: PgConnectOptions,
    /// A superuser, to create roles and the database when missing. `None` in deployments
    /// where an operator created them.
    pub admin: Option<PgConnectOptions>,
}

#[derive(Debug, Error)]
pub enum SetupError {
    #[error("cannot connect to PostgreSQL as {role} ({user}@{database}): {source}")]
    Connect {
        role: &'static str,
        user: String,
        database: String,
        source: sqlx::Error,
    },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database setup failed: {0}")]
    Sql(#[from] sqlx::Error),
    #[error(
        "the runtime role {0:?} is a superuser, bypasses row-level security or owns tables; \
         connect the service as a plain role (see README: Database roles)"
    )]
    UnsafeRuntimeRole(String),
    #[error("{0}")]
    Config(String),
}

impl DbRoles {
    fn database(&self) -> Result<String, SetupError> {
        self.runtime
            .get_database()
            .map(str::to_owned)
            .ok_or_else(|| SetupError::Config("DATABASE_URL must name a database".to_owned()))
    }
}

/// Creates what is missing and applies pending migrations. Safe to run concurrently and
/// repeatedly (an advisory lock serialises bootstrap; sqlx locks migrations).
pub async fn prepare(roles: &DbRoles) -> Result<(), SetupError> {
    let database = roles.database()?;
    if let Some(admin) = &roles.admin {
        bootstrap(admin, roles, &database).await?;
    }
    let mut owner = connect("owner", &roles.owner.clone().database(&database)).await?;
    MIGRATOR.run(&mut owner).await?;
    grant_runtime(&mut owner, runtime_user(roles)).await?;
    owner.close().await?;
    check_runtime_role(roles, &database).await
}

fn runtime_user(roles: &DbRoles) -> &str {
    roles.runtime.get_username()
}

async fn connect(
    role: &'static str,
    options: &PgConnectOptions,
) -> Result<PgConnection, SetupError> {
    PgConnection::connect_with(options)
        .await
        .map_err(|source| SetupError::Connect {
            role,
            user: options.get_username().to_owned(),
            database: options.get_database().unwrap_or("(default)").to_owned(),
            source,
        })
}

async fn bootstrap(
    admin: &PgConnectOptions,
    roles: &DbRoles,
    database: &str,
) -> Result<(), SetupError> {
    let owner = roles.owner.get_username();
    let runtime = runtime_user(roles);
    let mut conn = connect("admin", admin).await?;
    // Roles are cluster-wide; serialise concurrent bootstraps (tests run many at once).
    sqlx::query("SELECT pg_advisory_lock(hashtext('xeno-bootstrap'))")
        .execute(&mut conn)
        .await?;
    let result = async {
        ensure_role(&mut conn, owner).await?;
        ensure_role(&mut conn, runtime).await?;
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(database)
                .fetch_optional(&mut conn)
                .await?;
        if exists.is_none() {
            tracing::info!(database, owner, "creating database");
            sqlx::query(&format!(
                "CREATE DATABASE {} OWNER {}",
                ident(database),
                ident(owner)
            ))
            .execute(&mut conn)
            .await?;
        }
        Ok::<_, SetupError>(())
    }
    .await;
    sqlx::query("SELECT pg_advisory_unlock(hashtext('xeno-bootstrap'))")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    result
}

async fn ensure_role(conn: &mut PgConnection, role: &str) -> Result<(), SetupError> {
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_roles WHERE rolname = $1")
        .bind(role)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_none() {
        tracing::info!(role, "creating role");
        sqlx::query(&format!(
            "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS",
            ident(role)
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The runtime role may read and write rows, never change the schema or the migration log.
async fn grant_runtime(owner: &mut PgConnection, runtime: &str) -> Result<(), SetupError> {
    let runtime = ident(runtime);
    for statement in [
        format!("GRANT USAGE ON SCHEMA public TO {runtime}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {runtime}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {runtime}"),
        format!("REVOKE ALL ON TABLE _sqlx_migrations FROM {runtime}"),
        // The audit log is append-only for the service.
        format!("REVOKE UPDATE, DELETE ON TABLE audit_events FROM {runtime}"),
    ] {
        sqlx::query(&statement).execute(&mut *owner).await?;
    }
    Ok(())
}

/// Refuses a runtime role that row-level security would not bind.
async fn check_runtime_role(roles: &DbRoles, database: &str) -> Result<(), SetupError> {
    let mut conn = connect("runtime", &roles.runtime.clone().database(database)).await?;
    let unsafe_role: bool = sqlx::query_scalar(
        "SELECT r.rolsuper OR r.rolbypassrls OR EXISTS ( \
             SELECT 1 FROM pg_class c WHERE c.relowner = r.oid AND c.relnamespace = 'public'::regnamespace) \
         FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    if unsafe_role {
        return Err(SetupError::UnsafeRuntimeRole(
            runtime_user(roles).to_owned(),
        ));
    }
    Ok(())
}

/// Quotes an SQL identifier (role and database names come from configuration).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
