//! The command line of `msim-server`, parsed with clap (`msim-server --help` shows it all):
//!
//! ```text
//! msim-server [OPTIONS]                                   serve (the default command)
//! msim-server [--db PATH] account add EMAIL PASSWORD [--username U] [--display-name D]
//! msim-server [--db PATH] account password EMAIL PASSWORD
//! msim-server [--db PATH] account list | remove EMAIL | set-picture EMAIL FILE | clear-picture EMAIL
//! ```
//! Options may appear anywhere. Passwords are hashed before storage and never printed or logged.
//! The log goes to stderr with timestamps through the `log` crate; `RUST_LOG` (env_logger's
//! syntax, e.g. `RUST_LOG=debug`) sets the level, `--quiet` silences the server's events.

use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::db::Db;
use crate::{Config, Server};

/// Default database file, in the working directory.
pub const DEFAULT_DB: &str = "msim-server.db";
/// Default listen address: loopback only, the protocol's port (SPEC §1).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:1863";

const AFTER_HELP: &str =
    "A limit of 0 disables it: keepalives, the dead-connection limit (a logged-in client may then \
be silent), the login limit, a connection cap, a failed-login limit, the failed-login summary (a line per failure \
instead), the client version check (builds below --min-client-version get error 267), cutting long persist replies \
into mtf pieces. Past its free failed logins, an address waits 1 s, then 2, 4, … up to --login-backoff-max between \
attempts; an account's limit slows only addresses that failed on it. Profile pictures (account set-picture: PNG, \
GIF or JPEG, at most 256 KiB and 1024x1024) are served over HTTP on the listen address, port --http-port (default: \
the listen port + 1; 0 picks a free one), as http://ADDR:PORT/pictures/... unless --http-url gives another base. \
--demo seeds demo accounts and prints them. RUST_LOG=debug (or warn, …) sets how much is logged.";

/// A faithful reference MySpaceIM (MSIM) server.
#[derive(Parser, Debug)]
#[command(name = "msim-server", version, after_help = AFTER_HELP, args_conflicts_with_subcommands = false)]
struct Cli {
    /// SQLite database file (`:memory:` for one that lives as long as the process).
    #[arg(long, global = true, default_value = DEFAULT_DB, value_name = "PATH")]
    db: String,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Top>,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address to serve; may be given several times (e.g. 1863 and SPEC §25's fallback ports).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    listen: Vec<String>,
    /// Seed demo accounts (alice, bob, carol, tom) and print them.
    #[arg(long)]
    demo: bool,
    /// Log nothing but errors of the server's own (accounts, connections, logins).
    #[arg(long)]
    quiet: bool,
    /// Seconds between `\ka\` keepalives [default: 60].
    #[arg(long, value_name = "SECS")]
    ka_interval: Option<u64>,
    /// Seconds a dead peer may go unnoticed [default: 180].
    #[arg(long, value_name = "SECS")]
    idle_timeout: Option<u64>,
    /// Seconds a connection has to log in [default: 60].
    #[arg(long, value_name = "SECS")]
    login_timeout: Option<u64>,
    /// Connections at once [default: 20000].
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// Connections not logged in yet, per address [default: 64].
    #[arg(long, value_name = "N")]
    max_prelogin_per_address: Option<usize>,
    /// Bytes queued for one connection before it is closed as too slow [default: 2097152].
    #[arg(long, value_name = "N")]
    max_outbound_bytes: Option<usize>,
    /// Failed logins an address may make before it waits [default: 10].
    #[arg(long, value_name = "N")]
    login_failures_per_address: Option<u32>,
    /// Failed logins on one account before addresses that failed on it wait [default: 10].
    #[arg(long, value_name = "N")]
    login_failures_per_account: Option<u32>,
    /// Longest wait between failed logins, seconds [default: 300].
    #[arg(long, value_name = "SECS")]
    login_backoff_max: Option<u64>,
    /// Seconds after which failed logins are forgotten [default: 900].
    #[arg(long, value_name = "SECS")]
    login_forget_after: Option<u64>,
    /// Seconds between failed-login summaries in the log [default: 60].
    #[arg(long, value_name = "SECS")]
    login_log_interval: Option<u64>,
    /// Refuse client builds below this with error 267 [default: 0, none].
    #[arg(long, value_name = "BUILD")]
    min_client_version: Option<u32>,
    /// Bytes per mtf piece of a long persist reply [default: 65536; 0 = never cut].
    #[arg(long, value_name = "N")]
    persist_piece_bytes: Option<usize>,
    /// Port of the picture HTTP side [default: the listen port + 1].
    #[arg(long, value_name = "PORT", conflicts_with = "no_http")]
    http_port: Option<u16>,
    /// No picture HTTP side.
    #[arg(long)]
    no_http: bool,
    /// Base of the picture URLs given to clients (behind a proxy, say).
    #[arg(long, value_name = "URL")]
    http_url: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Top {
    /// Manage accounts in the database.
    #[command(subcommand)]
    Account(AccountCmd),
}

#[derive(Subcommand, Debug)]
enum AccountCmd {
    /// Adds an account (the password is stored only as its login hashes).
    Add {
        email: String,
        password: String,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Sets an account's password.
    Password { email: String, password: String },
    /// Lists the accounts.
    List,
    /// Removes an account.
    Remove { email: String },
    /// Sets an account's profile picture from a PNG, GIF or JPEG file.
    SetPicture { email: String, file: String },
    /// Removes an account's profile picture.
    ClearPicture { email: String },
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Serve,
    AccountAdd { email: String, password: String, username: Option<String>, display_name: Option<String> },
    AccountPassword { email: String, password: String },
    AccountList,
    AccountRemove { email: String },
    AccountSetPicture { email: String, file: String },
    AccountClearPicture { email: String },
}

/// Parsed arguments: the command plus the server settings.
#[derive(Debug, Clone)]
pub struct Args {
    pub command: Command,
    pub config: Config,
}

/// What went wrong with the command line: clap's error (help and version are "errors" that
/// print to stdout and exit 0), or one of ours.
pub enum ParseFailure {
    Clap(clap::Error),
    Invalid(String),
}

impl std::fmt::Debug for ParseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseFailure::Clap(e) => write!(f, "{}", e.kind()),
            ParseFailure::Invalid(s) => f.write_str(s),
        }
    }
}

fn nonempty_password(password: String) -> Result<String, ParseFailure> {
    if password.is_empty() {
        return Err(ParseFailure::Invalid("the password must not be empty".into()));
    }
    Ok(password)
}

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Args, ParseFailure> {
    let cli =
        Cli::try_parse_from(std::iter::once("msim-server".to_string()).chain(args)).map_err(ParseFailure::Clap)?;
    let s = cli.serve;
    let mut config = Config { db: cli.db, demo: s.demo, log: !s.quiet, ..Config::default() };
    let mut listen = s.listen.into_iter();
    config.listen = listen.next().unwrap_or_else(|| DEFAULT_LISTEN.into());
    config.also_listen = listen.collect();
    let secs = Duration::from_secs;
    if let Some(v) = s.ka_interval {
        config.ka_interval = secs(v);
    }
    if let Some(v) = s.idle_timeout {
        config.idle_timeout = secs(v);
    }
    if let Some(v) = s.login_timeout {
        config.login_timeout = secs(v);
    }
    config.max_connections = s.max_connections.unwrap_or(config.max_connections);
    config.max_prelogin_per_address = s.max_prelogin_per_address.unwrap_or(config.max_prelogin_per_address);
    config.max_outbound_bytes = s.max_outbound_bytes.unwrap_or(config.max_outbound_bytes);
    let l = &mut config.login_limits;
    l.per_address_free = s.login_failures_per_address.unwrap_or(l.per_address_free);
    l.per_account_free = s.login_failures_per_account.unwrap_or(l.per_account_free);
    l.backoff_max = s.login_backoff_max.map_or(l.backoff_max, secs);
    l.forget_after = s.login_forget_after.map_or(l.forget_after, secs);
    l.summary_interval = s.login_log_interval.map_or(l.summary_interval, secs);
    config.min_client_version = s.min_client_version.unwrap_or(config.min_client_version);
    config.persist_piece_bytes = s.persist_piece_bytes.unwrap_or(config.persist_piece_bytes);
    config.http_url = s.http_url;
    // The HTTP side: the given port, else the one after the IM port (a free one when that is 0).
    config.http_port = match (s.no_http, s.http_port) {
        (true, _) => None,
        (false, Some(p)) => Some(p),
        (false, None) => Some(default_http_port(&config.listen).map_err(ParseFailure::Invalid)?),
    };
    let command = match cli.command {
        None => Command::Serve,
        Some(Top::Account(a)) => match a {
            AccountCmd::Add { email, password, username, display_name } => {
                Command::AccountAdd { email, password: nonempty_password(password)?, username, display_name }
            }
            AccountCmd::Password { email, password } => {
                Command::AccountPassword { email, password: nonempty_password(password)? }
            }
            AccountCmd::List => Command::AccountList,
            AccountCmd::Remove { email } => Command::AccountRemove { email },
            AccountCmd::SetPicture { email, file } => Command::AccountSetPicture { email, file },
            AccountCmd::ClearPicture { email } => Command::AccountClearPicture { email },
        },
    };
    Ok(Args { command, config })
}

/// The port after the listen address's (0 stays 0: a free one).
fn default_http_port(listen: &str) -> Result<u16, String> {
    let port = listen
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .ok_or_else(|| format!("--listen `{listen}` has no port"))?;
    match port {
        0 => Ok(0),
        65535 => Err("the listen port is 65535: give --http-port (or --no-http)".into()),
        p => Ok(p + 1),
    }
}

/// Runs the program; returns the process exit code.
pub fn run<I: IntoIterator<Item = String>>(args: I) -> i32 {
    let args = match parse(args) {
        Ok(a) => a,
        Err(ParseFailure::Clap(e)) => {
            // --help and --version print to stdout and succeed; usage errors to stderr, code 2.
            let _ = e.print();
            return e.exit_code();
        }
        Err(ParseFailure::Invalid(e)) => {
            eprintln!("msim-server: error: {e}\n\nFor more information, try '--help'.");
            return 2;
        }
    };
    init_logging(args.config.log);
    match execute(args) {
        Ok(()) => 0,
        Err(e) => {
            log::error!("{e}");
            1
        }
    }
}

/// stderr, timestamps, `RUST_LOG` levels (info by default; warn with --quiet).
fn init_logging(events: bool) {
    let default = if events { "info" } else { "warn" };
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default))
        .format_timestamp_millis()
        .format_target(false)
        .try_init();
}

fn execute(args: Args) -> Result<(), String> {
    let open = || Db::open(&args.config.db).map_err(|e| format!("cannot open {}: {e}", args.config.db));
    match args.command {
        Command::AccountAdd { email, password, username, display_name } => {
            let uid = open()?
                .create_account_with_password(None, &email, &password, username.as_deref(), display_name.as_deref())
                .map_err(|e| format!("cannot add {email}: {e}"))?;
            println!("added {email} as uid {uid}");
        }
        Command::AccountPassword { email, password } => {
            if !open()?.set_password(&email, &password).map_err(|e| format!("cannot set the password: {e}"))? {
                return Err(format!("no account with e-mail {email}"));
            }
            println!("password of {email} set");
        }
        Command::AccountList => {
            println!("{:>10}  {:<32} {:<25} display name", "uid", "e-mail", "username");
            for a in open()?.accounts().map_err(|e| e.to_string())? {
                println!(
                    "{:>10}  {:<32} {:<25} {}",
                    a.uid,
                    a.email,
                    a.username.as_deref().unwrap_or("-"),
                    a.display_name
                );
            }
        }
        Command::AccountRemove { email } => {
            if !open()?.remove_account(&email).map_err(|e| e.to_string())? {
                return Err(format!("no account with e-mail {email}"));
            }
            println!("removed {email}");
        }
        Command::AccountSetPicture { email, file } => {
            let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {file}: {e}"))?;
            let db = open()?;
            let a = db.account_by_email(&email).map_err(|e| e.to_string())?;
            let a = a.ok_or_else(|| format!("no account with e-mail {email}"))?;
            let (pic, url) = db.set_picture(a.uid, &bytes).map_err(|e| format!("cannot use {file}: {e}"))?;
            match url {
                Some(u) => println!("picture of {email} set ({} bytes, {}): {u}", bytes.len(), pic.kind.content_type()),
                None => println!(
                    "picture of {email} set ({} bytes, {}); it is published when a server with its HTTP side starts",
                    bytes.len(),
                    pic.kind.content_type()
                ),
            }
        }
        Command::AccountClearPicture { email } => {
            let db = open()?;
            let a = db.account_by_email(&email).map_err(|e| e.to_string())?;
            let a = a.ok_or_else(|| format!("no account with e-mail {email}"))?;
            if !db.clear_picture(a.uid).map_err(|e| e.to_string())? {
                return Err(format!("{email} has no picture"));
            }
            println!("picture of {email} removed");
        }
        Command::Serve => {
            let server = Server::start(args.config.clone()).map_err(|e| format!("cannot start: {e}"))?;
            let addrs: Vec<String> = server.addrs().iter().map(ToString::to_string).collect();
            println!("msim-server listening on {} (database {})", addrs.join(", "), args.config.db);
            if let Some(h) = server.http_addr() {
                println!("msim-server serving pictures on http://{h}");
            }
            if !server.demo_accounts().is_empty() {
                println!("demo accounts (each lists the others as contacts):");
                for (uid, a) in server.demo_accounts() {
                    println!(
                        "  uid {uid:<7} {:<18} password {:<8} username {}",
                        a.email,
                        a.password,
                        a.username.unwrap_or("(none yet)")
                    );
                }
            }
            // Serve until the process is killed; SQLite's WAL keeps every committed change.
            loop {
                std::thread::park();
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs_(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn p(s: &str) -> Result<Args, ParseFailure> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn parses_commands_and_options() {
        let a =
            p("--listen 0.0.0.0:1 --db x.db --demo --ka-interval 5 --idle-timeout 0 --max-outbound-bytes 9 --max-prelogin-per-address 3").unwrap();
        assert_eq!((a.config.max_outbound_bytes, a.config.max_prelogin_per_address), (9, 3));
        let b = p("--login-failures-per-address 3 --login-failures-per-account 0 --login-backoff-max 7 \
                   --login-forget-after 8 --login-log-interval 0")
        .unwrap();
        let l = b.config.login_limits;
        assert_eq!(p("--min-client-version 823").unwrap().config.min_client_version, 823);
        assert_eq!(p("--persist-piece-bytes 0").unwrap().config.persist_piece_bytes, 0);
        assert_eq!((l.per_address_free, l.per_account_free), (3, 0));
        assert_eq!((l.backoff_max, l.forget_after, l.summary_interval), (secs_(7), secs_(8), Duration::ZERO));
        assert_eq!(a.command, Command::Serve);
        assert_eq!((a.config.listen.as_str(), a.config.db.as_str(), a.config.demo), ("0.0.0.0:1", "x.db", true));
        assert_eq!((a.config.ka_interval, a.config.idle_timeout), (Duration::from_secs(5), Duration::ZERO));
        let a = p("account add a@b.c pw --username al --db y.db").unwrap();
        assert_eq!(
            a.command,
            Command::AccountAdd {
                email: "a@b.c".into(),
                password: "pw".into(),
                username: Some("al".into()),
                display_name: None
            }
        );
        assert_eq!(a.config.db, "y.db");
        assert_eq!(p("account list").unwrap().command, Command::AccountList);
        assert_eq!(
            p("account password a@b.c new").unwrap().command,
            Command::AccountPassword { email: "a@b.c".into(), password: "new".into() }
        );
        assert_eq!(
            p("account set-picture a@b.c pic.png").unwrap().command,
            Command::AccountSetPicture { email: "a@b.c".into(), file: "pic.png".into() }
        );
        // The HTTP side: the port after the IM port by default, 0 stays 0, or as given, or off.
        assert_eq!(p("").unwrap().config.http_port, Some(1864));
        assert_eq!(p("--listen 127.0.0.1:0").unwrap().config.http_port, Some(0));
        assert_eq!(p("--http-port 8080").unwrap().config.http_port, Some(8080));
        assert_eq!(p("--no-http").unwrap().config.http_port, None);
        assert_eq!(p("--http-url http://x:1").unwrap().config.http_url.as_deref(), Some("http://x:1"));
        assert_eq!(p("").unwrap().config.listen, DEFAULT_LISTEN);
        // Several --listen: all are served, the first in place of the default.
        let m = p("--listen 0.0.0.0:1863 --demo --listen 0.0.0.0:6660 --listen [::]:443").unwrap().config;
        assert_eq!(m.listen_addrs().collect::<Vec<_>>(), ["0.0.0.0:1863", "0.0.0.0:6660", "[::]:443"]);
        assert!(p("--listen 0.0.0.0:1").unwrap().config.also_listen.is_empty());
        for bad in [
            "--bogus",
            "account",
            "account add x",
            "--ka-interval x",
            "--username u",
            "--db",
            "--http-port x",
            "--http-port 1 --no-http",
            "--listen 127.0.0.1:65535",
            "account set-picture a@b.c",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
        // An empty password is refused, for a new account and a new password alike.
        assert!(matches!(p("account add a@b.c ''").map(|_| ()), Ok(())), "quotes are not shell-parsed here");
        let empty = parse(["account", "add", "a@b.c", ""].map(String::from));
        assert!(matches!(empty, Err(ParseFailure::Invalid(e)) if e.contains("empty")));
        assert!(parse(["account", "password", "a@b.c", ""].map(String::from)).is_err());
        // --version and --help are clap's, answered before anything else runs.
        for flag in ["--version", "--help"] {
            assert!(matches!(p(flag), Err(ParseFailure::Clap(e)) if e.exit_code() == 0), "{flag}");
        }
    }
}
