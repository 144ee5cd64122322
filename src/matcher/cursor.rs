//! A bounds-checked reader over a byte slice, used by every wire parser.
//!
//! Matchers parse partial input: running out of bytes is not an error but a
//! request for more (`Stop::Short`, which becomes `Verdict::NeedMore`), and
//! a value the protocol forbids is `Stop::Invalid` (`Verdict::NoMatch`).
//! Reading through this cursor instead of indexing slices by hand makes a
//! forgotten bounds check impossible.

use crate::matcher::Verdict;

/// Why a parser stopped before reaching a verdict of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The input ended before the value: more bytes could complete it.
    Short,
    /// The bytes break the protocol: no continuation can make them valid.
    Invalid,
}

impl From<Stop> for Verdict {
    fn from(stop: Stop) -> Verdict {
        match stop {
            Stop::Short => Verdict::NeedMore,
            Stop::Invalid => Verdict::NoMatch,
        }
    }
}

/// Turns a validity condition into a parser step.
pub(crate) fn require(condition: bool) -> Result<(), Stop> {
    if condition {
        Ok(())
    } else {
        Err(Stop::Invalid)
    }
}

/// Runs `parse` over the first `limit` bytes of `bytes` only: a frame whose
/// length the protocol declared, or the most a matcher reads. Running out of
/// bytes is `Stop::Short` while fewer than `limit` bytes have arrived and
/// `Stop::Invalid` once they all have, since what `parse` still wanted lies
/// past the frame or the bound.
pub(crate) fn within<'a, T>(
    bytes: &'a [u8],
    limit: usize,
    parse: impl FnOnce(&mut Cursor<'a>) -> Result<T, Stop>,
) -> Result<T, Stop> {
    let window = bytes.get(..limit).unwrap_or(bytes);
    match parse(&mut Cursor::new(window)) {
        Err(Stop::Short) if bytes.len() >= limit => Err(Stop::Invalid),
        result => result,
    }
}

/// Reads big-endian integers and byte runs from the front of a slice.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, position: 0 }
    }

    /// How many bytes are left to read.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// Takes the next `count` bytes.
    pub(crate) fn take(&mut self, count: usize) -> Result<&'a [u8], Stop> {
        if count > self.remaining() {
            return Err(Stop::Short);
        }
        let start = self.position;
        self.position += count;
        Ok(&self.bytes[start..self.position])
    }

    /// Skips the next `count` bytes.
    pub(crate) fn skip(&mut self, count: usize) -> Result<(), Stop> {
        self.take(count).map(|_| ())
    }

    /// Reads one byte.
    pub(crate) fn u8(&mut self) -> Result<u8, Stop> {
        Ok(self.take(1)?[0])
    }

    /// Reads a big-endian 16-bit integer.
    pub(crate) fn u16(&mut self) -> Result<u16, Stop> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Looks at the next byte without reading it.
    pub(crate) fn peek(&self) -> Result<u8, Stop> {
        self.bytes.get(self.position).copied().ok_or(Stop::Short)
    }

    /// Takes the longest run of next bytes that `accept` allows, which may
    /// be empty or reach the end of the input.
    pub(crate) fn take_while(&mut self, accept: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.position;
        let run = self.bytes[start..]
            .iter()
            .take_while(|&&byte| accept(byte))
            .count();
        self.position += run;
        &self.bytes[start..self.position]
    }

    /// Reads a big-endian 32-bit integer.
    pub(crate) fn u32(&mut self) -> Result<u32, Stop> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Takes the bytes before the next `delimiter` and consumes the
    /// delimiter too: a NUL-terminated string, a line. More than
    /// `max_length` bytes without the delimiter is `Stop::Invalid`.
    pub(crate) fn terminated(
        &mut self,
        delimiter: u8,
        max_length: usize,
    ) -> Result<&'a [u8], Stop> {
        let rest = &self.bytes[self.position..];
        let window = &rest[..rest.len().min(max_length.saturating_add(1))];
        match window.iter().position(|&byte| byte == delimiter) {
            Some(length) => {
                self.position += length + 1;
                Ok(&rest[..length])
            }
            None if rest.len() > max_length => Err(Stop::Invalid),
            None => Err(Stop::Short),
        }
    }

    /// The bytes not read yet, without consuming them.
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.bytes[self.position..]
    }

    /// Reads `expected` byte by byte, refusing at the first byte that
    /// differs, so that a wrong byte is `Stop::Invalid` as soon as it
    /// arrives rather than once the whole run has.
    pub(crate) fn expect(&mut self, expected: &[u8]) -> Result<(), Stop> {
        for &byte in expected {
            require(self.u8()? == byte)?;
        }
        Ok(())
    }

    /// Reads the next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Stop> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_stops_short() {
        let mut c = Cursor::new(&[0x01, 0x02, 0x03, 0x04, 0x05]);
        assert_eq!(c.u8(), Ok(0x01));
        assert_eq!(c.u16(), Ok(0x0203));
        assert_eq!(c.remaining(), 2);
        assert_eq!(c.u16(), Ok(0x0405));
        assert_eq!(c.u8(), Err(Stop::Short));
        assert_eq!(c.take(0), Ok(&[][..]));
    }

    #[test]
    fn a_short_read_consumes_nothing() {
        let mut c = Cursor::new(&[0xAA]);
        assert_eq!(c.u16(), Err(Stop::Short));
        assert_eq!(c.skip(2), Err(Stop::Short));
        assert_eq!(c.u8(), Ok(0xAA));
    }

    #[test]
    fn peeks_and_takes_runs() {
        let mut c = Cursor::new(b"abc1");
        assert_eq!(c.peek(), Ok(b'a'));
        assert_eq!(c.take_while(|b| b.is_ascii_alphabetic()), b"abc");
        assert_eq!(c.take_while(|b| b.is_ascii_alphabetic()), b"");
        assert_eq!(c.peek(), Ok(b'1'));
        assert_eq!(c.take_while(|b| b.is_ascii_digit()), b"1");
        assert_eq!(c.take_while(|_| true), b"");
        assert_eq!(c.peek(), Err(Stop::Short));
    }

    #[test]
    fn reads_u32_and_peeks_the_rest() {
        let mut c = Cursor::new(&[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
        assert_eq!(c.u16(), Ok(0x0102));
        assert_eq!(c.u8(), Ok(0x03));
        assert_eq!(c.rest(), &[0x04, 0x05, 0x06, 0x07, 0x08]);
        assert_eq!(c.u32(), Ok(0x04050607));
        assert_eq!(c.u32(), Err(Stop::Short));
        assert_eq!(c.rest(), &[0x08]);
    }

    #[test]
    fn u32_is_big_endian() {
        let mut c = Cursor::new(&[0x00, 0x03, 0x00, 0x00, 0x04, 0xd2]);
        assert_eq!(c.u32(), Ok(196_608));
        assert_eq!(c.u32(), Err(Stop::Short));
        assert_eq!(c.u16(), Ok(0x04d2));
    }

    #[test]
    fn terminated_takes_up_to_the_delimiter() {
        let mut c = Cursor::new(b"bob\0example\0x");
        assert_eq!(c.terminated(0, 3), Ok(&b"bob"[..]));
        assert_eq!(c.terminated(0, 255), Ok(&b"example"[..]));
        assert_eq!(c.terminated(0, 1), Err(Stop::Short));
        assert_eq!(c.u8(), Ok(b'x'));
        assert_eq!(Cursor::new(b"\0").terminated(0, 0), Ok(&b""[..]));
        assert_eq!(Cursor::new(b"abc").terminated(0, 3), Err(Stop::Short));
        assert_eq!(Cursor::new(b"abcd").terminated(0, 3), Err(Stop::Invalid));
        assert_eq!(Cursor::new(b"abcd\0").terminated(0, 3), Err(Stop::Invalid));
        assert_eq!(
            Cursor::new(b"a").terminated(0, usize::MAX),
            Err(Stop::Short)
        );
    }

    #[test]
    fn runs_and_arrays() {
        let mut c = Cursor::new(b"123.4 rest");
        assert_eq!(c.take_while(|b| b.is_ascii_digit() || b == b'.'), b"123.4");
        assert_eq!(c.take_while(|b| b.is_ascii_digit()), b"");
        assert_eq!(c.u8(), Ok(b' '));
        assert_eq!(c.array::<3>(), Ok(*b"res"));
        assert_eq!(c.array::<2>(), Err(Stop::Short));
        assert_eq!(c.take_while(|_| true), b"t");
        assert_eq!(c.remaining(), 0);
        assert_eq!(c.take_while(|_| true), b"");
    }

    #[test]
    fn expect_refuses_at_the_first_wrong_byte() {
        assert_eq!(Cursor::new(b"CN").expect(b"CNXN"), Err(Stop::Short));
        assert_eq!(Cursor::new(b"CX").expect(b"CNXN"), Err(Stop::Invalid));
        let mut c = Cursor::new(b"CNXN!");
        assert_eq!(c.expect(b"CNXN"), Ok(()));
        assert_eq!(c.expect(b""), Ok(()));
        assert_eq!(c.rest(), b"!");
    }

    #[test]
    fn within_reads_the_window_only() {
        let two = |c: &mut Cursor<'_>| c.u16();
        assert_eq!(within(&[0x01, 0x02, 0x03], 2, two), Ok(0x0102));
        assert_eq!(within(&[0x01], 2, two), Err(Stop::Short));
        assert_eq!(within(&[0x01], 1, two), Err(Stop::Invalid));
        assert_eq!(within(&[0x01, 0x02], 1, two), Err(Stop::Invalid));
        assert_eq!(within(b"abc", 2, |c| Ok(c.rest())), Ok(&b"ab"[..]));
    }

    #[test]
    fn stops_become_verdicts() {
        assert_eq!(Verdict::from(Stop::Short), Verdict::NeedMore);
        assert_eq!(Verdict::from(Stop::Invalid), Verdict::NoMatch);
        assert_eq!(require(true), Ok(()));
        assert_eq!(require(false), Err(Stop::Invalid));
    }
}
