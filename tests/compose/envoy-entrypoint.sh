#!/bin/sh
# The official envoyproxy/envoy image's /docker-entrypoint.sh, for the stand-in (tests/compose/images):
# arguments starting with '-' are Envoy's; $loglevel adds --log-level; Envoy runs as the `envoy`
# user (uid 101) unless ENVOY_UID is 0 (ENVOY_UID/ENVOY_GID other than 0 pick the ids; the
# official script renumbers `envoy` with usermod, this one switches to the ids directly).
set -e
if [ "${1#-}" != "$1" ]; then
    set -- envoy "$@"
fi
if [ "$1" = 'envoy' ] && [ -n "$loglevel" ]; then
    set -- "$@" --log-level "$loglevel"
fi
if [ "$ENVOY_UID" != "0" ] && [ "$(id -u)" = 0 ]; then
    uid=${ENVOY_UID:-101}
    gid=${ENVOY_GID:-101}
    chown "$uid:$gid" /dev/stdout /dev/stderr
    exec setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"
fi
exec "$@"
