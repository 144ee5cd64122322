//! The catch-all handler: echoes every byte back, starting with the ones
//! connmux sniffed, until the client stops sending.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use connmux::PeekableStream;

const ECHO_READ_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn serve_echo(mut stream: PeekableStream, peer: SocketAddr) -> io::Result<()> {
    stream.set_read_timeout(Some(ECHO_READ_TIMEOUT))?;
    // The clone shares the sniffed bytes, so they are echoed too.
    let mut reader = stream.try_clone()?;
    let echoed = io::copy(&mut reader, &mut stream)?;
    println!("{peer}  echo  {echoed} bytes echoed back");
    stream.shutdown(Shutdown::Write)
}
