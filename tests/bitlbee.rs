//! prpl-msim in BitlBee (issue 12): Debian's `bitlbee-libpurple` (an IRC gateway built on
//! libpurple) started in a temp dir on a loopback port with a private `bitlbee.conf` whose
//! `PluginDir` holds `purple/libmsim-purple.so` and `libmsim.so` (libpurple 2.x does not search
//! ~/.purple/plugins by itself; examples-c/purple/README.md, "BitlBee"). A scripted IRC client
//! registers, adds an msim account (`account add msim …`), signs on against msim-server, and
//! checks: a buddy appears in &bitlbee, IMs both ways, an offline IM from tom arrives named tom,
//! the IRC user's AWAY reaches msim as away with its message, and a buddy going away loses its
//! voice. Skips loudly without bitlbee (`scripts/install-deps.sh` installs bitlbee-libpurple).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::client::Client;
use common::purple::{build_plugin, fresh_dir, pkg_config};
use msim::client::{Event, OwnStatus};
use msim::protocol::status::Presence;

const WAIT: Duration = Duration::from_secs(20);
const NICK: &str = "tester";

struct Irc {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    seen: Vec<String>,
}

impl Irc {
    fn connect(port: u16) -> Irc {
        let deadline = Instant::now() + WAIT;
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => panic!("bitlbee does not listen on {port}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        Irc { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream, seen: Vec::new() }
    }

    fn send(&mut self, line: &str) {
        println!("> {line}");
        self.writer.write_all(format!("{line}\r\n").as_bytes()).unwrap();
    }

    /// A line from root in &bitlbee, as a command's answer.
    fn root(&mut self, cmd: &str) {
        self.send(&format!("PRIVMSG &bitlbee :{cmd}"));
    }

    /// Reads lines (answering PINGs) until one satisfies `pred`; Err names `what`.
    fn wait(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> Result<String, String> {
        let deadline = Instant::now() + WAIT;
        let mut line = String::new();
        while Instant::now() < deadline {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => return Err(format!("bitlbee closed the connection while waiting for {what}")),
                Ok(_) => {
                    let l = line.trim_end().to_string();
                    println!("< {l}");
                    if let Some(rest) = l.strip_prefix("PING ") {
                        self.send(&format!("PONG {rest}"));
                    }
                    self.seen.push(l.clone());
                    if pred(&l) {
                        return Ok(l);
                    }
                }
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(format!("reading from bitlbee: {e}")),
            }
        }
        Err(format!("timed out waiting for {what}"))
    }
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have_bitlbee() -> bool {
    let ok = Command::new("bitlbee").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !ok {
        let _ = writeln!(
            std::io::stderr(),
            "\n************************************************************************\n\
             SKIPPED: bitlbee not installed: apt-get install -y bitlbee-libpurple\n\
             \x20        (or run scripts/install-deps.sh as root)\n\
             ************************************************************************"
        );
    }
    ok && pkg_config(&["--exists", "purple"]).is_some()
}

/// The plugin and libmsim.so in `<dir>/plugins/purple/`, and a private bitlbee.conf.
fn bitlbee_dir(port: u16) -> PathBuf {
    let dir = fresh_dir("bitlbee");
    let build = dir.join("build");
    std::fs::create_dir_all(&build).unwrap();
    let plugin = build_plugin(&build, &[]);
    let purple = dir.join("plugins/purple");
    std::fs::create_dir_all(&purple).unwrap();
    std::fs::create_dir_all(dir.join("users")).unwrap();
    std::fs::copy(plugin, purple.join("libmsim-purple.so")).unwrap();
    std::fs::copy(common::lib_dir().join("libmsim.so"), purple.join("libmsim.so")).unwrap();
    let conf = format!(
        "[settings]\nRunMode = ForkDaemon\nDaemonInterface = 127.0.0.1\nDaemonPort = {port}\nAuthMode = Open\n\
         ConfigDir = {users}\nPluginDir = {plugins}\nPidFile = {pid}\n",
        users = dir.join("users").display(),
        plugins = dir.join("plugins").display(),
        pid = dir.join("bitlbee.pid").display()
    );
    std::fs::write(dir.join("bitlbee.conf"), conf).unwrap();
    dir
}

#[test]
fn bitlbee_runs_prpl_msim_registers_signs_on_ims_both_ways_and_goes_away() {
    if !have_bitlbee() {
        return;
    }
    let s = common::client::server_with(msim_server::Config {
        log: false,
        demo: true,
        http_port: Some(0),
        ..Default::default()
    });
    // tom writes to alice while she is offline (SPEC §11.1: delivered at her login, named).
    let tom = Client::signed_on(&s, "tom@example.com", "tompw");
    tom.session.send_im("alice", "while you were away").unwrap();
    let mut bob = Client::signed_on(&s, "bob@example.com", "bobpw");

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = bitlbee_dir(port);
    let log = std::fs::File::create(dir.join("bitlbee.log")).unwrap();
    let child = Command::new("bitlbee")
        // ForkDaemon (one process per client): libpurple refuses BitlBee's single-process daemon mode.
        .args(["-n", "-v", "-F", "-c"])
        .arg(dir.join("bitlbee.conf"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start bitlbee");
    let _daemon = Daemon(child);
    let started = Instant::now();

    let mut irc = Irc::connect(port);
    let mut failures = Vec::new();
    let mut check = |what: &str, r: Result<String, String>| match r {
        Ok(_) => println!("ok bitlbee - {what}"),
        Err(e) => {
            println!("not ok bitlbee - {what} ({e})");
            failures.push(format!("{what}: {e}"));
        }
    };
    irc.send(&format!("NICK {NICK}"));
    irc.send(&format!("USER {NICK} 0 * :msim test"));
    let r = irc.wait("the control channel", |l| l.contains("JOIN :&bitlbee"));
    check("IRC login joins &bitlbee", r);
    irc.root("register tpw");
    let r = irc.wait("register", |l| l.contains("root!") && l.contains("successfully"));
    check("register", r);
    irc.root("account add msim alice@example.com alicepw");
    let r = irc.wait("account add", |l| l.contains("Account successfully added with tag msim"));
    check("account add msim (the protocol comes from the private PluginDir)", r);
    irc.root("account msim set server 127.0.0.1");
    irc.root(&format!("account msim set port {}", s.addr().port()));
    irc.root("account msim on");
    let r = irc.wait("sign-on", |l| l.contains("msim - Logging in: Logged in") || l.contains("msim - Login error"));
    let signed_on = r.as_ref().is_ok_and(|l| l.contains("Logged in"));
    check("the msim account signs on against msim-server", r.and_then(|l| if signed_on { Ok(l) } else { Err(l) }));
    assert!(signed_on, "no sign-on: {failures:#?}");
    let r = irc.wait("bob in &bitlbee", |l| l.starts_with(":bob!") && l.contains("JOIN :&bitlbee"));
    check("bob (online) joins &bitlbee", r);
    let offline = irc.seen.iter().any(|l| l.starts_with(":tom!") && l.contains("while you were away"));
    let r = if offline {
        Ok(String::new())
    } else {
        irc.wait("tom's offline IM", |l| {
            l.starts_with(":tom!") && l.contains(&format!("PRIVMSG {NICK} :while you were away"))
        })
    };
    check("tom's offline IM arrives from tom (named, not a uid)", r);

    // IRC -> msim
    irc.send("PRIVMSG bob :hello bob, from IRC");
    let got =
        bob.collect_until(|e| matches!(e, Event::ImReceived { plain, .. } if plain.contains("hello bob, from IRC")));
    check("an IM from IRC reaches bob", got.then_some(String::new()).ok_or_else(|| "bob got nothing".into()));
    // msim -> IRC
    bob.session.send_im("alice", "hi alice on IRC").unwrap();
    let r = irc.wait("bob's IM", |l| l.starts_with(":bob!") && l.contains(&format!("PRIVMSG {NICK} :hi alice on IRC")));
    check("an IM from bob reaches the IRC user as a private message", r);
    // Away: the IRC user's AWAY is alice's away status with its message.
    irc.send("AWAY :gone fishing");
    let away = bob.collect_until(|e| {
        matches!(e, Event::BuddyStatus { username: Some(u), presence: Presence::Away, headline, .. }
            if u == "alice" && headline.contains("gone fishing"))
    });
    check(
        "the IRC user's AWAY reaches bob as alice away with the message",
        away.then_some(String::new()).ok_or_else(|| "no away".into()),
    );
    // A buddy going away loses its voice in &bitlbee (BitlBee's away_devoice).
    bob.session.set_status(OwnStatus::Away, "lunch").unwrap();
    let r = irc.wait("bob devoiced", |l| l.contains("MODE &bitlbee -v bob"));
    check("bob going away shows in &bitlbee (devoiced)", r);
    println!("# BitlBee run: {:.1} s", started.elapsed().as_secs_f64());
    drop(tom);
    assert!(
        failures.is_empty(),
        "{failures:#?}\n--- bitlbee's log\n{}",
        std::fs::read_to_string(dir.join("bitlbee.log")).unwrap_or_default()
    );
}

trait Until {
    /// Whether an event matching `pred` arrives within the wait.
    fn collect_until(&mut self, pred: impl Fn(&Event) -> bool) -> bool;
}

impl Until for Client {
    fn collect_until(&mut self, pred: impl Fn(&Event) -> bool) -> bool {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if !self.collect_for(Duration::from_millis(100), &pred).is_empty() {
                return true;
            }
        }
        false
    }
}
