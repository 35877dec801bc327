#!/usr/bin/env bash
# Finch (libpurple's terminal client) signing on to msim-server with libmsim-purple.so, in tmux.
# Builds libmsim, msim-server, the plugin and examples-c/chat.c; starts the server with its demo
# accounts on a free loopback port; runs Finch as alice@example.com from a throwaway config dir;
# signs bob and tom on with chat.c (tom goes away), has bob send alice an IM and alice answer from
# Finch, and prints Finch's screen twice (buddy list, then conversation). Needs finch, tmux,
# libpurple-dev (apt-get install -y finch tmux libpurple-dev), cargo and a C compiler. Everything is
# stopped on exit. Not part of ./test.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

cargo build --release -p msim -p msim-server
make -C examples-c/purple
tmp=$(mktemp -d /tmp/msim-finch.XXXXXX)
cc -std=c99 -Wall -Iinclude examples-c/chat.c -Ltarget/release -lmsim -Wl,-rpath,"$root/target/release" -o "$tmp/chat"

session=msim-finch-$$
pids=()
cleanup() {
    tmux kill-session -t "$session" 2>/dev/null || true
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

target/release/msim-server --demo --db :memory: --listen 127.0.0.1:0 >"$tmp/server.log" 2>&1 &
pids+=($!)
addr=""
for _ in $(seq 100); do
    addr=$(sed -n 's/^msim-server listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$tmp/server.log")
    [ -n "$addr" ] && break
    sleep 0.1
done
[ -n "$addr" ] || { cat "$tmp/server.log" >&2; echo "msim-server did not start" >&2; exit 1; }
port=${addr##*:}

# Finch's config: HOME=$tmp, so ~/.purple is $tmp/.purple.
mkdir -p "$tmp/.purple/plugins"
cp examples-c/purple/libmsim-purple.so "$tmp/.purple/plugins/"
cp -L target/release/libmsim.so.0 "$tmp/.purple/plugins/"   # the name the plugin records (SONAME)
cat >"$tmp/.purple/accounts.xml" <<EOF
<?xml version='1.0' encoding='UTF-8' ?>
<account version='1.0'>
 <account>
  <protocol>prpl-msim</protocol>
  <name>alice@example.com</name>
  <password>alicepw</password>
  <settings>
   <setting name='server' type='string'>127.0.0.1</setting>
   <setting name='port' type='int'>$port</setting>
  </settings>
  <settings ui='gnt-purple'>
   <setting name='auto-login' type='bool'>1</setting>
  </settings>
 </account>
</account>
EOF
cat >"$tmp/.purple/prefs.xml" <<'EOF'
<?xml version='1.0' encoding='UTF-8' ?>
<pref version='1' name='/'>
 <pref name='finch'>
  <pref name='blist'>
   <pref name='showoffline' type='bool' value='1'/>
   <pref name='size'><pref name='width' type='int' value='26'/><pref name='height' type='int' value='14'/></pref>
  </pref>
  <pref name='conversations'>
   <pref name='size'><pref name='width' type='int' value='62'/><pref name='height' type='int' value='14'/></pref>
   <pref name='position'><pref name='x' type='int' value='28'/><pref name='y' type='int' value='0'/></pref>
  </pref>
 </pref>
</pref>
EOF

# bob and tom: chat.c reading commands from a FIFO each (kept open by a sleeping writer).
client() { # NAME PASSWORD
    mkfifo "$tmp/$1.in"
    sleep 1000 >"$tmp/$1.in" &
    pids+=($!)
    MSIM_PASSWORD=$2 "$tmp/chat" 127.0.0.1 "$port" "$1@example.com" <"$tmp/$1.in" >"$tmp/$1.out" 2>&1 &
    pids+=($!)
}
wait_for() { # FILE-OR-"screen" TEXT
    for _ in $(seq 100); do
        if [ "$1" = screen ]; then
            tmux capture-pane -p -t "$session" | grep -qF -- "$2" && return 0
        else
            grep -qF -- "$2" "$1" 2>/dev/null && return 0
        fi
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1" >&2
    exit 1
}
screen() { tmux capture-pane -p -t "$session" | sed -e 's/[[:space:]]*$//' | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }

client bob bobpw
wait_for "$tmp/bob.out" "signed on as bob"

HOME=$tmp TERM=xterm-256color tmux new-session -d -s "$session" -x 92 -y 20 finch
wait_for screen "◯ bob"
client tom tompw
wait_for "$tmp/tom.out" "signed on as tom"
echo "/status away out in Sherwood" >"$tmp/tom.in"
wait_for screen "⊖ tom"
echo "== Finch: alice signed on (◯ online, ⊖ away, ⊗ offline)"
screen

echo "/to alice hi alice, <b>Finch</b> works!" >"$tmp/bob.in"
wait_for screen "bob: hi alice, Finch works!"
tmux send-keys -t "$session" M-n         # focus the conversation window
sleep 0.5
tmux send-keys -t "$session" 'hello bob, from Finch' Enter
wait_for "$tmp/bob.out" "alice: hello bob, from Finch"
sleep 0.5
echo "== Finch: bob's IM, alice's answer"
screen
echo "== chat.c (bob) received:"
grep -F "alice: hello bob" "$tmp/bob.out"
