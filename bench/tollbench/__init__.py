"""Tollgate's load benchmark: contenders, Envoy bootstraps, wrk runs, reports (stdlib only)."""
