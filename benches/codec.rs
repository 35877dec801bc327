//! Serialise, markup ⇄ HTML and the login response, each side by side with a floor measured in
//! the same run: copying the same output bytes (serialise, markup) or one SHA-1 (login).
//! Run: `cargo bench --bench codec`.

mod common;

use common::{keep, row, side_by_side};
use msim::protocol::buddy::BmPayload;
use msim::protocol::kinds::{BmFromServer, ServerMessage};
use msim::protocol::persist::{Cmd, PersistReply};
use msim::protocol::{login, markup, DictBuilder};
use sha1::Digest as _;

fn main() {
    // Serialise: an IM and a profile reply, typed → wire bytes.
    let im = ServerMessage::Bm(BmFromServer {
        kind: 1,
        from: 15187323,
        payload: BmPayload::Text("<p><f f='Times' h='16'><c v='black'><b v='white'>hello world</b></c></f></p>".into()),
        date: None,
        cv: Some(673),
        aid: None,
    });
    let body = DictBuilder::new()
        .int("UserID", 6221)
        .str("ImageURL", "http://myspace-502.vo.llnwd.net/100000/120/152/12502_m.jpg")
        .str("DisplayName", "Tom")
        .str("UserName", "tom")
        .str("BandName", "Sherwood")
        .str("SongName", "The Only Song")
        .int("TotalFriends", 1);
    let reply = ServerMessage::Persist(PersistReply {
        cmd: Cmd(257),
        dsn: 4,
        uid: 3656574,
        lid: 3,
        rid: 68,
        body: body.as_bytes().unwrap().to_vec(),
    });
    let wire: Vec<u8> = [im.encode().unwrap().encode(), reply.encode().unwrap().encode()].concat();
    let mut out = Vec::with_capacity(4096);
    let mut copy = || {
        out.clear();
        out.extend_from_slice(keep(&wire));
        keep(out.len());
    };
    let mut out2 = Vec::with_capacity(4096);
    let mut encode = || {
        out2.clear();
        keep(&im).encode().unwrap().encode_into(&mut out2);
        keep(&reply).encode().unwrap().encode_into(&mut out2);
        keep(out2.len());
    };
    let s = side_by_side(40, 5000, &mut [&mut copy, &mut encode]);
    println!("serialise (2 messages, {} bytes):", wire.len());
    row("floor: copy the wire bytes", &s[0], None);
    row("msim: typed → Message → wire", &s[1], Some(("copy", &s[0])));

    // Markup ⇄ HTML.
    let mk = "<p><f f='Times' h='16'><c v='black'><b v='white'>hello <i n='happy'/> world, see <a h='http://myspace.com/tom'/></b></c></f></p>";
    let html = "<b>bold <i>and italic</i></b> :) <font face='Arial' size='4' color='#ff0000'>red &amp; big</font> <a href='http://x.org'>link</a>";
    let copy_mk = || keep(keep(mk).to_owned()).len();
    let to_html = || keep(markup::markup_to_html(keep(mk))).len();
    let copy_html = || keep(keep(html).to_owned()).len();
    let to_mk = || keep(markup::html_to_markup(keep(html))).len();
    let s = side_by_side(
        40,
        5000,
        &mut [
            &mut || {
                copy_mk();
            },
            &mut || {
                to_html();
            },
            &mut || {
                copy_html();
            },
            &mut || {
                to_mk();
            },
        ],
    );
    println!("markup:");
    row("floor: copy the markup", &s[0], None);
    row("msim: markup → HTML", &s[1], Some(("copy", &s[0])));
    row("floor: copy the HTML", &s[2], None);
    row("msim: HTML → markup", &s[3], Some(("copy", &s[2])));

    // Login response.
    let nonce = [7u8; login::NONCE_LEN];
    let sha = || keep(sha1::Sha1::digest(keep(&nonce)));
    let resp = || keep(login::compute_response(keep(&nonce), "myspace@example.com", "password"));
    let hash = login::password_hash("password");
    let r = login::compute_response(&nonce, "myspace@example.com", "password");
    let verify = || keep(login::verify_response(keep(&nonce), "myspace@example.com", &hash, &r)).is_ok();
    let s = side_by_side(
        40,
        2000,
        &mut [
            &mut || {
                sha();
            },
            &mut || {
                resp();
            },
            &mut || {
                verify();
            },
        ],
    );
    println!("login:");
    row("floor: one SHA-1 of the nonce", &s[0], None);
    row("msim: compute response (client)", &s[1], Some(("SHA-1", &s[0])));
    row("msim: verify response (server)", &s[2], Some(("SHA-1", &s[0])));
}
