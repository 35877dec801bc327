#!/usr/bin/env bash
# Runs inside xvfb-run for tests/real_clients.rs: Debian's Pidgin with the config dir CONF (its
# accounts.xml, prefs.xml and plugins/), its debug log (-d: stdout, and GLib's messages on
# stderr) into LOG. When the file CTL/shoot appears, the whole screen is captured to
# CTL/pidgin.png (ImageMagick's import, or xwd + convert) and Pidgin is stopped; CTL/done says it
# is over. Gives up after LIMIT seconds (default 90).
#
#   xvfb-run -a -s "-screen 0 820x460x24" tests/scripts/pidgin-xvfb.sh CONF LOG CTL [LIMIT]
set -u
conf=$1 log=$2 ctl=$3 limit=${4:-90}
# -m: no single-instance check over D-Bus (tests may run side by side); -f: online regardless
# of NetworkManager.
pidgin -m -f -d -c "$conf" >"$log" 2>&1 &
pid=$!
for _ in $(seq $((limit * 10))); do
    [ -e "$ctl/shoot" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "pidgin exited early" >"$ctl/error"
        touch "$ctl/done"
        exit 1
    fi
    sleep 0.1
done
if ! import -window root "$ctl/pidgin.png" 2>"$ctl/shot.log"; then
    xwd -root -silent | convert xwd:- "$ctl/pidgin.png" 2>>"$ctl/shot.log"
fi
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
touch "$ctl/done"
