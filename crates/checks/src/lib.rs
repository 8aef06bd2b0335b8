//! The playbook as checks: one file per check, one ordered registry, audit checks over the engine.
