//! The command line of `msim-server` (hand-parsed; the grammar is small):
//!
//! ```text
//! msim-server [--listen ADDR]... [--db PATH] [--demo] [--ka-interval SECS] [--idle-timeout SECS]
//!               [--login-timeout SECS] [--max-connections N] [--max-prelogin-per-address N]
//!               [--max-outbound-bytes N] [--login-failures-per-address N] [--login-failures-per-account N]
//!               [--login-backoff-max SECS] [--login-forget-after SECS] [--login-log-interval SECS]
//!               [--min-client-version BUILD] [--persist-piece-bytes N] [--quiet]
//!               [--http-port N | --no-http] [--http-url URL]
//! msim-server [--db PATH] account add EMAIL PASSWORD [--username U] [--display-name D]
//! msim-server [--db PATH] account password EMAIL PASSWORD
//! msim-server [--db PATH] account list
//! msim-server [--db PATH] account remove EMAIL
//! msim-server [--db PATH] account set-picture EMAIL FILE
//! msim-server [--db PATH] account clear-picture EMAIL
//! ```
//! Options may appear anywhere. Passwords are hashed before storage and never printed.

use std::time::Duration;

use crate::db::Db;
use crate::{Config, Server};

/// Default database file, in the working directory.
pub const DEFAULT_DB: &str = "msim-server.db";
/// Default listen address: loopback only, the protocol's port (SPEC §1).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:1863";

pub const USAGE: &str = "usage:
  msim-server [--listen ADDR]... [--db PATH] [--demo] [--ka-interval SECS] [--idle-timeout SECS]
              [--login-timeout SECS] [--max-connections N] [--max-prelogin-per-address N]
              [--max-outbound-bytes N] [--login-failures-per-address N] [--login-failures-per-account N]
              [--login-backoff-max SECS] [--login-forget-after SECS] [--login-log-interval SECS]
              [--min-client-version BUILD] [--persist-piece-bytes N] [--quiet]
              [--http-port N | --no-http] [--http-url URL]
  msim-server [--db PATH] account add EMAIL PASSWORD [--username U] [--display-name D]
  msim-server [--db PATH] account password EMAIL PASSWORD
  msim-server [--db PATH] account list
  msim-server [--db PATH] account remove EMAIL
  msim-server [--db PATH] account set-picture EMAIL FILE
  msim-server [--db PATH] account clear-picture EMAIL

--listen may be given several times to serve several addresses (e.g. 1863 and the fallback ports
6660 6661 6662 6665 6668 6669 80 443; ports below 1024 need CAP_NET_BIND_SERVICE).
defaults: --listen 127.0.0.1:1863, --db msim-server.db, --ka-interval 60, --idle-timeout 180,
--login-timeout 60, --max-connections 20000, --max-prelogin-per-address 64, --max-outbound-bytes 2097152,
--login-failures-per-address 10, --login-failures-per-account 10, --login-backoff-max 300,
--login-forget-after 900, --login-log-interval 60, --min-client-version 0, --persist-piece-bytes 65536
(0 disables keepalives / the dead-connection limit / the login limit / a connection cap /
a failed-login limit / the failed-login summary (a line per failure instead) / the client version
check, which refuses builds below BUILD with error 267 / cutting long persist replies into mtf
pieces; a logged-in client may be silent). Past its free failed logins, an address waits 1 s, then 2, 4, … up to the
backoff maximum between attempts; an account's limit slows only addresses that failed on it. --demo seeds demo accounts and prints them.
Profile pictures (set-picture: PNG, GIF or JPEG, at most 256 KiB and 1024x1024) are served over
HTTP on the listen address, port --http-port (default: the listen port + 1; 0 picks a free one),
as http://ADDR:PORT/pictures/... unless --http-url gives another base; --no-http turns that off.";

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
    Help,
}

/// Parsed arguments: the command plus the server settings.
#[derive(Debug, Clone)]
pub struct Args {
    pub command: Command,
    pub config: Config,
}

fn secs(flag: &str, v: &str) -> Result<Duration, String> {
    v.parse::<u64>().map(Duration::from_secs).map_err(|_| format!("{flag} needs a whole number of seconds, got `{v}`"))
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{flag}: `{v}` is not a number"))
}

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Args, String> {
    let mut config = Config { listen: DEFAULT_LISTEN.into(), db: DEFAULT_DB.into(), ..Config::default() };
    let mut positional = Vec::new();
    let (mut username, mut display_name) = (None, None);
    let (mut http_port, mut no_http) = (None, false);
    let mut listen_given = false;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| format!("{flag} needs a value"));
        match a.as_str() {
            // Given several times, every address is served (SPEC §25's fallback ports); the first
            // replaces the default.
            "--listen" if listen_given => config.also_listen.push(value("--listen")?),
            "--listen" => {
                config.listen = value("--listen")?;
                listen_given = true;
            }
            "--db" => config.db = value("--db")?,
            "--demo" => config.demo = true,
            "--quiet" => config.log = false,
            "--ka-interval" => config.ka_interval = secs("--ka-interval", &value("--ka-interval")?)?,
            "--idle-timeout" => config.idle_timeout = secs("--idle-timeout", &value("--idle-timeout")?)?,
            "--login-timeout" => config.login_timeout = secs("--login-timeout", &value("--login-timeout")?)?,
            "--max-connections" => config.max_connections = number("--max-connections", &value("--max-connections")?)?,
            "--max-prelogin-per-address" => {
                config.max_prelogin_per_address =
                    number("--max-prelogin-per-address", &value("--max-prelogin-per-address")?)?
            }
            "--max-outbound-bytes" => {
                config.max_outbound_bytes = number("--max-outbound-bytes", &value("--max-outbound-bytes")?)?
            }
            "--login-failures-per-address" => {
                config.login_limits.per_address_free =
                    number("--login-failures-per-address", &value("--login-failures-per-address")?)?
            }
            "--login-failures-per-account" => {
                config.login_limits.per_account_free =
                    number("--login-failures-per-account", &value("--login-failures-per-account")?)?
            }
            "--login-backoff-max" => {
                config.login_limits.backoff_max = secs("--login-backoff-max", &value("--login-backoff-max")?)?
            }
            "--login-forget-after" => {
                config.login_limits.forget_after = secs("--login-forget-after", &value("--login-forget-after")?)?
            }
            "--login-log-interval" => {
                config.login_limits.summary_interval = secs("--login-log-interval", &value("--login-log-interval")?)?
            }
            "--http-port" => {
                let v = value("--http-port")?;
                http_port = Some(v.parse::<u16>().map_err(|_| format!("--http-port: `{v}` is not a port number"))?)
            }
            "--no-http" => no_http = true,
            "--http-url" => config.http_url = Some(value("--http-url")?),
            "--persist-piece-bytes" => {
                config.persist_piece_bytes = number("--persist-piece-bytes", &value("--persist-piece-bytes")?)?
            }
            "--min-client-version" => {
                config.min_client_version = number("--min-client-version", &value("--min-client-version")?)?
            }
            "--username" => username = Some(value("--username")?),
            "--display-name" => display_name = Some(value("--display-name")?),
            "-h" | "--help" => return Ok(Args { command: Command::Help, config }),
            s if s.starts_with("--") => return Err(format!("unknown option `{s}`")),
            _ => positional.push(a),
        }
    }
    let p: Vec<&str> = positional.iter().map(String::as_str).collect();
    let command = match p.as_slice() {
        [] => Command::Serve,
        ["account", "add", email, password] => Command::AccountAdd {
            email: (*email).into(),
            password: (*password).into(),
            username: username.take(),
            display_name: display_name.take(),
        },
        ["account", "password", email, password] => {
            Command::AccountPassword { email: (*email).into(), password: (*password).into() }
        }
        ["account", "list"] => Command::AccountList,
        ["account", "remove", email] => Command::AccountRemove { email: (*email).into() },
        ["account", "set-picture", email, file] => {
            Command::AccountSetPicture { email: (*email).into(), file: (*file).into() }
        }
        ["account", "clear-picture", email] => Command::AccountClearPicture { email: (*email).into() },
        _ => return Err(format!("unexpected arguments: {}", p.join(" "))),
    };
    if (username.is_some() || display_name.is_some()) && !matches!(command, Command::AccountAdd { .. }) {
        return Err("--username and --display-name only go with `account add`".into());
    }
    if no_http && http_port.is_some() {
        return Err("--http-port and --no-http contradict each other".into());
    }
    // The HTTP side: the given port, else the one after the IM port (a free one when that is 0).
    config.http_port = if no_http {
        None
    } else {
        match http_port {
            Some(p) => Some(p),
            None => Some(default_http_port(&config.listen)?),
        }
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
        Err(e) => {
            eprintln!("msim-server: {e}\n{USAGE}");
            return 2;
        }
    };
    match execute(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("msim-server: {e}");
            1
        }
    }
}

fn execute(args: Args) -> Result<(), String> {
    let open = || Db::open(&args.config.db).map_err(|e| format!("cannot open {}: {e}", args.config.db));
    match args.command {
        Command::Help => println!("{USAGE}"),
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

    fn p(s: &str) -> Result<Args, String> {
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
    }
}
