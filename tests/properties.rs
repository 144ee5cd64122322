//! Properties over whole connections: for any input, split into any
//! chunks with any small delays between them, the route chosen is the one
//! the input chooses in one piece, and the handler reads exactly the bytes
//! the client sent. Checked through the in-memory source (many cases) and
//! real loopback TCP (fewer, slower cases).

mod common;

use std::net::Shutdown;
use std::thread;
use std::time::Duration;

use common::{read_to_end, serve, tcp_mux, WAIT};
use connmux::internal::{decide_whole, standard_routes};
use connmux::matchers::HTTP2_PREFACE;
use connmux::{memory, Accept, Connection, Listener, Mux};
use proptest::prelude::*;

/// Openings that steer the input toward each standard route, so the cases
/// cover every route and every near miss (openings are cut at random).
fn opening() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"GET / HTTP/1.1\r\n".to_vec()),
        Just(b"PATCH ".to_vec()),
        Just(HTTP2_PREFACE.to_vec()),
        Just(vec![
            0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c, 0x03, 0x03
        ]),
        Just(b"SSH-2.0-".to_vec()),
        Just(vec![0x05, 0x01, 0x00]),
        Just(b"*".to_vec()),
        Just(vec![0x00, 0x00]),
        Just(Vec::new()),
    ]
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    (
        opening(),
        any::<prop::sample::Index>(),
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(opening, cut, tail)| {
            let mut bytes = opening[..cut.index(opening.len() + 1)].to_vec();
            bytes.extend(tail);
            bytes
        })
}

/// Chunk sizes (1 to 40 bytes) with a delay of 0 to 2 ms after each.
fn chunking() -> impl Strategy<Value = Vec<(usize, u64)>> {
    prop::collection::vec((1usize..=40, 0u64..=2), 1..12)
}

/// Serves `mux` with the standard routes (or all but the catch-all), has
/// `client` send `payload` in `chunks`, and checks the outcome.
fn check_case<S, C>(
    mut mux: Mux<S>,
    connect: impl FnOnce(&S::Addr) -> C,
    payload: &[u8],
    chunks: &[(usize, u64)],
    with_catch_all: bool,
) -> Result<(), TestCaseError>
where
    S: Accept,
    C: Connection,
{
    let mut routes = standard_routes();
    if !with_catch_all {
        routes.pop();
    }
    let expected = decide_whole(&routes, payload);
    let listeners: Vec<Listener<S::Conn, S::Addr>> =
        routes.into_iter().map(|m| mux.route(m)).collect();
    let running = serve(mux);
    let mut client = connect(&running.addr);
    let to_send = payload.to_vec();
    let sizes = chunks.to_vec();
    let writer = thread::spawn(move || {
        let mut rest = &to_send[..];
        for (size, delay_ms) in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, after) = rest.split_at((*size).min(rest.len()));
            if client.write_all(chunk).is_err() {
                break;
            }
            rest = after;
            thread::sleep(Duration::from_millis(*delay_ms));
        }
        let _ = Connection::shutdown(&client, Shutdown::Write);
        client
    });
    match expected {
        Some(index) => {
            let accepted = listeners[index].accept_timeout(WAIT);
            prop_assert!(
                accepted.is_ok(),
                "route {} got nothing for {:02x?}",
                index,
                payload
            );
            let (mut conn, _) = accepted.unwrap();
            prop_assert_eq!(read_to_end(&mut conn), payload);
            for (other, listener) in listeners.iter().enumerate() {
                prop_assert!(
                    listener.try_accept().unwrap().is_none(),
                    "route {} also got it",
                    other
                );
            }
        }
        None => {
            let event = running.next_event();
            prop_assert_eq!(event.kind, "not_matched", "{}", event.text);
            // Refused as soon as no route can match: maybe before the end.
            prop_assert!(event.sniffed_bytes <= payload.len());
        }
    }
    drop(writer.join());
    running.stop().unwrap();
    Ok(())
}

fn memory_mux() -> (Mux<memory::MemoryListener>, memory::MemoryConnector) {
    let (source, connector) = memory::listener();
    let mux = Mux::builder()
        .sniff_deadline(Some(WAIT))
        .build(source)
        .unwrap();
    (mux, connector)
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(256) })]

    #[test]
    fn memory_route_and_bytes_do_not_depend_on_chunking(
        payload in payload(),
        chunks in chunking(),
        with_catch_all in any::<bool>(),
    ) {
        let (mux, connector) = memory_mux();
        check_case(mux, |_| connector.connect().unwrap(), &payload, &chunks, with_catch_all)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(64) })]

    #[test]
    fn tcp_route_and_bytes_do_not_depend_on_chunking(
        payload in payload(),
        chunks in chunking(),
        with_catch_all in any::<bool>(),
    ) {
        let mux = tcp_mux(Mux::builder().sniff_deadline(Some(WAIT)));
        let connect = |addr: &std::net::SocketAddr| {
            let stream = std::net::TcpStream::connect(addr).unwrap();
            stream.set_nodelay(true).unwrap();
            stream
        };
        check_case(mux, connect, &payload, &chunks, with_catch_all)?;
    }
}
