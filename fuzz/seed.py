#!/usr/bin/env python3
"""Generates fuzz/corpus/<target>/ seed inputs from the shared protocol samples.

Usage: python3 fuzz/seed.py [SHARED_PROTOCOL_DIR]

SHARED_PROTOCOL_DIR defaults to $MSIM_SHARED_PROTOCOL, else ../shared/protocol beside the repo.
It reads seed-messages.txt (DIRECTION<TAB>wire bytes), bench-corpus.tsv (name<TAB>wire bytes) and
login-vectors.tsv; a missing file is skipped with a warning, so the built-in samples below always
seed something. Files are named by the SHA-1 of their content, as libFuzzer names its own, so
re-running adds nothing twice and never deletes what fuzzing has added to a corpus.
"""

import base64
import hashlib
import os
import sys

FINAL = b"\\final\\"
HERE = os.path.dirname(os.path.abspath(__file__))

MARKUP = [
    "hello world",
    "<p><f f='Times' h='16'><c v='black'><b v='white'>hello world</b></c></f></p>",
    "<f s='7'>bold italic underline</f>",
    "<f h='0' s='3'>x</f><f h='99999999999'>y</f>",
    "<f h=16 f=\"Comic Sans MS\">x</f>",
    "<c v='rgb(255, 0, 16)'>x</c><c v='#abc'>y</c><c v='red\" onmouseover=\"alert(1)'>z</c>",
    "<a h='http://www.myspace.com/'/> and <a h='javascript:alert(1)'/>",
    "<i n='smile'/><i n='wink'/><i n='nope'/>",
    "a &amp; b &lt;c&gt; &#39; &#x41; &nbsp; &bogus;",
    "<p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p>deep</p></p></p>",
    "<!-- comment --><![CDATA[<raw>]]><?pi?><!doctype x>",
    "unterminated <f h='12' and <c v='red'>x",
    "</b></c></f></p>stray ends",
    "\x01\x08\x0b control \ufffe chars",
    "final",
]

HTML = [
    "hello world",
    "<b>bold</b> <i>italic</i> <u>under</u>",
    "<font face=\"Arial\" size=\"5\" color=\"#ff0000\">big red</font>",
    "<font color=\"rgb(1,2,3)\">x</font><font size=\"+2\">y</font>",
    "<a href=\"http://example.com/\">link</a> <a href=\"javascript:alert(1)\">bad</a>",
    "<body bgcolor=\"white\">bg</body>",
    "<span style=\"font-family: Times; font-size: 12pt; color: blue; font-weight: bold\">x</span>",
    "line<br>break<br/>again<BR />",
    "<img src=\"x\" alt=\":)\"> :-) ;-) :D",
    "&amp; &lt; &gt; &quot; &#39; &nbsp; &eacute; &#x1F600;",
    "<b><i>misnested</b></i>",
    "<script>alert(1)</script><style>b{}</style>",
    "<p>para</p><div>div</div>",
    "final",
    "<b>final</b>",
    "fin<!-- -->al",
]


def write(corpus_dir, data):
    os.makedirs(corpus_dir, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    path = os.path.join(corpus_dir, name)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        return 1
    return 0


def read_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().split(b"\n")
    except OSError as e:
        print(f"seed.py: warning: {e}", file=sys.stderr)
        return []


def wire_messages(shared):
    """(direction, wire bytes) from seed-messages.txt and bench-corpus.tsv."""
    out = []
    for line in read_lines(os.path.join(shared, "seed-messages.txt")):
        if not line or line.startswith(b"#") or b"\t" not in line:
            continue
        d, w = line.split(b"\t", 1)
        out.append((d.decode("ascii", "replace"), w))
    for line in read_lines(os.path.join(shared, "bench-corpus.tsv")):
        if not line or line.startswith(b"#") or b"\t" not in line:
            continue
        _, w = line.split(b"\t", 1)
        out.append(("S>C", w))
    return out


def frames(wire):
    """Frames of one line (a line may hold several messages back to back)."""
    parts = wire.split(FINAL)
    if parts and parts[-1] == b"":
        parts.pop()
    return parts


def fields(frame):
    """(key, raw value) pairs, as Message::parse reads them."""
    toks = frame[1:].split(b"\\") if frame.startswith(b"\\") else []
    return list(zip(toks[0::2], toks[1::2]))


def unescape(raw):
    return raw.replace(b"/2", b"\\").replace(b"/1", b"/")


def login_vectors(shared):
    out = []
    for line in read_lines(os.path.join(shared, "login-vectors.tsv")):
        if not line or line.startswith(b"#") or line.startswith(b"nonce_b64"):
            continue
        cols = line.split(b"\t")
        if len(cols) == 4:
            out.append(cols)
    return out


def main():
    shared = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("MSIM_SHARED_PROTOCOL", os.path.join(HERE, "..", "..", "shared", "protocol"))
    )
    corpus = os.path.join(HERE, "corpus")
    added = {}

    def add(target, data):
        added[target] = added.get(target, 0) + write(os.path.join(corpus, target), data)

    msgs = wire_messages(shared)
    if not msgs:
        print(f"seed.py: warning: no wire samples under {shared}; built-in samples only", file=sys.stderr)
        msgs = [("S>C", b"\\lc\\1\\nc\\" + base64.b64encode(bytes(range(64))) + b"\\id\\1\\final\\"),
                ("S>C", b"\\bm\\100\\f\\6221\\msg\\|s|1|ss|:-)|ls||ip|0|p|0\\final\\"),
                ("C>S", b"\\blocklist\\\\sesskey\\1\\idlist\\w0|c0|a-|*|b-|*\\final\\"),
                ("S>C", b"\\persistr\\\\cmd\\257\\dsn\\0\\uid\\1\\lid\\2\\rid\\3\\body\\ContactID=1\x1cContactID=1\x1cHeadline=:-)\\final\\")]

    all_frames = [f for _, w in msgs for f in frames(w)]

    # message_parse: each frame as the framer would hand it out.
    for f in all_frames:
        add("message_parse", f)

    # dict_list: every raw value with a 0x1C or a `|`, plus dictionary-shaped values.
    for f in all_frames:
        for k, v in fields(f):
            if b"\x1c" in v or b"|" in v or b"=" in v:
                add("dict_list", v)
    for v in [b"", b"|", b"A=1\x1cB=x=y\x1cA=2\x1cC=", b"ContactID=1\x1cContactID=1\x1cN=a\x1cContactID=2\x1cN=b",
              b"|s|1|ss|a/3b/1c|ls||ip|0|p|0", b"w1|c1|a+|*|b+|4294967295|a-|007"]:
        add("dict_list", v)

    # framer_chunks: [cap selector, number of sizes, sizes..., stream]. Streams: each direction's
    # messages back to back, some with CR/LF between them, cut in several ways.
    for direction in ("S>C", "C>S"):
        stream = b"".join(w for d, w in msgs if d == direction)
        crlf = b"\r\n".join(w for d, w in msgs if d == direction)
        for s in (stream, crlf):
            for cap_sel, sizes in ((3, [1]), (3, [7, 200]), (2, [255]), (1, [13, 0, 64]), (0, [5])):
                add("framer_chunks", bytes([cap_sel, len(sizes) - 1] + sizes) + s[:16384])
    for w in [m for _, m in msgs][:20]:
        add("framer_chunks", bytes([3, 0, 32]) + w)

    # markup_to_html: the `msg` of text bms, plus hand-written markup.
    for f in all_frames:
        fl = dict(fields(f))
        if b"bm" in fl and fl.get(b"bm") != b"100" and b"msg" in fl:
            add("markup_to_html", unescape(fl[b"msg"]))
    for s in MARKUP:
        add("markup_to_html", s.encode())

    for s in HTML + MARKUP:
        add("html_to_markup", s.encode())

    # login_verify: [email len][password len][email][password][nonce (64)][response] from the
    # known-good vectors; a second copy carries the base64 nonce as the response (for decode_nonce).
    for nonce_b64, email, password, response_b64 in login_vectors(shared) + [
        (base64.b64encode(bytes(64)), b"a@b.c", b"secret", b"")
    ]:
        try:
            nonce = base64.b64decode(nonce_b64, validate=True)
            response = base64.b64decode(response_b64, validate=True)
        except ValueError:
            continue
        if len(nonce) != 64 or len(email) > 255 or len(password) > 255:
            continue
        head = bytes([len(email), len(password)]) + email + password + nonce
        add("login_verify", head + response)
        add("login_verify", head + nonce_b64)

    # client_machine: [chunk size][1 = play a valid login first][server stream]. The server's side of
    # the capture, whole and cut small, with and without the scripted login.
    server_stream = b"".join(w for d, w in msgs if d == "S>C")
    for chunk, login in ((255, 0), (255, 1), (7, 1), (1, 1)):
        add("client_machine", bytes([chunk, login]) + server_stream[:8192])
    for _, w in msgs:
        if _ == "S>C":
            add("client_machine", bytes([64, 1]) + w)

    summary = ", ".join(f"{t} +{n}" for t, n in sorted(added.items()))
    print(f"seed.py: corpora in {corpus}: {summary}")


if __name__ == "__main__":
    main()
