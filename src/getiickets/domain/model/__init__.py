"""The pure model: value objects, aggregates and business errors. No ports, no I/O."""
