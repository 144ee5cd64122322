//! The catch-all matcher: every connection matches, even one that has sent
//! nothing yet (cmux's `Any`). Register it last.

use crate::matcher::{Matcher, Verdict};

/// Matches every connection at once, before any byte arrives; see [`any`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Any;

/// A matcher that accepts every connection without waiting for a byte.
///
/// As the last route it catches whatever the earlier routes refused; a
/// client that sends nothing reaches it when the sniff deadline passes,
/// because earlier routes are still waiting for bytes until then.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::any;
///
/// assert_eq!(any().verdict(b""), Verdict::Match);
/// assert_eq!(any().verdict(b"\x00\xff"), Verdict::Match);
/// ```
pub fn any() -> Any {
    Any
}

impl Matcher for Any {
    fn verdict(&self, _seen: &[u8]) -> Verdict {
        Verdict::Match
    }
}
