#!/bin/sh
### BEGIN INIT INFO
# Provides:          drover-mod-test
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: drover test service (a sleep)
### END INIT INFO
# A real SysV init script for test_modules: start/stop/status/restart/reload
# of a background sleep, tracked by a pid file.
PIDFILE=/tmp/drover-mod-test.pid
running() { [ -f $PIDFILE ] && kill -0 "$(cat $PIDFILE)" 2>/dev/null; }
case "$1" in
start) running || { sleep 1000 >/dev/null 2>&1 & echo $! > $PIDFILE; } ;;
stop) running && kill "$(cat $PIDFILE)"; rm -f $PIDFILE ;;
restart) "$0" stop; "$0" start ;;
reload) running || exit 7 ;;
status) running || exit 3 ;;
*) echo "usage: $0 start|stop|restart|reload|status" >&2; exit 2 ;;
esac
exit 0
