//! Writers for every input format ingest reads: used by round-trip tests and the simulator.
//! (Owned by the simulate work; see issue 4.)
