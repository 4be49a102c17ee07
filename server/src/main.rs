//! `access-server`: flags and environment over [`access_server::start`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use access_server::store::sqlite::backup;
use clap::{Parser, Subcommand};

// mimalloc: every request allocates in hyper, axum, SQLite and serde, and mimalloc's
// per-thread free lists serve that faster than glibc's malloc (access-server-bench measures it).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The lock access platform server. Without a command it serves.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on.
    #[arg(
        long,
        env = "ACCESS_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    listen: SocketAddr,
    /// Address of `GET /metrics` (Prometheus text format), e.g. 127.0.0.1:9100; unset: no
    /// metrics. Keep it off the public network.
    #[arg(long, env = "ACCESS_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Directory of the embedded SQLite database.
    #[arg(long, env = "ACCESS_DATA_DIR", default_value = "./data", global = true)]
    data_dir: PathBuf,
    /// Another database (PostgreSQL), instead of SQLite in the data directory.
    #[arg(long, env = "ACCESS_DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// Email of the administrator created on the first start.
    #[arg(long, env = "ACCESS_ADMIN_EMAIL")]
    admin_email: Option<String>,
    /// Password of that administrator (generated and printed once if absent).
    #[arg(long, env = "ACCESS_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// SMTP server for invitations, e.g. smtp://127.0.0.1:2525.
    #[arg(long, env = "ACCESS_SMTP_URL")]
    smtp_url: Option<String>,
    /// SMS gateway webhook: each SMS is POSTed as {"to","body"}.
    #[arg(long, env = "ACCESS_SMS_WEBHOOK_URL")]
    sms_webhook_url: Option<String>,
    /// Most verification SMS sent per hour, all registrations together (a cap on what SMS
    /// pumping can cost).
    #[arg(long, env = "ACCESS_SMS_PER_HOUR", default_value_t = 200)]
    sms_per_hour: u64,
    /// Public base URL of invitation links (default: this server's address).
    #[arg(long, env = "ACCESS_PUBLIC_URL")]
    public_url: Option<String>,
    /// Apple team id of the iOS apps: serves /.well-known/apple-app-site-association.
    #[arg(long, env = "ACCESS_APPLE_TEAM_ID")]
    apple_team_id: Option<String>,
    /// SHA-256 fingerprints (comma-separated) of the Android apps' signing certificate:
    /// serves /.well-known/assetlinks.json.
    #[arg(long, env = "ACCESS_ANDROID_CERT_SHA256", value_delimiter = ',')]
    android_cert_sha256: Vec<String>,
    /// Name of the organization created on the first start.
    #[arg(
        long,
        env = "ACCESS_ORGANIZATION_NAME",
        default_value = "My organization"
    )]
    organization_name: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Copies the SQLite database to DEST while the server runs: one consistent snapshot.
    Backup {
        /// The backup file to write; an existing file is never overwritten.
        dest: PathBuf,
    },
    /// Puts the backup SRC in place as the data directory's database. Stop the server
    /// first; a data directory that already holds a database is refused.
    Restore {
        /// A file written by `access-server backup`.
        src: PathBuf,
    },
    /// Asks the server on --listen for `/healthz`; exit status 0 when it answers 200
    /// (the container image's health check: no curl needed).
    Healthcheck,
    /// The organizations this server hosts, each invisible to the others.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Creates an organization with its own signing key and first administrator.
    Create {
        /// The organization's name, e.g. "Maple Property Management".
        #[arg(long)]
        name: String,
        /// Email the first administrator signs in with (not used by anyone on this server).
        #[arg(long)]
        admin_email: String,
        /// That administrator's password (generated and printed once if absent).
        #[arg(long, env = "ACCESS_NEW_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
    },
    /// Lists the organizations, oldest first.
    List,
}

/// Runs a command other than serving; what it prints on success.
fn run_command(command: Command, args: &Args) -> Result<String, String> {
    match command {
        Command::Org { command } => run_org(command, args),
        Command::Healthcheck => healthcheck(args.listen),
        Command::Backup { dest } => backup_to(&dest, args),
        Command::Restore { src } => restore_from(&src, args),
    }
}

/// The store settings of `args`, for the commands that work on the store.
fn store_config(args: &Args) -> access_server::ServerConfig {
    let mut config = access_server::ServerConfig::new(args.data_dir.clone());
    config.database_url = args.database_url.clone();
    config
}

fn run_org(command: OrgCommand, args: &Args) -> Result<String, String> {
    let config = store_config(args);
    let store = access_server::open_store(&config).map_err(|e| e.to_string())?;
    match command {
        OrgCommand::Create {
            name,
            admin_email,
            admin_password,
        } => {
            let org = access_server::bootstrap::add_organization(
                &*store,
                &name,
                &admin_email,
                admin_password,
                config.password_cost,
            )?;
            let password = match &org.generated_password {
                Some(p) => format!(" with password {p} (shown once)"),
                None => String::new(),
            };
            Ok(format!(
                "created organization {} with administrator {}{password}",
                org.id, org.admin_email
            ))
        }
        OrgCommand::List => {
            let orgs = store.list_organizations().map_err(|e| e.to_string())?;
            let mut out = format!("{:<36}  {:<20}  {:>5}  name", "id", "created", "users");
            for o in orgs {
                let created = o
                    .created_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                out.push_str(&format!(
                    "\n{}  {:<20}  {:>5}  {}",
                    o.id, created, o.active_users, o.name
                ));
            }
            Ok(out)
        }
    }
}

/// `GET /healthz` on the server's own address (a wildcard address is asked on loopback).
fn healthcheck(listen: SocketAddr) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut at = listen;
    if at.ip().is_unspecified() {
        at.set_ip(match at {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let wait = std::time::Duration::from_secs(3);
    let mut conn = std::net::TcpStream::connect_timeout(&at, wait)
        .map_err(|e| format!("no server on {at}: {e}"))?;
    conn.set_read_timeout(Some(wait))
        .map_err(|e| e.to_string())?;
    conn.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    let _ = conn.take(4096).read_to_string(&mut answer);
    match answer.lines().next() {
        Some(status) if status.split_whitespace().nth(1) == Some("200") => {
            Ok(format!("healthy: {at}"))
        }
        other => Err(format!(
            "unhealthy: {at} answered {:?}",
            other.unwrap_or("")
        )),
    }
}

/// The SQLite data directory `backup` and `restore` work on; PostgreSQL has its own tools.
fn sqlite_dir(args: &Args) -> Result<PathBuf, String> {
    store_config(args)
        .sqlite_dir()
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            "with PostgreSQL, back up with pg_dump --format=custom and restore with pg_restore \
             into an empty database (see the README); the server refuses a schema newer than it \
             knows when it starts"
                .into()
        })
}

fn backup_to(dest: &Path, args: &Args) -> Result<String, String> {
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "backing up {bar:30} {bytes}/{total_bytes} ({elapsed})",
        )
        .expect("a valid template"),
    );
    let copied = backup::backup(&sqlite_dir(args)?, dest, |done, total| {
        bar.set_length(total.max(done));
        bar.set_position(done);
    });
    bar.finish_and_clear();
    Ok(said("backed up to", copied.map_err(|e| e.to_string())?))
}

fn restore_from(src: &Path, args: &Args) -> Result<String, String> {
    let copied = backup::restore(src, &sqlite_dir(args)?).map_err(|e| e.to_string())?;
    Ok(said("restored to", copied))
}

fn said(what: &str, c: backup::Copied) -> String {
    format!(
        "{what} {} ({} bytes, schema version {})",
        c.path.display(),
        c.bytes,
        c.schema_version
    )
}

/// Logs to stderr, filtered by `RUST_LOG`; one JSON object a line with
/// `ACCESS_LOG_FORMAT=json` (each line of a request carries its `request_id`).
fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match std::env::var("ACCESS_LOG_FORMAT").as_deref() {
        Ok("json") => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        Ok("text") | Ok("") | Err(_) => logs.init(),
        Ok(other) => {
            logs.init();
            tracing::warn!("ACCESS_LOG_FORMAT={other:?} is not json or text: logging text");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_logging();
    let mut args = Args::parse();
    // An empty ACCESS_DATABASE_URL means none, as if unset.
    args.database_url = args.database_url.filter(|url| !url.is_empty());
    if let Some(command) = args.command.take() {
        // The commands use the stores' blocking clients, which must not run on an async
        // worker (the PostgreSQL client starts a runtime of its own).
        let done = tokio::task::spawn_blocking(move || run_command(command, &args))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        return match done {
            Ok(done) => {
                println!("{done}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("access-server: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let mut config = access_server::ServerConfig::new(args.data_dir);
    config.listen = args.listen;
    config.metrics_listen = args.metrics_listen;
    config.database_url = args.database_url;
    config.admin_email = args.admin_email;
    config.admin_password = args.admin_password;
    config.smtp_url = args.smtp_url;
    config.sms_webhook_url = args.sms_webhook_url;
    config.sms_per_hour = args.sms_per_hour;
    config.public_url = args.public_url.unwrap_or_default();
    config.apple_team_id = args.apple_team_id;
    config.android_cert_sha256 = args.android_cert_sha256;
    config.organization_name = args.organization_name;
    match access_server::start_with_shutdown(config, shutdown_signal()).await {
        Ok(server) => {
            // Tests and scripts read this line to learn the port.
            println!("access-server listening on {}", server.base_url());
            server.wait().await;
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("access-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
