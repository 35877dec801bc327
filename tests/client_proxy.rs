//! Connecting through real proxies on 127.0.0.1 (issue "prpl-msim in Pidgin", Proxy row):
//! Debian's `microsocks` (SOCKS5 with username/password) and `tinyproxy` (HTTP CONNECT with
//! Basic authentication), each started by the test, in front of msim-server.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::client::{config, server, Client};
use msim::client::{Config, Event, LoginFailure, Proxy, ProxyKind};
use zeroize::Zeroizing;

struct Daemon {
    child: Child,
    pub port: u16,
    log: Option<std::path::PathBuf>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        self.log.as_ref().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the proxy did not start listening on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn available(bin: &str, package: &str) -> bool {
    let ok = Command::new(bin).arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !ok {
        eprintln!("SKIPPED: {bin} not installed (apt-get install -y {package}); proxy test not run");
    }
    ok
}

fn microsocks() -> Option<Daemon> {
    if !available("microsocks", "microsocks") {
        return None;
    }
    let port = free_port();
    let child = Command::new("microsocks")
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-u", "proxyuser", "-P", "proxy pw"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    wait_listening(port);
    Some(Daemon { child, port, log: None })
}

fn tinyproxy() -> Option<Daemon> {
    if !available("tinyproxy", "tinyproxy") {
        return None;
    }
    let port = free_port();
    let dir = common::scratch_dir().join(format!("tinyproxy-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("tinyproxy.log");
    let conf = dir.join("tinyproxy.conf");
    // No ConnectPort line: CONNECT to any port (msim-server's is random).
    let text = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogLevel Connect\nLogFile \"{}\"\nMaxClients 20\n\
         Allow 127.0.0.1\nBasicAuth proxyuser proxypw\n",
        log.display()
    );
    std::fs::write(&conf, text).unwrap();
    let child = Command::new("tinyproxy")
        .arg("-d")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    wait_listening(port);
    Some(Daemon { child, port, log: Some(log) })
}

fn via(kind: ProxyKind, port: u16, user: &str, pw: &str) -> Config {
    let proxy =
        Proxy { kind, host: "127.0.0.1".into(), port, username: user.into(), password: Zeroizing::new(pw.into()) };
    Config { proxy: Some(proxy), ..config() }
}

fn login_fails_with(c: &mut Client, words: &str) {
    let end = c.wait(|e| matches!(e, Event::LoginFailed { .. } | Event::SignedOn { .. }));
    match end {
        Event::LoginFailed { reason: LoginFailure::Network, text, .. } => assert!(text.contains(words), "{text}"),
        other => panic!("expected a failed login mentioning {words:?}: {other:?}"),
    }
}

#[test]
fn socks5_with_a_password_carries_the_session_and_a_wrong_one_is_refused_clearly() {
    let Some(mut proxy) = microsocks() else { return };
    let srv = server();
    srv.add_account("px@example.com", "pxpw", Some("px"), None).unwrap();
    let mut c =
        Client::connect(&srv, "px@example.com", "pxpw", via(ProxyKind::Socks5, proxy.port, "proxyuser", "proxy pw"));
    c.wait(|e| matches!(e, Event::SignedOn { .. }));
    let id = c.session.send_im("px", "through SOCKS5").unwrap();
    c.wait(|e| matches!(e, Event::ImSent { id: i } if *i == id));
    // The tunnel is the proxy's: when the proxy goes, so does the session.
    proxy.kill();
    c.wait(|e| matches!(e, Event::Disconnected { .. }));

    let proxy = microsocks().unwrap();
    let mut bad =
        Client::connect(&srv, "px@example.com", "pxpw", via(ProxyKind::Socks5, proxy.port, "proxyuser", "nope"));
    login_fails_with(&mut bad, "refused the username or password");
    let mut none = Client::connect(&srv, "px@example.com", "pxpw", via(ProxyKind::Socks5, proxy.port, "", ""));
    login_fails_with(&mut none, "requires a username and password");
}

#[test]
fn http_connect_with_basic_auth_carries_the_session_and_a_refused_password_is_reported() {
    let Some(proxy) = tinyproxy() else { return };
    let srv = server();
    srv.add_account("hx@example.com", "hxpw", Some("hx"), None).unwrap();
    let mut c =
        Client::connect(&srv, "hx@example.com", "hxpw", via(ProxyKind::Http, proxy.port, "proxyuser", "proxypw"));
    c.wait(|e| matches!(e, Event::SignedOn { .. }));
    let id = c.session.send_im("hx", "through HTTP CONNECT").unwrap();
    c.wait(|e| matches!(e, Event::ImSent { id: i } if *i == id));
    let want = format!("CONNECT 127.0.0.1:{}", srv.addr().port());
    assert!(proxy.log().contains(&want), "tinyproxy did not log {want:?}:\n{}", proxy.log());
    drop(c);

    let mut bad =
        Client::connect(&srv, "hx@example.com", "hxpw", via(ProxyKind::Http, proxy.port, "proxyuser", "wrong"));
    login_fails_with(&mut bad, "refused the username or password");
}
