//! The `msim-server` binary's log (stderr) and output never contain a password or a login
//! `response`: a good login, a wrong password, an unknown e-mail and a malformed login2 are all
//! logged, none with the secret.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Client, TempDir};
use msim::protocol::kinds::ServerMessage;
use msim::protocol::login::compute_response_b64;

const BIN: &str = env!("CARGO_BIN_EXE_msim-server");
const PASSWORD: &str = "Tr0ub4dor&3";
const WRONG: &str = "correct-horse-battery";

#[test]
fn the_server_log_never_contains_a_password_or_a_response() {
    let dir = TempDir::new("log-secrets");
    let db = dir.0.join("msim.db").to_string_lossy().into_owned();
    let add = Command::new(BIN)
        .args(["--db", &db, "account", "add", "sec@example.com", PASSWORD, "--username", "sec"])
        .output()
        .unwrap();
    assert!(add.status.success(), "{add:?}");
    let mut cli_out = String::from_utf8_lossy(&add.stdout).into_owned();
    cli_out.push_str(&String::from_utf8_lossy(&add.stderr));

    let mut child = Command::new(BIN)
        .args(["--db", &db, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr: SocketAddr =
        line.split_whitespace().nth(3).and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("{line}"));
    let stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut s);
        s
    });

    let mut responses = Vec::new();
    // A good login, with some traffic.
    let mut good = Client::login(addr, "sec@example.com", PASSWORD);
    responses.push(compute_response_b64(&good.nonce, "sec@example.com", PASSWORD));
    good.im(good.uid, "note to self");
    good.drain(Duration::from_millis(200));
    // A wrong password, an unknown e-mail.
    let (bad, answer) = Client::try_login(addr, "sec@example.com", WRONG);
    assert!(matches!(answer, ServerMessage::Error { code: 260, .. }), "{answer:?}");
    responses.push(compute_response_b64(&bad.nonce, "sec@example.com", WRONG));
    let (nobody, answer) = Client::try_login(addr, "nobody@example.com", PASSWORD);
    assert!(matches!(answer, ServerMessage::Error { code: 260, .. }), "{answer:?}");
    responses.push(compute_response_b64(&nobody.nonce, "nobody@example.com", PASSWORD));
    // A login2 whose response is not base64 (carrying the password in clear).
    let mut raw = Client::connect(addr);
    raw.send_raw(
        format!("\\login2\\196610\\username\\sec@example.com\\response\\{PASSWORD}\\clientver\\697\\final\\")
            .as_bytes(),
    );
    raw.drain(Duration::from_millis(200));
    drop((good, bad, nobody, raw));
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let mut rest = String::new();
    let _ = stdout.read_to_string(&mut rest);
    let log = log.join().unwrap();

    for event in ["logged in as uid", "bad password", "unknown e-mail", "not valid base64"] {
        assert!(log.contains(event), "the log records `{event}`: {log}");
    }
    let all = format!("{cli_out}{line}{rest}{log}");
    for secret in [PASSWORD, WRONG].iter().map(|s| s.to_string()).chain(responses) {
        assert!(!all.contains(&secret), "`{secret}` appears in the server's output:\n{all}");
    }
}
