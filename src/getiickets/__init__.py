"""getiickets: event ticketing core (hexagonal: domain, ports, adapters, entrypoints)."""
