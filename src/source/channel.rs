//! A source the program feeds: connections of any [`Connection`] type,
//! handed over one at a time (from a TLS terminator, a socket passed by
//! systemd, another program's thread), then sniffed by a multiplexer's
//! own threads, exactly as accepted ones are.
//!
//! [`Dispatcher`](crate::Dispatcher) is the other way to route
//! connections one has in hand; it sniffs on the caller's thread, where
//! this source lets the multiplexer's pool do it, under its limits.

use std::any::Any;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::proxy::PeerOrigin;
use crate::source::accept::{Accept, WakeAccept};
use crate::source::connection::Connection;
use crate::sync::queue::{Queue, RecvError, TrySendError};

/// What the two ends share: the connections handed over and not yet
/// accepted, and how many senders are left.
struct Shared<C, A> {
    backlog: Queue<(C, A)>,
    senders: AtomicUsize,
    local_addr: A,
}

/// A source of connections the program hands over with a
/// [`ChannelSender`], holding at most `capacity` of them until the
/// multiplexer accepts them (like a listen backlog).
///
/// `accept` fails with `NotConnected` once every sender is dropped and the
/// backlog is empty, which ends a multiplexer serving it as a graceful
/// shutdown does: the connections it is sniffing finish their sniff and
/// are routed, and `serve` returns `Ok(())`
/// ([`Accept::has_ended`]).
///
/// ```
/// use connmux::{channel, matchers, memory, Mux};
/// use std::io::{Read, Write};
///
/// let (sender, source) = channel(memory::MemoryAddr(0), 64);
/// let mut mux = Mux::new(source)?;
/// let pings = mux.route(matchers::prefixes(["PING"]));
/// let handle = mux.handle();
/// let server = std::thread::spawn(move || mux.serve());
///
/// // Any connection you have in hand: here, an in-memory pair.
/// let (mut client, conn) = memory::pair();
/// client.write_all(b"PING")?;
/// sender.send(conn, memory::MemoryAddr(7))?;
/// let (mut stream, peer) = pings.accept()?;
/// let mut ping = [0u8; 4];
/// stream.read_exact(&mut ping)?;
/// assert_eq!((&ping, peer), (b"PING", memory::MemoryAddr(7)));
///
/// handle.shutdown();
/// server.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn channel<C, A>(local_addr: A, capacity: usize) -> (ChannelSender<C, A>, ChannelSource<C, A>) {
    let shared = Arc::new(Shared {
        backlog: Queue::new(capacity),
        senders: AtomicUsize::new(1),
        local_addr,
    });
    let sender = ChannelSender {
        shared: Arc::clone(&shared),
    };
    let source = ChannelSource {
        shared,
        woken: Arc::default(),
    };
    (sender, source)
}

/// The accepting end of a [`channel`].
pub struct ChannelSource<C, A> {
    shared: Arc<Shared<C, A>>,
    /// Set by the wake-up of the multiplexer this source feeds.
    woken: Arc<AtomicBool>,
}

/// The sending end of a [`channel`]; clone it for each thread that hands
/// connections over.
pub struct ChannelSender<C, A> {
    shared: Arc<Shared<C, A>>,
}

/// Why [`ChannelSender::send`] gave a connection back.
#[non_exhaustive]
pub struct SendError<C, A> {
    /// The connection, not handed over.
    pub conn: C,
    /// Its peer address.
    pub peer: A,
    /// Whether the source is gone (`false`: its backlog is full).
    pub closed: bool,
}

impl<C, A> ChannelSender<C, A> {
    /// Hands `conn`, from `peer`, to the source's multiplexer; never
    /// waits. Example: [`channel`].
    ///
    /// # Errors
    ///
    /// Gives the connection back in a [`SendError`] when the backlog is
    /// full (the multiplexer is at its limits: close it, as a kernel
    /// refuses a connection when its backlog is full) or the source has
    /// been dropped.
    pub fn send(&self, conn: C, peer: A) -> Result<(), SendError<C, A>> {
        self.shared
            .backlog
            .try_send((conn, peer))
            .map_err(|error| match error {
                TrySendError::Full((conn, peer)) => SendError {
                    conn,
                    peer,
                    closed: false,
                },
                TrySendError::Closed((conn, peer)) => SendError {
                    conn,
                    peer,
                    closed: true,
                },
            })
    }
}

impl<C, A> Clone for ChannelSender<C, A> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::SeqCst);
        ChannelSender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C, A> Drop for ChannelSender<C, A> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::SeqCst) == 1 {
            // The last sender: what is queued stays for the source.
            self.shared.backlog.close();
        }
    }
}

impl<C, A> Drop for ChannelSource<C, A> {
    fn drop(&mut self) {
        // Nobody will accept these: close them outside the lock.
        drop(self.shared.backlog.close_and_drain());
    }
}

impl<C, A> Accept for ChannelSource<C, A>
where
    C: Connection,
    A: Clone + fmt::Debug + Send + Sync + 'static,
{
    type Conn = C;
    type Addr = A;

    fn accept(&self) -> io::Result<(C, A)> {
        match self.shared.backlog.recv_unless(&self.woken) {
            Ok(connection) => Ok(connection),
            Err(RecvError::Empty) => Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "woken for shutdown",
            )),
            Err(RecvError::Closed) => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "every sender of this channel was dropped",
            )),
        }
    }

    fn local_addr(&self) -> io::Result<A> {
        Ok(self.shared.local_addr.clone())
    }

    fn wake_handle(&self) -> io::Result<WakeAccept> {
        let woken = Arc::clone(&self.woken);
        let shared = Arc::clone(&self.shared);
        Ok(Box::new(move || {
            woken.store(true, Ordering::SeqCst);
            shared.backlog.wake_receivers();
        }))
    }

    fn has_ended(&self) -> bool {
        self.shared.senders.load(Ordering::SeqCst) == 0 && self.shared.backlog.len() == 0
    }

    /// What the listeners connections are accepted from say of the same
    /// address type: an IP peer of a `SocketAddr` (as `TcpListener`), a
    /// local one of a UNIX socket address (as `UnixListener`), and
    /// `Unknown` for any other type. So a channel fed by a program's own
    /// accept loop believes PROXY headers from the same peers as the
    /// listener it stands for.
    fn peer_origin(peer: &A) -> PeerOrigin {
        let peer: &dyn Any = peer;
        if let Some(addr) = peer.downcast_ref::<SocketAddr>() {
            return PeerOrigin::Ip(addr.ip());
        }
        #[cfg(unix)]
        if peer.is::<std::os::unix::net::SocketAddr>() {
            return PeerOrigin::Local;
        }
        PeerOrigin::Unknown
    }
}

impl<C, A: fmt::Debug> fmt::Debug for ChannelSource<C, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelSource")
            .field("local_addr", &self.shared.local_addr)
            .field("queued", &self.shared.backlog.len())
            .finish()
    }
}

impl<C, A: fmt::Debug> fmt::Debug for ChannelSender<C, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelSender")
            .field("local_addr", &self.shared.local_addr)
            .finish_non_exhaustive()
    }
}

impl<C, A: fmt::Debug> fmt::Debug for SendError<C, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("peer", &self.peer)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl<C, A> fmt::Display for SendError<C, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.closed {
            "the channel's source was dropped"
        } else {
            "the channel's backlog is full"
        })
    }
}

impl<C, A: fmt::Debug> std::error::Error for SendError<C, A> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{self, MemoryAddr, MemoryStream};

    #[test]
    fn a_full_backlog_and_a_dropped_source_give_the_connection_back() {
        let (sender, source) = channel::<MemoryStream, MemoryAddr>(MemoryAddr(0), 1);
        sender.send(memory::pair().1, MemoryAddr(1)).unwrap();
        let full = sender.send(memory::pair().1, MemoryAddr(2)).unwrap_err();
        assert_eq!((full.peer, full.closed), (MemoryAddr(2), false));
        assert_eq!(source.accept().unwrap().1, MemoryAddr(1));
        drop(source);
        let closed = sender.send(memory::pair().1, MemoryAddr(3)).unwrap_err();
        assert!(closed.closed);
        assert_eq!(closed.to_string(), "the channel's source was dropped");
    }

    #[test]
    fn peers_have_the_origin_their_address_type_gives() {
        use std::net::TcpStream;
        type Tcp = ChannelSource<TcpStream, SocketAddr>;
        type Unix = ChannelSource<std::os::unix::net::UnixStream, std::os::unix::net::SocketAddr>;
        let peer: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        assert_eq!(Tcp::peer_origin(&peer), PeerOrigin::Ip(peer.ip()));
        let (local, _) = std::os::unix::net::UnixStream::pair().unwrap();
        let unnamed = local.local_addr().unwrap();
        assert_eq!(Unix::peer_origin(&unnamed), PeerOrigin::Local);
        let memory = ChannelSource::<MemoryStream, MemoryAddr>::peer_origin(&MemoryAddr(1));
        assert_eq!(memory, PeerOrigin::Unknown);
    }

    #[test]
    fn accept_ends_once_every_sender_is_gone_and_the_backlog_is_drained() {
        let (sender, source) = channel::<MemoryStream, MemoryAddr>(MemoryAddr(0), 4);
        let second = sender.clone();
        second.send(memory::pair().1, MemoryAddr(1)).unwrap();
        drop((sender, second));
        assert_eq!(source.accept().unwrap().1, MemoryAddr(1));
        let ended = source.accept().unwrap_err();
        assert_eq!(ended.kind(), io::ErrorKind::NotConnected);
    }

    #[test]
    fn the_wake_up_ends_a_waiting_accept() {
        let (_sender, source) = channel::<MemoryStream, MemoryAddr>(MemoryAddr(0), 4);
        let wake = source.wake_handle().unwrap();
        let waiting = std::thread::scope(|scope| {
            let accepting = scope.spawn(|| source.accept());
            wake();
            accepting.join().unwrap()
        });
        assert_eq!(waiting.unwrap_err().kind(), io::ErrorKind::Interrupted);
    }
}
