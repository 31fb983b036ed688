//! # Lines, and raw bytes after a line
//!
//! The room speaks lines (so `nc` and telnet can join), but a file in `get` or `put` travels as
//! raw bytes right after a line that announces how many follow. A reader that buffers ahead (as
//! every efficient reader does) may already hold the first file bytes when it hands out the line,
//! so lines and raw bytes must come from the *same* buffered reader. [`LineReader`] is that
//! reader: a `BufReader` with a bounded `read_line` and an exact `read_raw`.
//!
//! The bound matters: `BufRead::read_line` keeps reading until it sees `\n`, so a peer that never
//! sends one can make it grow a `String` until memory runs out. Here a line longer than the limit
//! is refused as soon as the limit is passed.

use std::io::{self, BufRead, BufReader, Read};

use netlab_common::Error;
use netlab_common::framing::FrameError;

/// A buffered reader handing out bounded lines and exact runs of raw bytes.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: BufReader<R>,
    max_line: usize,
}

impl<R: Read> LineReader<R> {
    /// Wraps `reader`; lines over `max_line` bytes (without `\r\n`) are refused.
    pub fn new(reader: R, max_line: usize) -> Self {
        Self {
            inner: BufReader::with_capacity(64 * 1024, reader),
            max_line,
        }
    }

    /// The next line without its `\n` or `\r\n`; `Ok(None)` at a clean end of stream.
    pub fn read_line(&mut self) -> Result<Option<Vec<u8>>, Error> {
        let mut line = Vec::new();
        loop {
            let available = self
                .inner
                .fill_buf()
                .map_err(|err| Error::io("reading from the connection", err))?;
            if available.is_empty() {
                return match line.len() {
                    0 => Ok(None),
                    buffered => Err(Error::PeerClosedMidFrame { buffered }),
                };
            }
            let (part, found) = match available.iter().position(|&byte| byte == b'\n') {
                Some(at) => (available.get(..at).unwrap_or_default(), true),
                None => (available, false),
            };
            // +1: room for a `\r` that will be stripped.
            if line.len() + part.len() > self.max_line + 1 {
                return Err(FrameError::LineTooLong { max: self.max_line }.into());
            }
            line.extend_from_slice(part);
            let used = part.len() + usize::from(found);
            self.inner.consume(used);
            if found {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > self.max_line {
                    return Err(FrameError::LineTooLong { max: self.max_line }.into());
                }
                return Ok(Some(line));
            }
        }
    }

    /// Reads up to `buf.len()` raw bytes (what follows a `FILE` or `put` line).
    pub fn read_raw(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Lines and the raw bytes after them come out in order, whatever was buffered.
    #[test]
    fn lines_then_raw_bytes() {
        let mut reader = LineReader::new(&b"FILE 3 x\r\nabcnext\n"[..], 16);
        assert_eq!(reader.read_line().unwrap().unwrap(), b"FILE 3 x");
        let mut raw = [0u8; 3];
        assert_eq!(reader.read_raw(&mut raw).unwrap(), 3);
        assert_eq!(&raw, b"abc");
        assert_eq!(reader.read_line().unwrap().unwrap(), b"next");
        assert!(reader.read_line().unwrap().is_none());
    }

    /// A line over the limit is refused; one exactly at the limit is fine; a close mid-line is
    /// reported.
    #[test]
    fn limits() {
        let mut reader = LineReader::new(&b"aaaa\naaaaa\n"[..], 4);
        assert_eq!(reader.read_line().unwrap().unwrap(), b"aaaa");
        assert!(matches!(reader.read_line(), Err(Error::Frame(_))));
        let mut cut = LineReader::new(&b"abc"[..], 4);
        assert!(matches!(
            cut.read_line(),
            Err(Error::PeerClosedMidFrame { buffered: 3 })
        ));
    }
}
