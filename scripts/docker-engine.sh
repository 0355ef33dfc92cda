#!/usr/bin/env bash
# Start or stop a local Docker engine for the container tests.
#
#   scripts/docker-engine.sh start    # idempotent: reuses an engine that answers
#   scripts/docker-engine.sh stop     # stops only the dockerd that `start` started
#   scripts/docker-engine.sh status
#
# The engine runs with no bridge, no iptables and no masquerading: every build
# and container uses --network host, so no traffic leaves loopback and the
# host's firewall is not touched. `start` remembers the PID of the dockerd it
# started in $SIGNPOST_DOCKER_STATE/dockerd.pid; `stop` ends that PID and no
# other process.
set -euo pipefail

state=${SIGNPOST_DOCKER_STATE:-/tmp/signpost-dockerd}
pidfile=$state/dockerd.pid
logfile=$state/dockerd.log
docker=${DOCKER:-/usr/bin/docker}
start_timeout=${SIGNPOST_DOCKER_START_TIMEOUT:-60}

log() { printf 'docker-engine: %s\n' "$*" >&2; }

engine_up() { "$docker" info >/dev/null 2>&1; }

our_pid() {
	# Prints the PID we recorded if that process is still a dockerd.
	[[ -f $pidfile ]] || return 1
	local pid
	pid=$(<"$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/comm && $(</proc/"$pid"/comm) == dockerd ]] || return 1
	printf '%s\n' "$pid"
}

start() {
	if engine_up; then
		if pid=$(our_pid); then
			log "engine already running (dockerd PID $pid, started by this script)"
		else
			log "engine already running (not started by this script; it will not be stopped)"
		fi
		return 0
	fi
	if [[ ! -x $docker ]] || ! command -v dockerd >/dev/null; then
		log "dockerd or $docker missing: install Debian's docker.io (apt-get install docker.io)"
		return 1
	fi
	mkdir -p "$state"
	log "starting dockerd (--bridge=none --iptables=false --ip-masq=false), log in $logfile"
	# setsid: the engine must outlive the shell that started it, and must not
	# receive the terminal's signals.
	setsid dockerd --bridge=none --iptables=false --ip-masq=false \
		>"$logfile" 2>&1 </dev/null &
	local pid=$!
	printf '%s\n' "$pid" >"$pidfile"
	local i
	for ((i = 0; i < start_timeout * 2; i++)); do
		if engine_up; then
			log "engine up after $((i / 2)).$((i % 2 * 5))s (dockerd PID $pid)"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			log "dockerd exited during start; last lines of $logfile:"
			tail -n 20 "$logfile" >&2
			rm -f "$pidfile"
			return 1
		fi
		sleep 0.5
	done
	log "engine did not answer within ${start_timeout}s; stopping dockerd PID $pid"
	tail -n 20 "$logfile" >&2
	stop
	return 1
}

stop() {
	local pid
	if ! pid=$(our_pid); then
		rm -f "$pidfile"
		log "no dockerd started by this script is running; nothing to stop"
		return 0
	fi
	log "stopping dockerd PID $pid"
	kill -TERM "$pid"
	local i
	for ((i = 0; i < 60; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "dockerd PID $pid still running after 30s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

status() {
	if engine_up; then
		if pid=$(our_pid); then
			log "running (dockerd PID $pid, started by this script)"
		else
			log "running (not started by this script)"
		fi
	else
		log "not running"
		return 1
	fi
}

case ${1:-} in
start | stop | status) "$1" ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
