//! The load clients benches/loopback.sh needs beside wrk and curl: many
//! idle connections, and one bulk sender.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::thread;
use std::time::{Duration, Instant};

use crate::http::SINK_PREFIX;

/// What the sender writes at a time.
const SEND_CHUNK: usize = 256 * 1024;

/// How long one connection attempt may take before it is made again. A
/// server whose listen backlog (128 for std's `TcpListener`) is full drops
/// the SYN, and the kernel would retry only after a second.
const CONNECT_ATTEMPT: Duration = Duration::from_millis(20);

/// How many attempts one idle connection gets.
const CONNECT_ATTEMPTS: usize = 500;

/// Opens `count` connections to `addr` that send nothing, says so on
/// standard output, and holds them until the process is killed.
pub(crate) fn hold_idle(addr: &str, count: usize) -> io::Result<()> {
    let addr = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        held.push(connect_patiently(addr)?);
    }
    println!("held {}", held.len());
    io::stdout().flush()?;
    loop {
        thread::park();
    }
}

/// Connects to `addr`, trying again at once whenever the server's backlog
/// drops or refuses the attempt.
fn connect_patiently(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut attempts = 0;
    loop {
        match TcpStream::connect_timeout(&addr, CONNECT_ATTEMPT) {
            Ok(stream) => return Ok(stream),
            Err(error) if attempts + 1 < CONNECT_ATTEMPTS => {
                if error.kind() == io::ErrorKind::ConnectionRefused {
                    thread::sleep(CONNECT_ATTEMPT);
                }
                attempts += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Sends [`SINK_PREFIX`] and `bytes` zero bytes to `addr`, half-closes,
/// waits for the server to close, and prints the throughput.
pub(crate) fn send(addr: &str, bytes: u64) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    let chunk = vec![0u8; SEND_CHUNK];
    let started = Instant::now();
    stream.write_all(SINK_PREFIX)?;
    let mut left = bytes;
    while left > 0 {
        let step = left.min(SEND_CHUNK as u64) as usize;
        stream.write_all(&chunk[..step])?;
        left -= step as u64;
    }
    stream.shutdown(Shutdown::Write)?;
    // The server closes once it has read everything.
    let mut rest = [0u8; 64];
    while stream.read(&mut rest)? > 0 {}
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "bytes={bytes} seconds={seconds:.3} MBps={:.1}",
        bytes as f64 / seconds / 1e6
    );
    Ok(())
}
