#!/usr/bin/env python3
"""Generates fuzz/corpus/<target>/ seed inputs from the protocol samples in tests/data/.

Usage: python3 fuzz/seed.py [DATA_DIR]

DATA_DIR defaults to the repository's tests/data (tests/data/README.md says where each file came from).
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


def wire_messages(data_dir):
    """(direction, wire bytes) from seed-messages.txt and bench-corpus.tsv."""
    out = []
    for line in read_lines(os.path.join(data_dir, "seed-messages.txt")):
        if not line or line.startswith(b"#") or b"\t" not in line:
            continue
        d, w = line.split(b"\t", 1)
        out.append((d.decode("ascii", "replace"), w))
    for line in read_lines(os.path.join(data_dir, "bench-corpus.tsv")):
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


def login_vectors(data_dir):
    out = []
    for line in read_lines(os.path.join(data_dir, "login-vectors.tsv")):
        if not line or line.startswith(b"#") or line.startswith(b"nonce_b64"):
            continue
        cols = line.split(b"\t")
        if len(cols) == 4:
            out.append(cols)
    return out

# The body of a hand-written persist request: (cmd, dsn, lid, body) for every dsn/lid of SPEC §7.5,
# including the unused ones and a wrong cmd for a known item (the server answers those with errors).
PERSIST_SEEDS = [
    (1, 0, 1, b""),
    (1, 0, 2, b"ContactID=OTHERUID"),
    (1, 0, 2, b"ContactID=4294967295"),
    (515, 0, 8, b"ContactID=THIRDUID"),
    (514, 0, 9, b"ContactID=OTHERUID\x1cGroupName=IM Friends\x1cPosition=1\x1cVisibility=1\x1cNickName=o\x1cNameSelect=0"),
    (514, 0, 9, b"ContactID=THIRDUID\x1cVisibility=2"),
    (514, 0, 9, b"ContactID=MYUID\x1cGroupName=Me"),
    (1, 1, 4, b""),
    (514, 1, 10, b"Sound=True"),
    (1, 1, 17, b"UserID=OTHERUID"),
    (1, 1, 17, b"UserID=0"),
    (1, 2, 6, b""),
    (2, 2, 16, b"GroupName=IM Friends\x1cPosition=1\x1cGroupFlag=131073"),
    (2, 2, 16, b"GroupName=New Group\x1cPosition=9\x1cGroupFlag=0"),
    (1, 4, 3, b"UserID=THIRDUID"),
    (1, 4, 3, b"UserID=12345"),
    (1, 4, 5, b"UserID=MYUID"),
    (1, 5, 7, b"UserName=witness"),
    (1, 5, 7, b"UserName=MYUID"),
    (1, 5, 7, b"Email=third@example.com"),
    (1, 5, 7, b"UserName=nobody_here"),
    (1, 7, 18, b""),
    (2, 9, 14, b"UserName=fuzzer"),
    (2, 9, 14, b"UserName=witness"),
    (2, 9, 14, b"UserName=12345"),
    (2, 14, 21, b"GroupName=MySpace Friends"),
    (2, 14, 21, b""),
    (1, 16, 25, b""),
    (1, 17, 26, b""),
    (1, 21, 28, b"UserID=OTHERUID"),
    (1, 101, 20, b""),
    (2, 1, 4, b""),
]

# Everything else the server handles, with the placeholders.
SESSION_SEEDS = [
    b"\\bm\\1\\sesskey\\SESSKEY\\t\\OTHERUID\\cv\\697\\msg\\<p><f f='Times' h='16'>hi</f></p>",
    b"\\bm\\1\\sesskey\\SESSKEY\\t\\THIRDUID\\msg\\stored for later",
    b"\\bm\\1\\sesskey\\SESSKEY\\t\\MYUID\\msg\\to myself",
    b"\\bm\\1\\sesskey\\SESSKEY\\t\\999999\\msg\\nobody",
    b"\\bm\\121\\sesskey\\SESSKEY\\t\\OTHERUID\\cv\\697\\msg\\%typing%",
    b"\\bm\\121\\sesskey\\SESSKEY\\t\\OTHERUID\\msg\\%stoptyping%",
    b"\\bm\\121\\sesskey\\SESSKEY\\t\\OTHERUID\\msg\\!!!ZAP_SEND!!!=RTE_BTN_ZAPS_1",
    b"\\bm\\122\\sesskey\\SESSKEY\\t\\OTHERUID\\cv\\697\\msg\\cmdtype=1&reqid=1&contenttype=1&",
    b"\\bm\\200\\sesskey\\SESSKEY\\t\\OTHERUID\\msg\\<invite/>",
    b"\\bm\\100\\sesskey\\SESSKEY\\t\\OTHERUID\\msg\\|s|1|ss|spoof",
    b"\\status\\1\\sesskey\\SESSKEY\\statstring\\hello there\\locstring\\",
    b"\\status\\0\\sesskey\\SESSKEY\\statstring\\\\locstring\\",
    b"\\status\\5\\sesskey\\SESSKEY\\statstring\\away/1x/2y\\locstring\\here",
    b"\\addbuddy\\\\sesskey\\SESSKEY\\newprofileid\\OTHERUID\\reason\\",
    b"\\addbuddy\\\\sesskey\\SESSKEY\\newprofileid\\THIRDUID\\reason\\hi",
    b"\\addbuddy\\\\sesskey\\SESSKEY\\newprofileid\\MYUID\\reason\\",
    b"\\addbuddy\\\\sesskey\\SESSKEY\\newprofileid\\424242\\reason\\",
    b"\\delbuddy\\\\sesskey\\SESSKEY\\delprofileid\\THIRDUID",
    b"\\delbuddy\\\\sesskey\\SESSKEY\\delprofileid\\OTHERUID",
    b"\\setinfo\\\\sesskey\\SESSKEY\\info\\Headline=new headline\x1cDisplayName=Fuzzy\x1cBandName=b\x1cSongName=s",
    b"\\setinfo\\\\sesskey\\SESSKEY\\info\\UserName=fuzzer\x1cImageURL=http://x/y.png\x1cAvatarURL=\x1cBogus=1",
    b"\\webchlg\\\\sesskey\\SESSKEY\\n\\0",
    b"\\logout\\\\sesskey\\SESSKEY",
    b"\\persist\\1\\sesskey\\1\\cmd\\1\\dsn\\1\\uid\\MYUID\\lid\\4\\rid\\1\\body\\",
    b"\\persist\\1\\sesskey\\SESSKEY\\cmd\\1\\dsn\\1\\uid\\OTHERUID\\lid\\4\\rid\\1\\body\\",
    b"\\persist\\1\\sesskey\\SESSKEY\\cmd\\1\\dsn\\1\\lid\\4\\rid\\1\\body\\",
    b"\\ka\\\\final\\\r\n\\unknownkind\\1\\sesskey\\SESSKEY",
    b"hello there",
    b"\\bm\\1\\sesskey\\SESSKEY\\t\\notanumber\\msg\\x",
]
for _ops in [b"a+|OTHERUID", b"a-|OTHERUID", b"b+|OTHERUID", b"b-|OTHERUID", b"b+|THIRDUID|a-|THIRDUID",
             b"b+|*", b"a+|*", b"a-|*", b"b-|*", b"w1|c1", b"w0|c0", b"w0|c0|a-|*|b-|*",
             b"b-|OTHERUID|a+|OTHERUID", b"b+|MYUID", b"a+|4294967295|b+|0", b"w1|c1|b+|*|a+|OTHERUID"]:
    SESSION_SEEDS.append(b"\\blocklist\\\\sesskey\\SESSKEY\\idlist\\" + _ops)


def persist_seed(cmd, dsn, lid, body, uid=b"MYUID"):
    head = b"\\persist\\1\\sesskey\\SESSKEY\\cmd\\%d\\dsn\\%d\\uid\\%s\\lid\\%d\\rid\\%d\\body\\"
    return head % (cmd, dsn, uid, lid, 100 + lid) + body.replace(b"\\", b"/2")


def server_session_seeds(msgs):
    """Client messages for server_session: the capture's client side with its session keys and
    uids replaced by the placeholders, each message alone, plus every logged-in session in one,
    and the hand-written messages above, alone and some chained."""
    out = []
    own, others = set(), []
    for d, w in msgs:
        if d != "C>S":
            continue
        for f in frames(w):
            fl = dict(fields(f))
            if b"persist" in fl and b"uid" in fl:
                own.add(fl[b"uid"])
            for k in (b"t", b"newprofileid", b"delprofileid"):
                if k in fl and fl[k] not in others:
                    others.append(fl[k])
    placeholders = [b"OTHERUID", b"THIRDUID"]
    session = []
    for d, w in msgs:
        if d != "C>S":
            continue
        for f in frames(w):
            toks = f.split(b"\\")
            for i in range(1, len(toks)):
                if toks[i - 1] == b"sesskey":
                    toks[i] = b"SESSKEY"
            f = b"\\".join(toks)
            for u in own:
                f = f.replace(u, b"MYUID")
            for i, u in enumerate(others):
                f = f.replace(u, placeholders[i % 2])
            out.append(f)
            if not f.startswith(b"\\login2\\"):
                session.append(f)
    if session:
        out.append(FINAL.join(session[:40]))
    hand = [persist_seed(*p) for p in PERSIST_SEEDS] + SESSION_SEEDS
    hand.append(persist_seed(1, 1, 4, b"", uid=b"OTHERUID"))
    # FRESH: a connection that has not logged in; RESPONSE is the right login response.
    login = b"\\login2\\196610\\username\\fuzz@example.com\\response\\%s\\clientver\\697\\reconn\\0\\status\\100\\id\\1"
    hand += [
        b"FRESH" + login % b"RESPONSE",
        b"FRESH" + login % b"RESPONSE" + FINAL + b"\\status\\1\\sesskey\\1\\statstring\\x\\locstring\\",
        b"FRESH" + login % b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        b"FRESH" + (login % b"RESPONSE").replace(b"fuzz@", b"nobody@"),
        b"FRESH" + (login % b"RESPONSE").replace(b"fuzz@", b"FUZZ@"),
        b"FRESH" + b"\\persist\\1\\sesskey\\0\\cmd\\1\\dsn\\1\\lid\\4\\rid\\1\\body\\",
        b"FRESH" + b"\\logout\\\\sesskey\\0",
        b"FRESH" + b"garbage",
    ]
    out += hand
    out.append(FINAL.join(hand[:8]))
    out.append(FINAL.join(hand[-20:]))
    return out


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "tests", "data")
    corpus = os.path.join(HERE, "corpus")
    added = {}

    def add(target, data):
        added[target] = added.get(target, 0) + write(os.path.join(corpus, target), data)

    msgs = wire_messages(data_dir)
    if not msgs:
        print(f"seed.py: warning: no wire samples under {data_dir}; built-in samples only", file=sys.stderr)
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
    for nonce_b64, email, password, response_b64 in login_vectors(data_dir) + [
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

    # server_session: client messages for a logged-in session of the fuzzed server. The target
    # replaces SESSKEY, MYUID, OTHERUID and THIRDUID with the live session key and uids.
    for f in server_session_seeds(msgs):
        add("server_session", f)

    summary = ", ".join(f"{t} +{n}" for t, n in sorted(added.items()))
    print(f"seed.py: corpora in {corpus}: {summary}")


if __name__ == "__main__":
    main()
