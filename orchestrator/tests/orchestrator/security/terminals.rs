//! Attack cases: terminals.
