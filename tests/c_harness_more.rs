//! The second C harness: `tests/c/harness_more.c` covers every callback and session operation that
//! `tests/c/harness.c` does not (username selection, lookups, contacts, blocking, groups, import,
//! mail, server info, progress, trace, unhandled messages), against an in-process msim-server and a
//! scripted server in this file. It prints TAP; its exit code is the number of failed checks. It runs
//! once directly and once under valgrind (no errors, no definite leaks) when valgrind is installed.
//! See docs/C_API_COVERAGE.md.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::client::server;
use common::{compile_c, repo_root, run, scratch_dir};
use msim::protocol::buddy::BmPayload;
use msim::protocol::dict::DictBuilder;
use msim::protocol::kinds::{BmFromServer, ClientMessage, ServerMessage};
use msim::protocol::login::compute_response;
use msim::protocol::persist::{Cmd, PersistReply, PersistRequest};
use msim::protocol::{Framer, Message};
use msim_server::Server;

fn harness() -> &'static PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let exe = scratch_dir().join("harness_more");
        let src = repo_root().join("tests/c/harness_more.c");
        compile_c(&[src.as_path()], &exe, &["-pthread"]).unwrap_or_else(|e| panic!("{e}"));
        exe
    })
}

/// The accounts harness_more.c expects (see its header comment).
fn accounts() -> Server {
    let s = server();
    let a = s.add_account("alice@example.com", "alicepw", Some("alice"), Some("Alice")).unwrap();
    let b = s.add_account("bob@example.com", "bobpw", Some("bob"), Some("Bob")).unwrap();
    let d = s.add_account("dave@example.com", "davepw", Some("dave"), Some("Dave")).unwrap();
    s.add_account("new@example.com", "newpw", None, Some("Carol")).unwrap();
    s.add_contact(a, b, "IM Friends").unwrap();
    s.add_contact(b, a, "IM Friends").unwrap();
    s.add_contact(d, a, "IM Friends").unwrap();
    s
}

const FAKE_EMAIL: &str = "fake@example.com";
const FAKE_PASSWORD: &str = "fakepw";
const FAKE_UID: u32 = 4242;

/// A scripted server for one connection: checks the login, answers the contact-list request with
/// an empty list, then sends an unknown message kind and a persist reply with a request id the
/// client never used (both must reach `on_unhandled`), then a mood and a profile bm (for
/// `on_buddy_notice`), then the SPEC §25 variants of S17 byte for byte: a status list with `caps`
/// and `ts`, a group-chat message and a group-chat exit; it answers the group rename (2/16 PUT with
/// `GroupID`) and delete (2/16 cmd 3) of S17 after checking their bytes. Returns what went wrong,
/// if anything.
fn fake_server(timeout: Duration) -> (u16, JoinHandle<Result<(), String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + timeout;
        let mut stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => return Err(format!("no connection: {e}")),
            }
        };
        stream.set_nonblocking(false).map_err(|e| e.to_string())?;
        let mut framer = Framer::default();
        let nonce: [u8; 64] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
        send(&mut stream, &ServerMessage::Challenge { nonce })?;
        let ClientMessage::Login2(login) = next(&mut stream, &mut framer, deadline)? else {
            return Err("the first message is not login2".into());
        };
        if login.username != FAKE_EMAIL || login.response != compute_response(&nonce, FAKE_EMAIL, FAKE_PASSWORD) {
            return Err(format!("bad login from {}", login.username));
        }
        let nick = "fake".to_string();
        let ok = ServerMessage::LoginOk {
            sesskey: 77,
            proof: nick.clone(),
            userid: FAKE_UID,
            profileid: FAKE_UID,
            uniquenick: nick,
        };
        send(&mut stream, &ok)?;
        loop {
            match next(&mut stream, &mut framer, deadline)? {
                ClientMessage::Persist(req) if (req.dsn, req.lid) == (0, 1) => {
                    let reply = PersistReply::to(&req, FAKE_UID, &DictBuilder::new()).map_err(|e| e.to_string())?;
                    send(&mut stream, &ServerMessage::Persist(reply))?;
                    break;
                }
                _ => {} // own info, IM info, status: no answer needed
            }
        }
        stream.write_all(b"\\futurekind\\1\\greeting\\hello\\final\\").map_err(|e| e.to_string())?;
        let stray =
            PersistReply { cmd: Cmd(257), dsn: 4, uid: FAKE_UID, lid: 3, rid: 999_999, body: b"UserID=1".to_vec() };
        send(&mut stream, &ServerMessage::Persist(stray))?;
        // bm 126 and 124 (SPEC §11.2): msim-server never sends them; on_buddy_notice must.
        for (kind, text) in [(126, "feeling fine"), (124, "")] {
            let notice = BmFromServer {
                kind,
                from: FAKE_UID + 1,
                payload: BmPayload::Text(text.into()),
                date: None,
                cv: None,
                aid: None,
            };
            send(&mut stream, &ServerMessage::Bm(notice))?;
        }
        // S17, SPEC §25: a later server's status list, `caps` and `ts` appended, `ip` non-zero.
        let status =
            b"\\bm\\100\\f\\4243\\msg\\|s|5|ss|away/1afk|ls||ip|1249763340|p|0|caps|557056|ts|1262304000\\final\\";
        stream.write_all(status).map_err(|e| e.to_string())?;
        // S17, SPEC §25: group chat carries `gid` and `aid`; leaving is bm 121 with `gid` and `!!!ExitChat`.
        stream
            .write_all(b"\\bm\\121\\f\\4243\\gid\\77\\aid\\4244\\msg\\<p>hi all</1p>\\final\\")
            .map_err(|e| e.to_string())?;
        stream.write_all(b"\\bm\\121\\f\\4243\\gid\\77\\msg\\!!!ExitChat\\final\\").map_err(|e| e.to_string())?;
        // Until the client logs out and closes.
        loop {
            match next(&mut stream, &mut framer, deadline) {
                Ok(ClientMessage::Logout { .. }) | Err(_) => return Ok(()),
                Ok(ClientMessage::Persist(req)) if (req.dsn, req.lid) == (2, 16) => group_write(&mut stream, &req)?,
                Ok(_) => {}
            }
        }
    });
    (port, handle)
}

/// S17: SPEC §25's group rename (2/16 PUT with `GroupID`) and delete (2/16 cmd 3 with `GroupID`),
/// checked byte for byte and answered as SPEC §10.2 answers 2/16 (the reply bit on the request's
/// cmd, the body echoed).
fn group_write(stream: &mut TcpStream, req: &PersistRequest) -> Result<(), String> {
    let (cmd, want) = match req.cmd.0 {
        2 => (258, &b"GroupID=25760888\x1cGroupName=Old Friends"[..]),
        3 => (259, &b"GroupID=25760888"[..]),
        other => return Err(format!("group write with cmd {other}")),
    };
    if req.body != want || req.uid != Some(FAKE_UID) {
        return Err(format!("group write body {:?} uid {:?}", String::from_utf8_lossy(&req.body), req.uid));
    }
    let mut reply =
        format!("\\persistr\\\\cmd\\{cmd}\\dsn\\2\\uid\\{FAKE_UID}\\lid\\16\\rid\\{}\\body\\", req.rid).into_bytes();
    reply.extend_from_slice(want);
    reply.extend_from_slice(b"\\final\\");
    stream.write_all(&reply).map_err(|e| e.to_string())
}

fn send(stream: &mut TcpStream, m: &ServerMessage) -> Result<(), String> {
    let bytes = m.encode().map_err(|e| e.to_string())?.encode();
    stream.write_all(&bytes).map_err(|e| e.to_string())
}

/// The next client message, or an error at end of stream or `deadline`.
fn next(stream: &mut TcpStream, framer: &mut Framer, deadline: Instant) -> Result<ClientMessage, String> {
    loop {
        if let Some(frame) = framer.next_frame().map_err(|e| e.to_string())? {
            let msg = Message::parse(frame).map_err(|e| e.to_string())?;
            return ClientMessage::decode(&msg).map_err(|e| e.to_string());
        }
        let left = deadline.checked_duration_since(Instant::now()).ok_or("timed out")?;
        stream.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf) {
            Ok(0) => return Err("end of stream".into()),
            Ok(n) => framer.push(&buf[..n]),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Runs `program args…` (the harness or valgrind) with the server and the fake server up.
fn run_against_servers(program: &Path, prefix: &[&str], timeout: Duration) -> Output {
    let s = accounts();
    let (fake_port, fake) = fake_server(timeout);
    let addr = s.addr();
    let (host, port, fake_port) = (addr.ip().to_string(), addr.port().to_string(), fake_port.to_string());
    let mut args = prefix.to_vec();
    args.extend([host.as_str(), port.as_str(), fake_port.as_str()]);
    let out = run(program, &args, timeout).unwrap_or_else(|e| panic!("{e}"));
    // A failed run may never have reached the scripted server: report the harness's output then.
    if out.status.success() {
        let fake = fake.join().expect("scripted server thread");
        assert!(fake.is_ok(), "scripted server: {fake:?}\n{}", common::output_text(&out));
    }
    out
}

#[test]
fn c_harness_more_scenarios_pass() {
    let out = run_against_servers(harness(), &[], Duration::from_secs(120));
    common::assert_tap_all_ok(&out, "harness_more", 100);
}

#[test]
fn c_harness_more_scenarios_pass_under_valgrind_without_errors_or_leaks() {
    if !Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success()) {
        assert!(std::env::var_os("CI").is_none(), "valgrind is not installed, but CI is set");
        eprintln!("skipped: valgrind is not installed");
        return;
    }
    let exe = harness().to_str().expect("UTF-8 path").to_owned();
    let supp = repo_root().join("tests/valgrind.supp");
    let supp_arg = format!("--suppressions={}", supp.display());
    let mut vg = vec!["--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite"];
    if supp.is_file() {
        vg.push(&supp_arg);
    }
    vg.push(&exe);
    let out = run_against_servers(Path::new("valgrind"), &vg, Duration::from_secs(600));
    let all = common::output_text(&out);
    assert!(out.status.code() != Some(99), "valgrind reported errors or definite leaks:\n{all}");
    assert!(all.contains("ERROR SUMMARY: 0 errors"), "valgrind did not report a clean run:\n{all}");
    common::assert_tap_all_ok(&out, "harness_more under valgrind", 100);
}

/// docs/C_API_COVERAGE.md has a row for every function and every callback of include/msim.h.
#[test]
fn coverage_doc_has_a_row_for_every_export_and_callback() {
    let header = std::fs::read_to_string(repo_root().join("include/msim.h")).unwrap();
    let doc = std::fs::read_to_string(repo_root().join("docs/C_API_COVERAGE.md")).unwrap();
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    // Declarations start at column 0 (struct members are indented): `… msim_name(`.
    let functions: Vec<String> = header
        .lines()
        .filter(|l| !l.starts_with([' ', '/', '#', '}']) && !l.starts_with("typedef"))
        .flat_map(|l| l.match_indices("msim_").map(|(i, _)| ident(&l[i..])).filter(|n| l.contains(&format!("{n}("))))
        // Function-like macros a host calls like functions (`msim_session_new(…)`).
        .chain(
            header.lines().filter_map(|l| l.strip_prefix("#define msim_")).map(|rest| format!("msim_{}", ident(rest))),
        )
        .collect();
    let callbacks: Vec<String> = header.split("(*on_").skip(1).map(|rest| format!("on_{}", ident(rest))).collect();
    assert!(functions.len() >= 38 && functions.contains(&"msim_session_get_uid".to_string()), "{functions:?}");
    assert_eq!(callbacks.len(), 33, "{callbacks:?}");
    for name in functions.iter().chain(&callbacks) {
        assert!(doc.contains(&format!("| `{name}` |")), "docs/C_API_COVERAGE.md has no row for {name}");
    }
}
