#!/bin/sh
# Stands in for mendhak/http-https-echo (tests/compose/images): answers every request on
# $HTTP_PORT (default 8080, as that image) with what it received, as JSON.
exec tollgate-upstream --mode echo --port "${HTTP_PORT:-8080}"
