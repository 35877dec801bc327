//! The HTTP side: serves each account's profile picture (`db/pictures.rs`) at the URL its
//! `ImageURL` carries, on the IM listener's address and another port (`Config::http_port`).
//!
//! MySpaceIM clients fetch pictures over plain HTTP with a GET of the URL the protocol gave them
//! and use the URL as the icon's checksum (SPEC §9.3), so this side answers exactly one kind of
//! request: `GET` (or `HEAD`) `/pictures/<uid>/<version>.<ext>`. The bytes behind a URL never
//! change (a new picture is a new version), hence the long cache lifetime. Anything else is 404
//! or 405. It never writes: pictures are set with `msim-server account set-picture`.
//!
//! Built on `tiny_http`: a small, synchronous HTTP/1.1 server (no async runtime, which the rest
//! of this thread-per-connection server does not use either), MIT/Apache-2.0, the base of
//! `rouille`, whose few dependencies are all small. It parses requests on its own worker threads
//! and hands them to the one thread here, which answers from the database.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::db::pictures::Picture;
use crate::db::Db;
use crate::log_if;
use crate::state::Shared;

/// Longest request path looked at; picture paths are far shorter.
const MAX_PATH: usize = 256;

/// A running HTTP side; stopped by `stop` (or when the server stops).
pub(crate) struct HttpSide {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    pub addr: SocketAddr,
}

/// Binds `ip:port`, publishes the stored pictures under the base URL (`url` or
/// `http://<bound address>`) and starts answering.
pub(crate) fn start(shared: Arc<Shared>, ip: IpAddr, port: u16, url: Option<&str>) -> io::Result<HttpSide> {
    let server = tiny_http::Server::http(SocketAddr::new(ip, port)).map_err(io::Error::other)?;
    let addr = server.server_addr().to_ip().ok_or_else(|| io::Error::other("the HTTP side has no IP address"))?;
    let base = match url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None if addr.ip().is_unspecified() => {
            // 0.0.0.0 is not an address a client can fetch from.
            log_if(&shared, format_args!("HTTP side on {addr}: picture URLs say 127.0.0.1; set --http-url for others"));
            format!("http://127.0.0.1:{}", addr.port())
        }
        None => format!("http://{addr}"),
    };
    shared.db.publish_pictures(Some(&base)).map_err(io::Error::other)?;
    log_if(&shared, format_args!("serving pictures on http://{addr} (URLs under {base})"));
    let server = Arc::new(server);
    let thread = {
        let server = server.clone();
        std::thread::Builder::new().name("msim-http".into()).spawn(move || serve(&shared, &server))?
    };
    Ok(HttpSide { server, thread: Some(thread), addr })
}

impl HttpSide {
    /// Stops answering and joins the thread.
    pub fn stop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(shared: &Shared, server: &tiny_http::Server) {
    // `unblock` ends `incoming_requests`.
    for req in server.incoming_requests() {
        let reply = route(&shared.db, req.method(), req.url());
        if reply.status == 500 {
            log_if(shared, format_args!("HTTP {}: {}", req.url(), String::from_utf8_lossy(&reply.body).trim_end()));
        }
        let mut resp = tiny_http::Response::from_data(if reply.head_only { Vec::new() } else { reply.body })
            .with_status_code(reply.status);
        for (k, v) in reply.headers {
            if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                resp.add_header(h);
            }
        }
        if let Err(e) = req.respond(resp) {
            log_if(shared, format_args!("HTTP reply failed: {e}"));
        }
    }
}

/// One answer, before tiny_http frames it.
#[derive(Debug, PartialEq, Eq)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    head_only: bool,
}

fn text(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: vec![("Content-Type", "text/plain; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
        head_only: false,
    }
}

/// The answer to `method path`.
fn route(db: &Db, method: &tiny_http::Method, path: &str) -> Reply {
    let head_only = match method {
        tiny_http::Method::Get => false,
        tiny_http::Method::Head => true,
        _ => {
            let mut r = text(405, "only GET and HEAD\n");
            r.headers.push(("Allow", "GET, HEAD".into()));
            return r;
        }
    };
    // RFC 9112 §3.2.2: a server accepts the absolute form too ("GET http://host:port/path",
    // what libpurple's fetcher sends when told the URL is "full").
    let path = match path.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => path,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let Some((uid, version, ext)) = parse_picture_path(path) else {
        return text(404, "no such picture\n");
    };
    match db.picture(uid) {
        Ok(Some(p)) if p.version == version && p.kind.ext() == ext => {
            let mut r = picture_reply(p);
            r.head_only = head_only;
            r
        }
        Ok(_) => text(404, "no such picture\n"),
        Err(e) => text(500, &format!("database error: {e}\n")),
    }
}

fn picture_reply(p: Picture) -> Reply {
    Reply {
        status: 200,
        headers: vec![
            ("Content-Type", p.kind.content_type().into()),
            // The URL names one version: its bytes never change.
            ("Cache-Control", "public, max-age=31536000, immutable".into()),
        ],
        body: p.data,
        head_only: false,
    }
}

/// `/pictures/<uid>/<version>.<ext>` → (uid, version, ext); decimal numbers without signs or
/// leading zeros, so that one picture has exactly one path.
fn parse_picture_path(path: &str) -> Option<(u32, u32, &str)> {
    if path.len() > MAX_PATH {
        return None;
    }
    let rest = path.strip_prefix("/pictures/")?;
    let (uid, file) = rest.split_once('/')?;
    let (version, ext) = file.split_once('.')?;
    let num = |s: &str| {
        (!s.is_empty() && !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    Some((num(uid)?, num(version)?, ext))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiny_http::Method;

    #[test]
    fn routes_picture_paths_by_uid_version_and_type() {
        let db = Db::open(":memory:").unwrap();
        let uid = db.create_account(None, "a@x.y", &[0; 20], Some("a"), None).unwrap();
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x08\0\0\0\x08\x08\x06\0\0\0".to_vec();
        png.extend_from_slice(b"rest");
        db.set_picture(uid, &png).unwrap();
        let ok = route(&db, &Method::Get, "/pictures/100000/1.png");
        assert_eq!((ok.status, ok.body.as_slice()), (200, png.as_slice()));
        assert!(ok.headers.contains(&("Content-Type", "image/png".into())));
        let absolute = route(&db, &Method::Get, "http://127.0.0.1:1864/pictures/100000/1.png");
        assert_eq!((absolute.status, absolute.body.as_slice()), (200, png.as_slice()), "absolute form");
        let head = route(&db, &Method::Head, "/pictures/100000/1.png?x=1");
        assert_eq!((head.status, head.head_only), (200, true));
        for (path, status) in [
            ("/pictures/100000/2.png", 404), // an old or future version
            ("/pictures/100000/1.gif", 404),
            ("/pictures/100001/1.png", 404),
            ("/pictures/0100000/1.png", 404),
            ("/pictures/100000/1", 404),
            ("/pictures/", 404),
            ("/", 404),
            ("/pictures/100000/+1.png", 404),
        ] {
            assert_eq!(route(&db, &Method::Get, path).status, status, "{path}");
        }
        assert_eq!(route(&db, &Method::Post, "/pictures/100000/1.png").status, 405);
    }
}
