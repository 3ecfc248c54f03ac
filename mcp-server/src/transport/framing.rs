//! Newline-delimited framing of a byte stream, bounded in length.
//!
//! A [`tokio_util::codec::Decoder`] keeps every partly read line in the
//! `FramedRead` buffer between polls, so reading the next frame is
//! cancel-safe: a `select!` branch that loses mid-line loses nothing.

use bytes::{Buf, BytesMut};
use tokio_util::codec::Decoder;

/// One frame of the input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A whole line, without its newline.
    Line(BytesMut),
    /// A line longer than the bound; its bytes were dropped as they came.
    TooLong,
}

/// Splits input at `\n`, never holding more than `max` bytes of one line.
#[derive(Debug)]
pub(crate) struct LineDecoder {
    max: usize,
    /// Bytes of the buffer already searched for a newline, so a long line
    /// arriving in many reads is scanned once, not once per read.
    searched: usize,
    /// Skipping the rest of a line that went over the bound.
    discarding: bool,
}

impl LineDecoder {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            searched: 0,
            discarding: false,
        }
    }
}

impl Decoder for LineDecoder {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        let newline = memchr::memchr(b'\n', &buf[self.searched..]).map(|i| self.searched + i);
        let Some(end) = newline else {
            if self.discarding || buf.len() > self.max {
                // Over the bound with no end in sight: drop what is here
                // and skip the rest of the line as it arrives.
                buf.clear();
                self.searched = 0;
                self.discarding = true;
            } else {
                self.searched = buf.len();
            }
            return Ok(None);
        };
        self.searched = 0;
        if std::mem::take(&mut self.discarding) || end > self.max {
            buf.advance(end + 1);
            return Ok(Some(Frame::TooLong));
        }
        let mut line = buf.split_to(end + 1);
        line.truncate(end);
        Ok(Some(Frame::Line(line)))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        // A last line without a newline still counts.
        self.searched = 0;
        if std::mem::take(&mut self.discarding) {
            buf.clear();
            return Ok(Some(Frame::TooLong));
        }
        if buf.is_empty() {
            return Ok(None);
        }
        Ok(Some(Frame::Line(buf.split())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(decoder: &mut LineDecoder, chunks: &[&[u8]]) -> Vec<Frame> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                out.push(frame);
            }
        }
        while let Some(frame) = decoder.decode_eof(&mut buf).unwrap() {
            out.push(frame);
        }
        out
    }

    fn line(text: &str) -> Frame {
        Frame::Line(BytesMut::from(text))
    }

    #[test]
    fn splits_lines_across_reads() {
        let mut decoder = LineDecoder::new(8);
        let out = frames(&mut decoder, &[b"on", b"e\ntw", b"o\n\nthr", b"ee"]);
        assert_eq!(out, [line("one"), line("two"), line(""), line("three")]);
    }

    #[test]
    fn drops_lines_over_the_bound_and_goes_on() {
        let mut decoder = LineDecoder::new(8);
        // Over the bound in one read, and across several reads.
        let out = frames(
            &mut decoder,
            &[b"much-too-long\nok\n", b"0123456", b"789abc", b"def\nlast"],
        );
        assert_eq!(
            out,
            [Frame::TooLong, line("ok"), Frame::TooLong, line("last")]
        );
        // Exactly at the bound passes.
        let out = frames(&mut LineDecoder::new(3), &[b"abc\nabcd\n"]);
        assert_eq!(out, [line("abc"), Frame::TooLong]);
    }

    #[test]
    fn an_unfinished_long_line_at_eof_is_too_long() {
        let out = frames(&mut LineDecoder::new(4), &[b"ab\n", b"abcdefgh"]);
        assert_eq!(out, [line("ab"), Frame::TooLong]);
    }
}
