//! Attack cases: trust.
