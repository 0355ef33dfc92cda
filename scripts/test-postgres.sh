#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for Signpost's tests.
#
#   scripts/test-postgres.sh            start a cluster, run `go test -count=1 ./...`
#                                       against it, stop it and remove it
#   scripts/test-postgres.sh run CMD..  the same, running CMD instead of go test
#   . scripts/test-postgres.sh          (sourced, as scripts/test-all.sh does) defines
#                                       signpost_pg_start and signpost_pg_stop; start
#                                       exports the variables below, stop removes
#                                       the cluster (`on_exit signpost_pg_stop`: it
#                                       sources scripts/lib.sh, whose EXIT trap runs
#                                       what on_exit registered)
#
# The cluster lives in a temp dir, is owned by the postgres user (initdb and
# the server refuse to run as root), trusts local connections and listens on
# 127.0.0.1 on a free port. Exported for the tests:
#
#   SIGNPOST_TEST_POSTGRES_URL  superuser URL; tests create a database each
#   SIGNPOST_TEST_PG_CTL        a script taking stop|start|restart, for the outage tests
#   SIGNPOST_TEST_PG_LOCK       a lock file: tests hold it shared while they use
#                               the cluster, outage tests hold it exclusively
#
# PostgreSQL 15 is installed with apt when its binaries are missing.

# scripts/lib.sh: apt_install, free_port, on_exit (sourcing it again is a no-op).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIGNPOST_PG_BIN=${SIGNPOST_PG_BIN:-/usr/lib/postgresql/15/bin}

signpost_pg_install() {
	if [[ -x $SIGNPOST_PG_BIN/initdb && -x $SIGNPOST_PG_BIN/pg_ctl ]]; then
		return 0
	fi
	echo "test-postgres: missing $SIGNPOST_PG_BIN/initdb" >&2
	apt_install postgresql-15
}

signpost_pg_start() {
	signpost_pg_install || return 1
	local dir run_as=()
	dir=$(mktemp -d "${TMPDIR:-/tmp}/signpost-pg.XXXXXX") || return 1
	if [[ $(id -u) -eq 0 ]]; then
		chown postgres: "$dir"
		chmod 700 "$dir"
		run_as=(runuser -u postgres --)
	fi
	SIGNPOST_PG_DIR=$dir
	export SIGNPOST_PG_DIR
	if ! "${run_as[@]}" "$SIGNPOST_PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust \
		--no-sync --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
		echo "test-postgres: initdb failed:" >&2
		cat "$dir/initdb.log" >&2
		return 1
	fi
	# Throwaway data: durability off for speed; room for several replicas'
	# pools at once.
	cat >>"$dir/data/postgresql.conf" <<-EOF
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$dir'
		max_connections = 300
		fsync = off
		synchronous_commit = off
		full_page_writes = off
	EOF
	# pg_ctl wrapper for the outage tests: stop|start|restart|status.
	cat >"$dir/pgctl" <<-EOF
		#!/bin/sh
		case "\$1" in
		stop) exec ${run_as[*]} $SIGNPOST_PG_BIN/pg_ctl -D $dir/data -w -t 30 -m fast stop ;;
		start) exec ${run_as[*]} $SIGNPOST_PG_BIN/pg_ctl -D $dir/data -w -t 30 -l $dir/server.log start ;;
		restart) exec ${run_as[*]} $SIGNPOST_PG_BIN/pg_ctl -D $dir/data -w -t 30 -m fast -l $dir/server.log restart ;;
		status) exec ${run_as[*]} $SIGNPOST_PG_BIN/pg_ctl -D $dir/data status ;;
		*) echo "usage: \$0 stop|start|restart|status" >&2; exit 2 ;;
		esac
	EOF
	chmod 755 "$dir/pgctl"
	touch "$dir/lock"
	chmod 666 "$dir/lock"
	local port try
	for ((try = 0; try < 5; try++)); do
		port=$(free_port) || break
		echo "port = $port" >>"$dir/data/postgresql.conf"
		if "$dir/pgctl" start >/dev/null 2>&1; then
			export SIGNPOST_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
			export SIGNPOST_TEST_PG_CTL="$dir/pgctl"
			export SIGNPOST_TEST_PG_LOCK="$dir/lock"
			echo "test-postgres: PostgreSQL $("$SIGNPOST_PG_BIN/postgres" --version | awk '{print $3}') in $dir on 127.0.0.1:$port" >&2
			return 0
		fi
		echo "test-postgres: start on port $port failed; retrying" >&2
	done
	echo "test-postgres: could not start PostgreSQL:" >&2
	cat "$dir/server.log" >&2 2>/dev/null
	return 1
}

signpost_pg_stop() {
	local dir=${SIGNPOST_PG_DIR:-}
	[[ -n $dir && -d $dir ]] || return 0
	"$dir/pgctl" stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	unset SIGNPOST_PG_DIR SIGNPOST_TEST_POSTGRES_URL SIGNPOST_TEST_PG_CTL SIGNPOST_TEST_PG_LOCK
}

# Sourced: only define the functions.
if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
	return 0
fi

set -euo pipefail
cd "$(dirname "$0")/.."
on_exit signpost_pg_stop
signpost_pg_start
if [[ ${1:-} == run ]]; then
	shift
	"$@"
else
	echo "test-postgres: go test -count=1 ./... with SIGNPOST_TEST_POSTGRES_URL set" >&2
	go test -count=1 "$@" ./...
fi
