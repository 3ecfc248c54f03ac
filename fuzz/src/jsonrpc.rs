//! JSON-RPC lines: the parser on its own, then a whole server.
//!
//! The input is JSON lines, one message (or batch) each, as a client writes
//! them. Every line goes through `Incoming::parse`; whatever parses must
//! serialize and parse back to the same message. Then the lines go, one
//! write each, to the `everything` server, which must answer every request
//! exactly once (see [`crate::conversation`]).

use mcp_server::core::jsonrpc::{Incoming, Message};

use crate::conversation::{Expectations, converse};

/// The fixture's line limit here: large enough for any line of the corpus.
const MAX_LINE: usize = 1 << 20;

/// One input.
pub fn run(data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        if let Ok(text) = std::str::from_utf8(line) {
            round_trip(text);
        }
    }
    let expect = Expectations::of(data, MAX_LINE);
    let chunks: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
    let server = crate::everything::builder()
        .max_message_bytes(MAX_LINE)
        .build();
    crate::runtime().block_on(converse(server, chunks, &expect));
}

fn round_trip(text: &str) {
    match Incoming::parse(text) {
        Ok(Incoming::Single(message)) => same_after_round_trip(&message),
        Ok(Incoming::Batch(items)) => {
            assert!(!items.is_empty(), "an empty batch parsed");
            for message in items.iter().flatten() {
                same_after_round_trip(message);
            }
        }
        Err(_) => {}
    }
}

fn same_after_round_trip(message: &Message) {
    let encoded = match serde_json::to_string(message) {
        Ok(encoded) => encoded,
        Err(e) => panic!("{message:?} does not serialize: {e}"),
    };
    let again = match Message::parse(&encoded) {
        Ok(again) => again,
        Err(e) => panic!("{encoded} (serialized from {message:?}) does not parse: {e:?}"),
    };
    let encoded_again = serde_json::to_string(&again).unwrap_or_default();
    assert_eq!(encoded, encoded_again, "a message changed in a round trip");
    assert_eq!(
        std::mem::discriminant(message),
        std::mem::discriminant(&again),
        "a message changed kind in a round trip: {encoded}"
    );
}
