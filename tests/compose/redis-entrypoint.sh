#!/bin/sh
# The official redis image's docker-entrypoint.sh, for the stand-in (tests/compose/images):
# options alone start redis-server; as root it hands the working directory (/data) to the
# `redis` user (uid 999) and runs redis-server as that user.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = 0 ]; then
    chown -R redis:redis .
    exec setpriv --reuid=999 --regid=999 --clear-groups "$0" "$@"
fi
[ "$(umask)" != 0022 ] || umask 0077
exec "$@"
