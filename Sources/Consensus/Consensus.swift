// Consensus: the pure Raft core (DESIGN.md section 2). No I/O, no clock, no randomness of
// its own: time arrives as `tick()`, randomness from an injected seeded generator.
