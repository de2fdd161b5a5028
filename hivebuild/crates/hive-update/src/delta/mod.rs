//! Deltas between two versions of a component: an aligned difference in the manner of Colin
//! Percival's bsdiff ("Naive differences of executable code", 2003), found with a hash index
//! instead of a suffix array, and stored as zstd streams.
//!
//! When code changes, most of an executable stays the same except for the addresses and
//! offsets that moved, a few bytes in every few dozen: exact-match compressors (zstd's
//! patch-from, xdelta3) break their matches at each of them. An aligned difference pairs each
//! region of the new file with a region of the old one and keeps their bytewise difference:
//! zero but for those few bytes, and the same few values again and again.
//!
//! A delta is a list of operations, each: `add` bytes made as old + difference, reading the
//! old file from the current position on; then `copy` bytes taken as they are from the extra
//! stream; then the old position moves by `seek` (signed). It is stored as six zstd frames
//! (see [`Header`]): the three fields of the operations in three streams, the differences as
//! alternating runs of zero and non-zero bytes plus the non-zero bytes, and the extra bytes.
//! Streams of like values compress far better than one mixed stream, and they are small.
//!
//! Applying reads the old file at the positions the operations name (never all of it into
//! memory) and each stream in order, so a device needs six zstd decoders' windows (at most
//! 2^[`WINDOW_LOG`] bytes each) and a few buffers, whatever the size of the component.

use std::io::{self, Read, Write};

mod make;

pub use make::make;

/// The payload's first bytes: name and version of this encoding.
pub const MAGIC: &[u8; 8] = b"hivedlt1";
/// zstd windows of a delta's streams: 2^22 bytes (4 MiB) at most.
pub const WINDOW_LOG: u32 = 22;
/// The six streams, in the order they are stored, and the zstd level of each: the control
/// streams are small, the others are traded for time (tuned by `cargo bench -p hive-update`).
const STREAMS: [(&str, i32); 6] = [
    ("adds", 19),
    ("copies", 19),
    ("seeks", 19),
    ("runs", 15),
    ("differences", 17),
    ("extra", 15),
];
const HEADER_LEN: usize = MAGIC.len() + 8 * (2 + STREAMS.len());

/// Why a delta could not be applied (the payload's sha256 was checked before, so these mean
/// a writer's bug or a base that is not the one the delta was made against).
#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    #[error("not a hive delta (no `hivedlt1` header)")]
    Magic,
    #[error("the delta is for a base of {expected} bytes, this one has {found}")]
    BaseLength { expected: u64, found: u64 },
    #[error("the delta makes {declared} bytes, {expected} were expected")]
    ResultLength { expected: u64, declared: u64 },
    #[error("the delta's streams take {streams} bytes, the payload has {payload}")]
    Layout { streams: u64, payload: u64 },
    #[error("the `{0}` stream is not valid: {1}")]
    Stream(&'static str, String),
    #[error("the `{0}` stream ends early")]
    Short(&'static str),
    #[error("the `{0}` stream has data after the last operation")]
    Trailing(&'static str),
    #[error("an operation reads outside the base ({len} bytes at {at})")]
    OutsideBase { at: u64, len: u64 },
    #[error("an operation moves outside the base (by {seek} from {at})")]
    SeekOutside { at: u64, seek: i64 },
    #[error("an operation writes past the result's {0} bytes")]
    PastEnd(u64),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The fixed-size start of a delta payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub base_length: u64,
    pub result_length: u64,
    /// The compressed length of each stream, in [`STREAMS`] order.
    pub streams: [u64; 6],
}

impl Header {
    pub const LEN: usize = HEADER_LEN;

    /// The header at the start of `payload` (shorter than a header: not a delta).
    pub fn read(mut payload: impl Read) -> Result<Self, DeltaError> {
        let mut bytes = [0u8; HEADER_LEN];
        payload.read_exact(&mut bytes).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => DeltaError::Magic,
            _ => DeltaError::Io(e),
        })?;
        if &bytes[..MAGIC.len()] != MAGIC {
            return Err(DeltaError::Magic);
        }
        let word = |n: usize| {
            let at = MAGIC.len() + 8 * n;
            u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
        };
        Ok(Header {
            base_length: word(0),
            result_length: word(1),
            streams: std::array::from_fn(|n| word(2 + n)),
        })
    }

    /// Check the header against the payload's length and what the metadata says.
    pub fn check(&self, payload: u64, base: u64, result: u64) -> Result<(), DeltaError> {
        if self.base_length != base {
            return Err(DeltaError::BaseLength {
                expected: self.base_length,
                found: base,
            });
        }
        if self.result_length != result {
            return Err(DeltaError::ResultLength {
                expected: result,
                declared: self.result_length,
            });
        }
        let streams = self
            .streams
            .iter()
            .try_fold(HEADER_LEN as u64, |sum, n| sum.checked_add(*n));
        if streams != Some(payload) {
            return Err(DeltaError::Layout {
                streams: streams.unwrap_or(u64::MAX),
                payload,
            });
        }
        Ok(())
    }
}

/// Where a patch reads the old file: at any position, a part at a time.
pub trait Base {
    fn length(&self) -> u64;
    fn read_at(&self, buffer: &mut [u8], at: u64) -> io::Result<()>;
}

impl Base for [u8] {
    fn length(&self) -> u64 {
        self.len() as u64
    }
    fn read_at(&self, buffer: &mut [u8], at: u64) -> io::Result<()> {
        let part = usize::try_from(at)
            .ok()
            .and_then(|at| self.get(at..at.checked_add(buffer.len())?))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buffer.copy_from_slice(part);
        Ok(())
    }
}

impl Base for std::fs::File {
    fn length(&self) -> u64 {
        self.metadata().map_or(0, |m| m.len())
    }
    fn read_at(&self, buffer: &mut [u8], at: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buffer, at)
    }
}

type Decoder<R> = zstd::stream::read::Decoder<'static, io::BufReader<io::Take<R>>>;

/// One decompressed stream, read a value or a run at a time.
struct Stream<R: Read> {
    name: &'static str,
    decoder: io::BufReader<Decoder<R>>,
}

impl<R: Read> Stream<R> {
    fn new(name: &'static str, input: io::Take<R>) -> Result<Self, DeltaError> {
        let error = |e: io::Error| DeltaError::Stream(name, e.to_string());
        let mut decoder = zstd::stream::read::Decoder::new(input).map_err(error)?;
        decoder.window_log_max(WINDOW_LOG).map_err(error)?;
        Ok(Stream {
            name,
            decoder: io::BufReader::with_capacity(16 * 1024, decoder.single_frame()),
        })
    }

    fn byte(&mut self) -> Result<Option<u8>, DeltaError> {
        let mut byte = [0u8];
        match self.decoder.read(&mut byte) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(byte[0])),
            Err(e) => Err(DeltaError::Stream(self.name, e.to_string())),
        }
    }

    /// The next LEB128 value, `None` at the stream's end.
    fn varint(&mut self) -> Result<Option<u64>, DeltaError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(byte) = self.byte()? else {
                return if shift == 0 {
                    Ok(None)
                } else {
                    Err(DeltaError::Short(self.name))
                };
            };
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(Some(value));
            }
        }
        Err(DeltaError::Stream(
            self.name,
            "a value of more than 64 bits".into(),
        ))
    }

    fn value(&mut self) -> Result<u64, DeltaError> {
        self.varint()?.ok_or(DeltaError::Short(self.name))
    }

    fn exact(&mut self, buffer: &mut [u8]) -> Result<(), DeltaError> {
        self.decoder.read_exact(buffer).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => DeltaError::Short(self.name),
            _ => DeltaError::Stream(self.name, e.to_string()),
        })
    }

    /// The stream must end here, and its zstd frame where its bytes do.
    fn end(mut self) -> Result<(), DeltaError> {
        if self.byte()?.is_some() {
            return Err(DeltaError::Trailing(self.name));
        }
        let mut rest = self.decoder.into_inner().finish();
        let mut more = [0u8; 1];
        if !rest.buffer().is_empty() || rest.read(&mut more)? != 0 {
            return Err(DeltaError::Stream(
                self.name,
                "bytes after its zstd frame".into(),
            ));
        }
        Ok(())
    }
}

/// Apply a delta: `streams` opens a reader over the payload from a byte offset (the
/// payload's header already parsed and checked into `header`); the result goes to `out`,
/// exactly `header.result_length` bytes.
pub fn apply<R: Read>(
    base: &(impl Base + ?Sized),
    header: &Header,
    mut streams: impl FnMut(u64) -> io::Result<R>,
    out: &mut impl Write,
) -> Result<(), DeltaError> {
    let mut offset = HEADER_LEN as u64;
    let mut open = |n: usize| -> Result<Stream<R>, DeltaError> {
        let reader = streams(offset)?.take(header.streams[n]);
        offset += header.streams[n];
        Stream::new(STREAMS[n].0, reader)
    };
    let [
        mut adds,
        mut copies,
        mut seeks,
        mut runs,
        mut differences,
        mut extra,
    ] = [open(0)?, open(1)?, open(2)?, open(3)?, open(4)?, open(5)?];
    let (length, base_length) = (header.result_length, base.length());
    let mut buffer = vec![0u8; CHUNK];
    let mut written = 0u64;
    let mut from = 0u64;
    // Differences left over from the last operation: zeros, then non-zero bytes.
    let (mut zeros, mut nonzero) = (0u64, 0u64);
    let mut operations = 0u64;
    while let Some(add) = adds.varint()? {
        let copy = copies.value()?;
        let seek = unzigzag(seeks.value()?);
        // Every operation but the first (which may only move the old position) makes a byte
        // at least, so their number is bounded by the result's length: a stream of empty ones
        // (cheap to compress, a billion of them) is refused at the second.
        if add == 0 && copy == 0 && operations > 0 {
            return Err(DeltaError::Stream(
                "adds",
                "an operation that adds and copies nothing".into(),
            ));
        }
        if add
            .checked_add(copy)
            .and_then(|n| n.checked_add(written))
            .is_none_or(|n| n > length)
        {
            return Err(DeltaError::PastEnd(length));
        }
        if from.checked_add(add).is_none_or(|end| end > base_length) {
            return Err(DeltaError::OutsideBase { at: from, len: add });
        }
        let mut left = add;
        let mut at = from;
        while left > 0 {
            let chunk = &mut buffer[..chunk_len(left)];
            base.read_at(chunk, at)?;
            let mut i = 0;
            while i < chunk.len() {
                if zeros == 0 && nonzero == 0 {
                    // After the last non-zero run, every difference is zero.
                    let Some(next) = runs.varint()? else {
                        zeros = u64::MAX;
                        continue;
                    };
                    zeros = next;
                    nonzero = runs.value()?;
                    if nonzero == 0 {
                        return Err(DeltaError::Stream("runs", "an empty run".into()));
                    }
                }
                let skip = chunk_len(zeros).min(chunk.len() - i);
                zeros -= skip as u64;
                i += skip;
                while zeros == 0 && nonzero > 0 && i < chunk.len() {
                    let mut byte = [0u8];
                    differences.exact(&mut byte)?;
                    chunk[i] = chunk[i].wrapping_add(byte[0]);
                    nonzero -= 1;
                    i += 1;
                }
            }
            out.write_all(chunk)?;
            at += chunk.len() as u64;
            left -= chunk.len() as u64;
        }
        let mut left = copy;
        while left > 0 {
            let chunk = &mut buffer[..chunk_len(left)];
            extra.exact(chunk)?;
            out.write_all(chunk)?;
            left -= chunk.len() as u64;
        }
        written += add + copy;
        operations += 1;
        from = (from + add)
            .checked_add_signed(seek)
            .ok_or(DeltaError::SeekOutside {
                at: from + add,
                seek,
            })?;
    }
    if written != length {
        return Err(DeltaError::Short("adds"));
    }
    if nonzero != 0 {
        return Err(DeltaError::Trailing("runs"));
    }
    for stream in [adds, copies, seeks, runs, differences, extra] {
        stream.end()?;
    }
    Ok(())
}

/// Buffered work: at most this many bytes at a time.
const CHUNK: usize = 64 * 1024;

/// `left` bytes, or a buffer's worth when that is less.
fn chunk_len(left: u64) -> usize {
    usize::try_from(left).map_or(CHUNK, |left| left.min(CHUNK))
}

/// A signed value from its zigzag form (0, −1, 1, −2, … as 0, 1, 2, 3, …).
fn unzigzag(value: u64) -> i64 {
    let magnitude = i64::try_from(value >> 1).expect("63 bits");
    if value & 1 == 0 {
        magnitude
    } else {
        -magnitude - 1
    }
}

/// Apply a delta held in memory to a base in memory (tests, benchmarks, tools).
pub fn apply_in_memory(base: &[u8], payload: &[u8]) -> Result<Vec<u8>, DeltaError> {
    let header = Header::read(payload)?;
    header.check(
        payload.len() as u64,
        base.len() as u64,
        header.result_length,
    )?;
    // What the header claims is not trusted with an allocation.
    let mut out = Vec::with_capacity(chunk_len(header.result_length));
    apply(
        base,
        &header,
        |offset| {
            usize::try_from(offset)
                .ok()
                .and_then(|offset| payload.get(offset..))
                .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
        },
        &mut out,
    )?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn roundtrip(old: &[u8], new: &[u8]) -> usize {
        let delta = make(old, new);
        assert_eq!(apply_in_memory(old, &delta).unwrap(), new);
        delta.len()
    }

    fn noise(len: usize, mut state: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    #[test]
    fn round_trips_edge_cases() {
        roundtrip(b"", b"");
        roundtrip(b"", b"new");
        roundtrip(b"old", b"");
        roundtrip(b"same bytes", b"same bytes");
        roundtrip(&noise(1000, 1), &noise(1000, 2));
        roundtrip(&vec![0; 100_000], &vec![0; 100_001]);
    }

    #[test]
    fn shifted_addresses_cost_little() {
        // A "program" of 4-byte words, one in eight an address; the new one inserts 64 bytes
        // at the start and every address moves by 64.
        let code = noise(400_000, 7);
        let mut old = Vec::new();
        let mut new = vec![0x90; 64];
        for (n, word) in code.chunks(4).enumerate() {
            if n % 8 == 0 {
                let address = (n as u32).to_le_bytes();
                old.extend_from_slice(&address);
                new.extend_from_slice(&(n as u32 + 64).to_le_bytes());
            } else {
                old.extend_from_slice(word);
                new.extend_from_slice(word);
            }
        }
        let size = roundtrip(&old, &new);
        // zstd alone cannot match across the changed addresses.
        let exact = zstd::bulk::compress(&new, 19).unwrap().len();
        assert!(size * 20 < exact, "delta {size} bytes, zstd {exact}");
    }

    #[test]
    fn parts_join_across_threads() {
        // Four parts of a MiB (the smallest part), a change across the first boundary.
        let old = noise(4 << 20, 3);
        let mut new = old.clone();
        new.rotate_left(500_000);
        new[(1 << 20) - 50..(1 << 20) + 50].copy_from_slice(&noise(100, 4));
        assert_eq!(new.len().div_ceil(1 << 20), 4);
        assert!(roundtrip(&old, &new) < 1000);
    }

    #[test]
    fn corrupt_deltas_fail_cleanly() {
        let old = noise(50_000, 8);
        let mut new = old.clone();
        new[10_000..10_040].copy_from_slice(&noise(40, 9));
        new.extend_from_slice(&noise(3000, 10));
        let delta = make(&old, &new);
        for offset in 0..delta.len() {
            for bit in [0, 3, 7] {
                let mut corrupt = delta.clone();
                corrupt[offset] ^= 1 << bit;
                // An error, or some bytes no longer than declared: never a panic.
                if let Ok(made) = apply_in_memory(&old, &corrupt) {
                    assert!(
                        made.len() as u64
                            <= u64::from_le_bytes(corrupt[16..24].try_into().unwrap())
                    );
                }
            }
        }
    }

    /// A billion empty operations compress to a few KiB; applying them would take minutes.
    /// The second is refused (docs/fuzzing.md, "Bounds").
    #[test]
    fn empty_operations_are_refused_at_the_second() {
        let ops = vec![0u8; 10_000_000];
        let payload = make::payload(10, 10, [&ops, &ops, &ops, &[], &[], &[]]);
        assert!(payload.len() < 10_000, "{} bytes", payload.len());
        let error = apply_in_memory(&[0; 10], &payload).unwrap_err();
        assert!(
            error.to_string().contains("adds and copies nothing"),
            "{error}"
        );
    }

    #[test]
    fn refuses_a_wrong_base() {
        let old = noise(10_000, 5);
        let delta = make(&old, &noise(10_000, 6));
        assert!(matches!(
            apply_in_memory(&old[1..], &delta),
            Err(DeltaError::BaseLength { .. })
        ));
    }
}
