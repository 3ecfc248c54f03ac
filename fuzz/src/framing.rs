//! Line framing: arbitrary bytes, cut into writes at arbitrary offsets,
//! through the public [`mcp_server::transport::Stream`].
//!
//! The first four bytes seed the cuts; the rest is the stream: lines of
//! JSON-RPC, or not, with `\r`, NUL, invalid UTF-8 and lines over the
//! limit. However the stream is cut, the server must answer what its lines
//! call for (see [`crate::conversation`]).

use crate::conversation::{Expectations, converse};

/// The smallest limit the server takes, so lines over it are common.
const MAX_LINE: usize = 1024;

/// One input.
pub fn run(data: &[u8]) {
    let Some((seed, stream)) = data.split_first_chunk::<4>() else {
        return;
    };
    let mut state = u32::from_le_bytes(*seed) | 1;
    let mut chunks = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        // xorshift32: cheap, and the same cuts for the same seed.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = match state % 4 {
            0 => 1,
            1 => (state >> 8) % 8 + 1,
            2 => (state >> 8) % 64 + 1,
            _ => (state >> 8) % 4096 + 1,
        };
        let (chunk, tail) = rest.split_at((size as usize).min(rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    let expect = Expectations::of(stream, MAX_LINE);
    let server = crate::everything::builder()
        .max_message_bytes(MAX_LINE)
        .build();
    crate::runtime().block_on(converse(server, chunks, &expect));
}
