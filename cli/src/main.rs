//! `access`: the command-line client for developers and on-site technicians, built on
//! `access-core` (the same code as the apps).
//!
//! ```text
//! export ACCESS_SERVER_URL=http://127.0.0.1:8080 ACCESS_HOME=~/.access
//! access login --email ann@example.com        # password from ACCESS_PASSWORD or stdin
//! access sync
//! access locks oak 4b
//! access rename "Front door" "Front door (old)"
//! access queue
//! ```

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use access_core::{
    AccessClient, AccessError, ActionOutcome, CallbackError, ClientConfig, GiveAccessOutcome,
    LockInfo, OfflineCodeClass, QueuedActionInfo, SyncPhase, SyncProgress, TimeWindow, UserInfo,
    file_secret_store,
};
use access_domain::{AccessCodeKind, App, LockMode};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

mod ble;

#[derive(Parser)]
#[command(name = "access", version, about = "Lock access from the command line")]
struct Cli {
    /// Platform server address.
    #[arg(
        long,
        env = "ACCESS_SERVER_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// Directory for the session, cache and offline queue (default: ~/.access).
    #[arg(long, env = "ACCESS_HOME")]
    home: Option<PathBuf>,
    /// Which app to act as: team members use `manager`, residents `resident`.
    #[arg(long, env = "ACCESS_APP", value_enum, default_value_t = AppArg::Manager)]
    app: AppArg,
    /// Request timeout in milliseconds.
    #[arg(long, env = "ACCESS_TIMEOUT_MS")]
    timeout_ms: Option<u32>,
    /// Show what the core does, with the time since start (-v: each phase, -vv: details).
    /// `RUST_LOG` (e.g. `access_core=debug`) overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum AppArg {
    Manager,
    Resident,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Vacant,
    Tour,
    Resident,
    Maintenance,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Permanent,
    Window,
    OneTime,
}

#[derive(Clone, Copy, ValueEnum)]
enum ClassArg {
    Guest,
    Tour,
}

#[derive(Subcommand)]
enum Command {
    /// Start registration from the invitation link; an SMS code goes to the phone.
    Register {
        /// The invitation link from the email (or its token).
        #[arg(long)]
        invitation: String,
        #[arg(long)]
        email: String,
        /// A +1 number, e.g. +15551234567.
        #[arg(long)]
        phone: String,
        #[arg(long)]
        name: String,
        /// The username to sign up with: 3 to 32 of a-z 0-9 . _ - (unique in the
        /// organization).
        #[arg(long)]
        username: String,
        /// Read from ACCESS_PASSWORD or stdin when not given.
        #[arg(long, env = "ACCESS_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Finish registration with the SMS code.
    Verify {
        registration_id: String,
        code: String,
    },
    /// Sign in.
    Login {
        #[arg(long)]
        email: String,
        #[arg(long, env = "ACCESS_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Forgot password: a reset link goes to the email, a code to the account's phone.
    ForgotPassword { email: String },
    /// Set a new password with the reset mail's link (or its token) and the SMS code.
    ResetPassword {
        /// The link from the password reset email (or its token).
        link: String,
        #[arg(long)]
        code: String,
        /// Read from ACCESS_PASSWORD or stdin when not given.
        #[arg(long, env = "ACCESS_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Sign out and wipe the local cache and queue.
    Logout,
    /// Show the signed-in user and what they may do.
    Whoami,
    /// Send queued actions and update the offline cache.
    Sync,
    /// List cached locks, or search them by any part of name, unit or property.
    Locks { query: Vec<String> },
    /// Rename a lock (queued when offline).
    Rename { lock: String, name: String },
    /// Change a lock's mode (queued when offline).
    Mode {
        lock: String,
        #[arg(value_enum)]
        mode: ModeArg,
    },
    /// Reset a lock's access codes.
    ResetCodes { lock: String },
    /// Show a lock's access log.
    Logs { lock: String },
    /// Show a lock's master code.
    MasterCode { lock: String },
    /// Create an access code on a lock (queued when offline).
    GiveAccess {
        lock: String,
        #[arg(long, value_enum, default_value_t = KindArg::OneTime)]
        kind: KindArg,
        #[arg(long)]
        label: Option<String>,
        /// Window start (RFC 3339), for `--kind window`.
        #[arg(long)]
        from: Option<String>,
        /// Window end (RFC 3339), for `--kind window`.
        #[arg(long)]
        until: Option<String>,
        /// An offline code the lock checks by itself (14 digits, window or one-time, on
        /// the hour, up to 30 days); needs the network.
        #[arg(long)]
        offline: bool,
        /// Offline codes: `guest` (vacant, maintenance) or `tour` (tour mode); default
        /// follows the lock's mode.
        #[arg(long, value_enum, requires = "offline")]
        class: Option<ClassArg>,
    },
    /// Show a lock's access codes and whether the lock has them.
    Codes { lock: String },
    #[command(flatten)]
    Ble(ble::BleCommand),
    /// Show queued and failed actions; `queue replay` sends the queue now.
    Queue {
        #[arg(value_enum)]
        action: Option<QueueCmd>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum QueueCmd {
    Replay,
}

/// An error of the CLI itself or of the core.
enum Failure {
    Core(AccessError),
    Usage(String),
}

impl From<AccessError> for Failure {
    fn from(e: AccessError) -> Self {
        Failure::Core(e)
    }
}

type Result<T> = std::result::Result<T, Failure>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    trace_to_stderr(cli.verbose);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Core(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Logs of the core (and its BLE and HTTP layers) on stderr, each line with the time since
/// the process started: `-v` shows each phase of a lock contact, `-vv` the details.
fn trace_to_stderr(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 if std::env::var_os("RUST_LOG").is_none() => return,
        0 => "",
        1 => "access_core=info,lock_ble=info",
        _ => "access_core=debug,lock_ble=debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)),
        )
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

/// Distinct exit codes for the cases scripts act on.
fn exit_code(e: &AccessError) -> u8 {
    match e {
        AccessError::NotAllowed { .. } => 3,
        AccessError::Offline { .. } | AccessError::Timeout => 4,
        AccessError::NotSignedIn => 5,
        AccessError::Revoked => 6,
        AccessError::NotFound => 7,
        AccessError::LockOutOfRange { .. } | AccessError::LockTimeout { .. } => 8,
        AccessError::RefusedByLock { .. }
        | AccessError::NotNow { .. }
        | AccessError::WrongPairingCode => 9,
        _ => 1,
    }
}

fn home(cli: &Cli) -> PathBuf {
    cli.home.clone().unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".access")
    })
}

fn password(given: Option<String>) -> Result<String> {
    if let Some(p) = given {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        eprint!("Password: ");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::Usage(format!("cannot read the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn show_user(u: &UserInfo) {
    println!("{} <{}>", u.name, u.email);
    println!("  id:          {}", u.id);
    println!("  type:        {:?} ({:?})", u.user_type, u.status);
    println!("  app:         {}", u.app.display_name());
    let perms: Vec<&str> = u.permissions.iter().map(|p| p.as_str()).collect();
    println!(
        "  permissions: {}",
        if perms.is_empty() {
            "none".into()
        } else {
            perms.join(", ")
        }
    );
    if u.all_locks {
        println!("  access:      all locks");
    } else {
        println!("  access:      units {}", u.unit_ids.join(", "));
    }
}

fn show_lock(l: &LockInfo) {
    println!(
        "{}  {:<28} {:<12} {:<24} {}",
        l.id,
        l.name,
        l.mode.as_str(),
        l.property_name,
        l.unit_name
    );
}

fn show_queued(q: &QueuedActionInfo) {
    let reason = q
        .error_message
        .as_deref()
        .map(|m| format!("  ({m})"))
        .unwrap_or_default();
    println!(
        "{}  {:?}  lock {}  {}  attempts {}{}",
        q.id, q.state, q.lock_id, q.description, q.attempts, reason
    );
}

/// A lock id, or a search that finds exactly one cached lock.
async fn resolve(client: &AccessClient, lock: &str) -> Result<String> {
    if uuid::Uuid::parse_str(lock).is_ok() {
        return Ok(lock.to_string());
    }
    let found = client.locks().search(lock.to_string(), u32::MAX).await?;
    let exact: Vec<&LockInfo> = found
        .iter()
        .filter(|l| l.name.eq_ignore_ascii_case(lock))
        .collect();
    match (exact.as_slice(), found.as_slice()) {
        ([one], _) => Ok(one.id.clone()),
        ([], [one]) => Ok(one.id.clone()),
        (_, []) => Err(Failure::Usage(format!(
            "no cached lock matches {lock:?}: run `access sync` or use the lock id"
        ))),
        _ => {
            for l in found.iter().take(10) {
                show_lock(l);
            }
            Err(Failure::Usage(format!(
                "{} locks match {lock:?}: use the lock id",
                found.len()
            )))
        }
    }
}

fn parse_time(s: &str) -> Result<SystemTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(SystemTime::from)
        .map_err(|e| Failure::Usage(format!("{s:?} is not an RFC 3339 time: {e}")))
}

fn queued_note(outcome: &ActionOutcome) {
    match outcome {
        ActionOutcome::Done => println!("done"),
        ActionOutcome::Queued { action_id } => {
            println!("queued {action_id} (offline: sent on the next sync)")
        }
    }
}

/// indicatif bars fed by the core's progress callback.
struct Bar(ProgressBar);

impl SyncProgress for Bar {
    fn on_progress(
        &self,
        phase: SyncPhase,
        done: u64,
        total: u64,
    ) -> std::result::Result<(), CallbackError> {
        match phase {
            SyncPhase::Replaying => self.0.set_message("sending queued actions"),
            SyncPhase::Downloading => {
                self.0.set_message("downloading");
                self.0.set_length(0);
                self.0.set_position(done);
            }
            SyncPhase::Saving => {
                self.0.set_message("saving");
                self.0.set_length(total);
                self.0.set_position(done);
            }
            SyncPhase::Finished => self.0.finish_and_clear(),
        }
        Ok(())
    }
}

async fn run(cli: Cli) -> Result<()> {
    let home = home(&cli);
    let config = ClientConfig {
        server_url: cli.server.clone(),
        data_dir: home.display().to_string(),
        app: match cli.app {
            AppArg::Manager => App::AccessManager,
            AppArg::Resident => App::NokeyResident,
        },
        request_timeout_ms: cli.timeout_ms,
    };
    let secrets = file_secret_store(home.join("secrets.json").display().to_string());
    let client = AccessClient::new(config, secrets, None)?;
    match cli.command {
        Command::Register {
            invitation,
            email,
            phone,
            name,
            username,
            password: pw,
        } => {
            let pw = password(pw)?;
            let id = client
                .account()
                .register_from_invitation(invitation, email, phone, pw, name, username)
                .await?;
            println!("{id}");
            eprintln!("An SMS code is on its way: run `access verify {id} CODE`.");
        }
        Command::Verify {
            registration_id,
            code,
        } => show_user(&client.account().verify_sms(registration_id, code).await?),
        Command::Login {
            email,
            password: pw,
        } => {
            let pw = password(pw)?;
            show_user(&client.account().login(email, pw).await?)
        }
        Command::ForgotPassword { email } => {
            println!("{}", client.account().request_password_reset(email).await?)
        }
        Command::ResetPassword {
            link,
            code,
            password: pw,
        } => {
            let pw = password(pw)?;
            client
                .account()
                .confirm_password_reset(link, code, pw)
                .await?;
            println!("password changed; every session ended: run `access login` again");
        }
        Command::Logout => {
            client.account().logout().await?;
            println!("signed out; local data wiped");
        }
        Command::Whoami => match client.account().current_user().await? {
            Some(u) => show_user(&u),
            None => return Err(AccessError::NotSignedIn.into()),
        },
        Command::Sync => {
            let pb = if std::io::stderr().is_terminal() {
                ProgressBar::new(0)
            } else {
                ProgressBar::hidden()
            };
            pb.set_style(
                ProgressStyle::with_template("{spinner} {msg} {pos}/{len} {wide_bar}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let bar = Arc::new(Bar(pb.clone()));
            let s = client.sync(Some(bar)).await;
            pb.finish_and_clear();
            let s = s?;
            println!(
                "{} sync: {} locks changed, {} removed, {} access codes, {} locks cached; {} queued actions sent, {} refused; {} bytes",
                if s.full { "full" } else { "incremental" },
                s.locks_changed,
                s.locks_removed,
                s.access_codes,
                s.total_locks,
                s.replayed,
                s.failed,
                s.bytes
            );
        }
        Command::Locks { query } => {
            let locks = if query.is_empty() {
                client.locks().list().await?
            } else {
                client.locks().search(query.join(" "), u32::MAX).await?
            };
            for l in &locks {
                show_lock(l);
            }
            eprintln!("{} locks", locks.len());
        }
        Command::Rename { lock, name } => {
            let id = resolve(&client, &lock).await?;
            queued_note(&client.locks().rename(id, name).await?);
        }
        Command::Mode { lock, mode } => {
            let id = resolve(&client, &lock).await?;
            let mode = match mode {
                ModeArg::Vacant => LockMode::Vacant,
                ModeArg::Tour => LockMode::Tour,
                ModeArg::Resident => LockMode::Resident,
                ModeArg::Maintenance => LockMode::Maintenance,
            };
            queued_note(&client.locks().change_mode(id, mode).await?);
        }
        Command::ResetCodes { lock } => {
            let id = resolve(&client, &lock).await?;
            client.locks().reset_codes(id).await?;
            println!("codes reset");
        }
        Command::Logs { lock } => {
            let id = resolve(&client, &lock).await?;
            for e in client.locks().view_logs(id).await? {
                let at = time::OffsetDateTime::from(e.at)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                let who = e
                    .user_name
                    .or(e.code_label)
                    .unwrap_or_else(|| "unknown".into());
                println!(
                    "{at}  {:<14} {:<10} {:<6} {who}  {}",
                    e.action,
                    e.method,
                    e.source,
                    e.detail.unwrap_or_default()
                );
            }
        }
        Command::MasterCode { lock } => {
            let id = resolve(&client, &lock).await?;
            println!("{}", client.locks().view_master_code(id).await?);
        }
        Command::GiveAccess {
            lock,
            kind,
            label,
            from,
            until,
            offline,
            class,
        } => {
            let id = resolve(&client, &lock).await?;
            let kind = match kind {
                KindArg::Permanent => AccessCodeKind::Permanent,
                KindArg::Window => AccessCodeKind::Window,
                KindArg::OneTime => AccessCodeKind::OneTime,
            };
            let window = match (from, until) {
                (Some(f), Some(u)) => Some(TimeWindow {
                    starts_at: parse_time(&f)?,
                    ends_at: parse_time(&u)?,
                }),
                (None, None) => None,
                _ => return Err(Failure::Usage("give both --from and --until".into())),
            };
            if offline {
                let class = class.map(|c| match c {
                    ClassArg::Guest => OfflineCodeClass::Guest,
                    ClassArg::Tour => OfflineCodeClass::Tour,
                });
                let c = client
                    .offline_codes()
                    .give(id, kind, class, label, window)
                    .await?;
                let fmt = |t: SystemTime| {
                    time::OffsetDateTime::from(t)
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default()
                };
                println!(
                    "{}  code {}  ({:?}, valid {} to {})",
                    c.id,
                    c.code,
                    c.class,
                    fmt(c.valid_from),
                    fmt(c.valid_until)
                );
                return Ok(());
            }
            match client.locks().give_access(id, kind, label, window).await? {
                GiveAccessOutcome::Created { code } => {
                    println!("{}  code {}  ({:?})", code.id, code.code, code.sync_state)
                }
                GiveAccessOutcome::Queued { action_id } => {
                    println!("queued {action_id} (offline: sent on the next sync)")
                }
            }
        }
        Command::Codes { lock } => {
            let id = resolve(&client, &lock).await?;
            for c in client.locks().access_codes(id).await? {
                println!(
                    "{}  {:<10} {:<8} {:<10} {}{}",
                    c.id,
                    c.kind.as_str(),
                    c.code,
                    c.sync_state.as_str(),
                    c.label.unwrap_or_default(),
                    c.failure_reason
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                );
            }
        }
        Command::Ble(c) => ble::run(&client, c).await?,
        Command::Queue { action } => {
            if let Some(QueueCmd::Replay) = action {
                let r = client.queue().replay().await?;
                println!(
                    "sent {}, refused {}, still pending {}",
                    r.sent, r.failed, r.pending
                );
            }
            let pending = client.queue().pending().await?;
            let failed = client.queue().failed().await?;
            println!("pending: {}", pending.len());
            pending.iter().for_each(show_queued);
            println!("failed: {}", failed.len());
            failed.iter().for_each(show_queued);
        }
    }
    Ok(())
}
