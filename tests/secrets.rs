//! Secrets: the password and the login `response` never appear in a trace (Rust events or the C
//! trace callback), in any event, or in `Debug` output; after login no plaintext copy of the
//! password is left in the process's memory. (The server's log is checked in
//! `server/tests/log_secrets.rs`.)

mod common;

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::raw::{c_char, c_void};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::client::c_options;
use common::hostile::{config, HostileServer, Probe, EMAIL, PASSWORD};
use msim::client::{trace::REDACTED, Config, Credentials, Event};
use msim::ffi::callbacks::msim_callbacks;
use msim::ffi::msim_result;
use msim::ffi::session::*;
use msim::ffi::types::{msim_direction, msim_dispatch};
use zeroize::Zeroizing;

/// A hostile-fixture server that remembers the base64 `response` the client sent.
fn recording_server() -> (HostileServer, Arc<Mutex<Option<String>>>) {
    let response = Arc::new(Mutex::new(None));
    let r2 = response.clone();
    let srv = HostileServer::start(move |c| {
        c.handshake();
        let login2 = c.received.iter().find(|m| m.is_kind("login2")).expect("login2");
        let raw = login2.get_raw("response").expect("response field");
        *r2.lock().unwrap() = Some(String::from_utf8_lossy(raw).into_owned());
        c.serve_for(Duration::from_secs(20));
    });
    (srv, response)
}

/// The response the server recorded. Its script stores it after the handshake, which can be after
/// the client has already signed on and disconnected when the machine is loaded: wait for it.
fn recorded(response: &Mutex<Option<String>>) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(r) = response.lock().unwrap().clone() {
            return r;
        }
        assert!(Instant::now() < deadline, "the server never recorded a login2");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn assert_clean(frames: &[String], response_b64: &str) {
    assert!(response_b64.len() > 40, "{response_b64}");
    let login = frames.iter().find(|t| t.contains("\\login2\\")).expect("the login2 frame was traced");
    assert!(login.contains(&format!("\\response\\{REDACTED}\\")), "{login}");
    for t in frames {
        assert!(!t.contains(PASSWORD), "password in trace: {t}");
        assert!(!t.contains(response_b64), "response in trace: {t}");
    }
}

#[test]
fn traces_redact_the_response_and_never_show_the_password() {
    let (srv, response) = recording_server();
    let mut p = Probe::connect(srv.addr(), Config { trace: true, ..config() });
    p.wait("sign-on", |e| matches!(e, Event::SignedOn { .. }));
    p.session.disconnect().unwrap();
    p.wait_end();
    let response = recorded(&response);
    let frames: Vec<String> = p
        .seen
        .iter()
        .filter_map(|e| match e {
            Event::Trace { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert!(frames.len() >= 8, "{frames:?}");
    assert_clean(&frames, &response);
    // No event of any kind, nor the credentials' Debug, shows either.
    let all = format!("{:?}", p.seen);
    assert!(!all.contains(PASSWORD) && !all.contains(&response));
    let creds = Credentials { email: EMAIL.into(), password: PASSWORD.into() };
    assert!(!format!("{creds:?}").contains(PASSWORD));
}

unsafe extern "C" fn on_trace(ud: *mut c_void, _dir: msim_direction, frame: *const c_char) {
    let frames = &*(ud as *const Mutex<Vec<String>>);
    frames.lock().unwrap().push(CStr::from_ptr(frame).to_string_lossy().into_owned());
}

#[test]
fn the_c_trace_callback_redacts_the_response() {
    let (srv, response) = recording_server();
    let frames: Box<Mutex<Vec<String>>> = Box::default();
    let cb = msim_callbacks { on_trace: Some(on_trace), ..Default::default() };
    unsafe {
        let o = c_options(msim_dispatch::Thread);
        let s = msim_session_new_ex(&cb, &*frames as *const _ as *mut c_void, &o);
        let host = CString::new(srv.addr().ip().to_string()).unwrap();
        let (email, pw) = (CString::new(EMAIL).unwrap(), CString::new(PASSWORD).unwrap());
        assert_eq!(
            msim_session_connect(s, host.as_ptr(), srv.addr().port(), email.as_ptr(), pw.as_ptr()),
            msim_result::Ok
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while msim_session_get_state(s) as u32 != 6 {
            assert!(Instant::now() < deadline, "no sign-on");
            std::thread::sleep(Duration::from_millis(10));
        }
        msim_session_free(s);
    }
    let response = recorded(&response);
    assert_clean(&frames.lock().unwrap(), &response);
}

/// Readable, writable, private mappings of this process: heap, malloc arenas, thread stacks.
///
/// Sorted and merged: other threads map and grow memory (a malloc arena extends its writable
/// part) while the kernel produces `/proc/self/maps`, and a map read across such a change can list
/// one range twice, old and grown — whose bytes were then scanned, and a password in them counted,
/// twice (seen in CI as "[1, 1, 1] -> [2, 1, 1]" with both matches at one address).
fn writable_regions() -> Vec<(u64, u64)> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut regions: Vec<(u64, u64)> = maps
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let range = it.next()?;
            let perms = it.next()?;
            if !perms.starts_with("rw") {
                return None;
            }
            let path = l.split_whitespace().nth(5).unwrap_or("");
            // File-backed data (the binary's .data/.bss) is skipped: the test's own constants
            // live there. Anonymous memory, [heap] and [stack] are scanned.
            if !(path.is_empty() || path.starts_with('[')) || path == "[vvar]" || path == "[vsyscall]" {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            Some((u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?))
        })
        .collect();
    regions.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(regions.len());
    for (start, end) in regions {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// How many times each needle occurs in this process's writable memory (excluding the scan
/// buffer itself, which holds a copy of whatever it read last). Allocation-free while scanning,
/// so the scan leaves no copies of its own.
///
/// Scans are serialised and the buffer is wiped before it is freed: the two memory tests run in
/// parallel threads, and one test's live (or freed, unwiped) scan buffer holds a copy of the
/// other's password, which once made the other's before/after comparison fail in CI.
fn count_in_memory(needles: &[&[u8]]) -> Vec<usize> {
    static SCAN: Mutex<()> = Mutex::new(());
    const CHUNK: usize = 1 << 20;
    let _one_scan_at_a_time = SCAN.lock().unwrap_or_else(|e| e.into_inner());
    let mut mem = File::open("/proc/self/mem").unwrap();
    let mut counts = vec![0; needles.len()];
    let mut buf = Zeroizing::new(vec![0u8; CHUNK]);
    let own = (buf.as_ptr() as u64, buf.as_ptr() as u64 + CHUNK as u64);
    let mut ranges = Vec::new();
    for (start, end) in writable_regions() {
        if own.0 >= start && own.1 <= end {
            ranges.push((start, own.0));
            ranges.push((own.1, end));
        } else {
            ranges.push((start, end));
        }
    }
    for (start, end) in ranges {
        let mut at = start;
        while at < end {
            let n = ((end - at) as usize).min(CHUNK);
            if mem.seek(SeekFrom::Start(at)).is_err() || mem.read_exact(&mut buf[..n]).is_err() {
                break;
            }
            // Chunks overlap by OVERLAP bytes so a needle across a border is found; a match is
            // counted in the chunk where it starts before the overlap (or in the last chunk), never
            // twice. Counting it twice made the result depend on where the (shifting) mappings put
            // the chunk borders, and the before/after comparison flaky.
            const OVERLAP: usize = 64;
            let last = at + n as u64 >= end;
            let limit = if last { n } else { n - OVERLAP };
            for (i, needle) in needles.iter().enumerate() {
                debug_assert!(needle.len() <= OVERLAP);
                counts[i] += memchr::memmem::find_iter(&buf[..n], needle).filter(|&p| p < limit).count();
            }
            if last {
                break;
            }
            at += (n - OVERLAP) as u64;
        }
    }
    counts
}

/// How the memory test logs in: through the Rust API or the C API.
#[derive(Clone, Copy, PartialEq)]
enum Via {
    Rust,
    C,
}

unsafe extern "C" fn flag_signed_on(ud: *mut c_void, _uid: u32, _name: *const c_char) {
    (*(ud as *const std::sync::atomic::AtomicBool)).store(true, std::sync::atomic::Ordering::SeqCst);
}

fn no_plaintext_copy_after_login(via: Via, email: &str, prefix: &str) {
    // Built at run time, in place, so that the binary holds no copy.
    let mut pw = Zeroizing::new(String::with_capacity(32));
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    for (i, c) in prefix.chars().chain(format!("{stamp:09}").chars()).enumerate() {
        pw.push(if i % 3 == 2 && c.is_ascii_digit() { ((c as u8) - b'0' + b'G') as char } else { c });
    }
    pw.push_str("Xy!");
    // What msim could leave behind: the password, its significant 10 bytes lower-cased, and
    // their UTF-16LE form (SPEC §6.3, §24).
    let lower = Zeroizing::new(pw[..10].to_lowercase());
    let utf16: Zeroizing<Vec<u8>> = Zeroizing::new(lower.encode_utf16().flat_map(u16::to_le_bytes).collect());
    let needles: [&[u8]; 3] = [pw.as_bytes(), lower.as_bytes(), &utf16];
    // The test's own copies (and whatever building them left behind) are the baseline.
    let before = count_in_memory(&needles);
    assert!(before.iter().all(|c| *c >= 1), "the scan does not see our own buffers: {before:?}");
    let server = common::client::server();
    server.add_account(email, &pw, None, None).unwrap();
    let addr = server.addr();
    let deadline = Instant::now() + Duration::from_secs(10);
    let check = || {
        // Signed on, the session alive (it keeps only the hash): no copy beyond the baseline.
        let after = count_in_memory(&needles);
        let ok = after.iter().zip(&before).all(|(a, b)| a <= b);
        assert!(ok, "new password copies after login: {before:?} -> {after:?}");
    };
    match via {
        Via::Rust => {
            let (tx, rx) = std::sync::mpsc::channel();
            let session = msim::client::Session::new(Config { choose_username: false, ..config() }, move |e| {
                let _ = tx.send(e);
            });
            let creds = Credentials { email: email.into(), password: String::from(pw.as_str()) };
            session.connect(&addr.ip().to_string(), addr.port(), creds).unwrap();
            loop {
                match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(Event::SignedOn { .. }) => break,
                    Ok(_) => {}
                    Err(e) => panic!("no sign-on: {e}"),
                }
            }
            check();
            session.close();
        }
        Via::C => {
            // The host's C string is the host's to wipe: done right after the call.
            let mut c_pw = Zeroizing::new(Vec::with_capacity(pw.len() + 1)); // no reallocation
            c_pw.extend_from_slice(pw.as_bytes());
            c_pw.push(0);
            let signed_on: Box<std::sync::atomic::AtomicBool> = Box::default();
            let cb = msim_callbacks { on_signed_on: Some(flag_signed_on), ..Default::default() };
            unsafe {
                let mut o = c_options(msim_dispatch::Thread);
                o.skip_username = true;
                let s = msim_session_new_ex(&cb, &*signed_on as *const _ as *mut c_void, &o);
                let host = CString::new(addr.ip().to_string()).unwrap();
                let c_email = CString::new(email).unwrap();
                let r = msim_session_connect(s, host.as_ptr(), addr.port(), c_email.as_ptr(), c_pw.as_ptr().cast());
                assert_eq!(r, msim_result::Ok);
                drop(c_pw);
                while !signed_on.load(std::sync::atomic::Ordering::SeqCst) {
                    assert!(Instant::now() < deadline, "no sign-on");
                    std::thread::sleep(Duration::from_millis(5));
                }
                check();
                msim_session_free(s);
            }
        }
    }
}

#[test]
fn no_plaintext_password_is_left_in_memory_after_login() {
    no_plaintext_copy_after_login(Via::Rust, "mem@example.com", "Qz");
}

#[test]
fn no_plaintext_password_is_left_in_memory_after_a_c_api_login() {
    no_plaintext_copy_after_login(Via::C, "cmem@example.com", "Wv");
}

/// How far below the scanning frame the login crypto runs, so that the scan's own calls (file
/// reads, allocation) never reach, and overwrite, the frames the crypto left behind.
const DEEP: usize = 32 * 1024;

/// Runs `f` about [`DEEP`] bytes below the caller's frame.
#[inline(never)]
fn deep_in_the_stack(f: impl FnOnce()) {
    let pad = [0u8; DEEP];
    std::hint::black_box(&pad);
    f();
    std::hint::black_box(&pad);
}

/// Occurrences of `needle` in the 64 KiB of this thread's stack below the caller's frame: the dead
/// frames of whatever ran there.
#[inline(never)]
fn count_on_stack_below(marker: &u8, needle: &[u8]) -> usize {
    let top = marker as *const u8 as u64;
    let len = 2 * DEEP;
    let mut buf = Zeroizing::new(vec![0u8; len]);
    let mut mem = File::open("/proc/self/mem").unwrap();
    mem.seek(SeekFrom::Start(top - len as u64)).unwrap();
    mem.read_exact(&mut buf).unwrap();
    memchr::memmem::find_iter(&buf, needle).count()
}

/// SHA-1's block buffer (holding the normalised password, or h1 beside nonce2) and the RC4 state
/// live on the stack; `msim::protocol::login` wipes the frames it used before returning, because
/// optimised code later copies stale stack bytes into the heap (a queued `Event` carried the
/// UTF-16LE password there in release builds; issue 10 item 7). Deterministic in every profile,
/// unlike the whole-memory scan above, which caught it only in release.
#[test]
fn the_login_crypto_leaves_no_copy_on_the_stack() {
    use msim::protocol::login;
    let marker = 0u8;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    // Built at run time on the heap: a stored hash h1 (any 20 bytes key the cipher) and a password.
    let mut h1 = Box::new([0u8; 20]);
    for (i, b) in h1.iter_mut().enumerate() {
        *b = (stamp >> (i % 4 * 8)) as u8 ^ (i as u8).wrapping_mul(37) ^ 0xA5;
    }
    let mut pw = Zeroizing::new(String::with_capacity(32));
    pw.push_str("Sk");
    pw.push_str(&format!("{stamp:09}"));
    let utf16 = Zeroizing::new(pw[..10].to_lowercase().encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>());
    assert_eq!(count_on_stack_below(&marker, &utf16[..]), 0, "the scan sees a copy before the test made one");

    // h1 goes into SHA-1 (beside nonce2) on both sides of a login.
    deep_in_the_stack(|| {
        let nonce = [0x42; 64];
        let r = login::compute_response_from_hash(&nonce, EMAIL, &h1, &[]);
        assert_eq!(login::verify_response(&nonce, EMAIL, &h1, &r), Ok(()));
    });
    assert_eq!(count_on_stack_below(&marker, &h1[..]), 0, "h1 left on the stack");

    // The normalised password goes into SHA-1 when hashing it (server account, client connect).
    deep_in_the_stack(|| {
        std::hint::black_box(login::normalize_password(&pw));
        std::hint::black_box(login::compute_response(&[0x42; 64], EMAIL, &pw));
    });
    assert_eq!(count_on_stack_below(&marker, &utf16[..]), 0, "the normalised password left on the stack");
    deep_in_the_stack(|| {
        let mut h = Zeroizing::new(login::password_hash(&pw));
        std::hint::black_box(&mut h);
    });
    assert_eq!(count_on_stack_below(&marker, &utf16[..]), 0, "password_hash left the normalised password on the stack");
}
