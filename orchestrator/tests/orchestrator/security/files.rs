//! Attack cases: files.
