//! The command line of `msim-server` (hand-parsed; the grammar is small):
//!
//! ```text
//! msim-server [--listen ADDR]... [--db PATH] [--demo] [--ka-interval SECS] [--idle-timeout SECS]
//!               [--login-timeout SECS] [--max-connections N] [--max-prelogin-per-address N]
//!               [--max-outbound-bytes N] [--login-failures-per-address N] [--login-failures-per-account N]
//!               [--login-backoff-max SECS] [--login-forget-after SECS] [--login-log-interval SECS]
//!               [--min-client-version BUILD] [--persist-piece-bytes N] [--quiet]
//! msim-server [--db PATH] account add EMAIL PASSWORD [--username U] [--display-name D]
//! msim-server [--db PATH] account password EMAIL PASSWORD
//! msim-server [--db PATH] account list
//! msim-server [--db PATH] account remove EMAIL
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
  msim-server [--db PATH] account add EMAIL PASSWORD [--username U] [--display-name D]
  msim-server [--db PATH] account password EMAIL PASSWORD
  msim-server [--db PATH] account list
  msim-server [--db PATH] account remove EMAIL

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
backoff maximum between attempts; an account's limit slows only addresses that failed on it. --demo seeds demo accounts and prints them.";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Serve,
    AccountAdd { email: String, password: String, username: Option<String>, display_name: Option<String> },
    AccountPassword { email: String, password: String },
    AccountList,
    AccountRemove { email: String },
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
        _ => return Err(format!("unexpected arguments: {}", p.join(" "))),
    };
    if (username.is_some() || display_name.is_some()) && !matches!(command, Command::AccountAdd { .. }) {
        return Err("--username and --display-name only go with `account add`".into());
    }
    Ok(Args { command, config })
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
        Command::Serve => {
            let server = Server::start(args.config.clone()).map_err(|e| format!("cannot start: {e}"))?;
            let addrs: Vec<String> = server.addrs().iter().map(ToString::to_string).collect();
            println!("msim-server listening on {} (database {})", addrs.join(", "), args.config.db);
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
        assert_eq!(p("").unwrap().config.listen, DEFAULT_LISTEN);
        // Several --listen: all are served, the first in place of the default.
        let m = p("--listen 0.0.0.0:1863 --demo --listen 0.0.0.0:6660 --listen [::]:443").unwrap().config;
        assert_eq!(m.listen_addrs().collect::<Vec<_>>(), ["0.0.0.0:1863", "0.0.0.0:6660", "[::]:443"]);
        assert!(p("--listen 0.0.0.0:1").unwrap().config.also_listen.is_empty());
        for bad in ["--bogus", "account", "account add x", "--ka-interval x", "--username u", "--db"] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }
}
