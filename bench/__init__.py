"""``make bench``: getiickets under a ticket rush, beside the machine's own limits.

Run ``python -m bench`` (what ``make bench`` does). Everything it needs is started here,
on loopback only, and stopped at the end: a temporary PostgreSQL database, a Redis key
prefix of its own, the kernels that measure this machine's limits, the API, a worker and
the provider sandbox. Results go to ``bench/results/latest.json`` and a table on stdout.
"""
