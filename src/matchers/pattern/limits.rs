//! The bounds a pattern keeps to: the parser refuses what passes them,
//! and the matcher's state sets are sized by them.

/// The most times a repetition `{m,n}` may repeat: `n <= 1024`.
pub const PATTERN_MAX_REPEAT: u16 = 1024;

/// The most states a pattern may compile to, its final match included
/// (see [`pattern`](crate::matchers::pattern) for what a state costs).
pub const PATTERN_MAX_STATES: usize = 4096;

/// How deep groups may nest: `((…))` is two levels.
pub const PATTERN_MAX_NESTING: usize = 32;
