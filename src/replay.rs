//! The replay buffer: the bytes a sniff read, handed to the handler first.
//!
//! A sniff reads bytes until the routes decide, then the connection moves
//! to a handler that must see those bytes exactly once, in order, followed
//! by what the sniff saw after them: nothing (the client is still sending),
//! an end of stream, or an error. This module is that small state machine,
//! kept apart from sockets so it can be tested byte by byte.

use std::io;

/// How the client's stream ended during the sniff, if it did.
#[derive(Debug)]
pub(crate) enum StreamEnd {
    /// The client shut down its sending side.
    Eof,
    /// Reading failed; the handler gets this error after the bytes.
    Error(io::Error),
}

/// The sniffed bytes not yet read, and the end that follows them.
#[derive(Debug)]
pub(crate) struct Replay {
    bytes: Vec<u8>,
    position: usize,
    end: Option<StreamEnd>,
}

impl Replay {
    /// A replay of `bytes`, followed by `end` if the stream ended.
    pub(crate) fn new(bytes: Vec<u8>, end: Option<StreamEnd>) -> Self {
        Replay {
            bytes,
            position: 0,
            end,
        }
    }

    /// Serves one read from the replay: `Some` with the result, or `None`
    /// once the bytes and the end have all been delivered, meaning further
    /// reads go to the connection itself.
    ///
    /// A read never mixes replayed bytes with an end: the bytes come in one
    /// or more reads, then `Ok(0)` or the error in the next one. A zero-length
    /// read returns `Ok(0)` and consumes nothing.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        let unread = &self.bytes[self.position..];
        if !unread.is_empty() || (self.end.is_some() && buf.is_empty()) {
            let count = unread.len().min(buf.len());
            buf[..count].copy_from_slice(&unread[..count]);
            self.position += count;
            return Some(Ok(count));
        }
        match self.end.take()? {
            StreamEnd::Eof => Some(Ok(0)),
            StreamEnd::Error(error) => Some(Err(error)),
        }
    }

    /// The bytes not yet read.
    pub(crate) fn unread(&self) -> &[u8] {
        &self.bytes[self.position..]
    }

    /// Every sniffed byte, read or not: what the routes judged.
    pub(crate) fn sniffed(&self) -> &[u8] {
        &self.bytes
    }

    /// Takes the unread bytes and the pending error out; an end of stream
    /// is left to the connection, which reports it again on its next read.
    pub(crate) fn into_parts(mut self) -> (Vec<u8>, Option<io::Error>) {
        self.bytes.drain(..self.position);
        let pending_error = match self.end {
            Some(StreamEnd::Error(error)) => Some(error),
            Some(StreamEnd::Eof) | None => None,
        };
        (self.bytes, pending_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(replay: &mut Replay, chunk: usize) -> (Vec<u8>, Option<io::Result<usize>>) {
        let mut got = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            match replay.read(&mut buf) {
                Some(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
                other => return (got, other),
            }
        }
    }

    #[test]
    fn bytes_then_nothing() {
        let mut replay = Replay::new(b"hello".to_vec(), None);
        let (got, after) = read_all(&mut replay, 2);
        assert_eq!(got, b"hello");
        assert!(after.is_none());
        assert_eq!(replay.sniffed(), b"hello", "kept for inspection");
    }

    #[test]
    fn bytes_then_eof_once() {
        let mut replay = Replay::new(b"abc".to_vec(), Some(StreamEnd::Eof));
        let (got, after) = read_all(&mut replay, 10);
        assert_eq!(got, b"abc");
        assert_eq!(after.unwrap().unwrap(), 0);
        assert!(replay.read(&mut [0u8; 4]).is_none());
    }

    #[test]
    fn bytes_then_error_never_early() {
        let error = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        let mut replay = Replay::new(b"xy".to_vec(), Some(StreamEnd::Error(error)));
        assert_eq!(replay.read(&mut []).unwrap().unwrap(), 0);
        let mut one = [0u8; 1];
        assert_eq!(replay.read(&mut one).unwrap().unwrap(), 1);
        assert_eq!(replay.read(&mut one).unwrap().unwrap(), 1);
        assert_eq!(replay.read(&mut []).unwrap().unwrap(), 0);
        let failed = replay.read(&mut one).unwrap().unwrap_err();
        assert_eq!(failed.kind(), io::ErrorKind::ConnectionReset);
        assert!(replay.read(&mut one).is_none());
    }

    #[test]
    fn into_parts_returns_what_is_left() {
        let error = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        let mut replay = Replay::new(b"abcdef".to_vec(), Some(StreamEnd::Error(error)));
        replay.read(&mut [0u8; 2]).unwrap().unwrap();
        assert_eq!(replay.unread(), b"cdef");
        let (unread, pending) = replay.into_parts();
        assert_eq!(unread, b"cdef");
        assert_eq!(pending.unwrap().kind(), io::ErrorKind::ConnectionReset);
        let (unread, pending) = Replay::new(Vec::new(), Some(StreamEnd::Eof)).into_parts();
        assert!(unread.is_empty() && pending.is_none());
    }
}
