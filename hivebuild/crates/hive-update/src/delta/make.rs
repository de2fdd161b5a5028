//! Making a delta: the aligner (bsdiff's scan over a hash index) and the streams.
//!
//! Positions are `usize` and offsets between them `isize`: [`make`] takes files shorter
//! than 2^32 bytes (the index stores `u32` positions), so the casts between them and to
//! `u32` and `i64` below cannot wrap or truncate.
#![allow(
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use super::{HEADER_LEN, MAGIC, STREAMS, WINDOW_LOG};

/// Bytes hashed per position of the old file: the shortest match the index can find.
const SEED: usize = 8;
/// A match must beat the current alignment by more than this many bytes to replace it
/// (bsdiff's 8 makes more, shorter operations that cost more than they save).
const BETTER_BY: isize = 12;
/// A match this long at the current alignment is taken without searching further.
const GOOD_ENOUGH: usize = 32;

/// One operation: `add` bytes from `old[from..]` plus differences, then `copy` extra bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Op {
    from: usize,
    add: usize,
    copy: usize,
}

/// Positions of the old file by the hash of their first [`SEED`] bytes: a table of buckets
/// that each keep the last [`WAYS`] positions with their hash, so that a search reads one
/// bucket and then its candidates, all at once. Built on all cores (for inputs of a MiB and
/// more), each owning a range of buckets (so the result does not depend on how many there are).
struct Index<'a> {
    old: &'a [u8],
    shift: u32,
    buckets: Vec<[u32; WAYS]>,
}

const WAYS: usize = 4;
const NONE: u32 = u32::MAX;
/// Positions whose buckets are read at once.
const AHEAD: usize = 8;
/// How many parts of the new file are aligned at once (at most).
const PARTS: usize = 4;
/// Below this many input bytes a delta is made on the calling thread: starting a thread costs
/// tens of microseconds, more than the work it would take on for small files.
const THREADED_FROM: usize = 1 << 20;

/// `work` on each item, in order: on a thread each when `threaded` and there is more than one,
/// else one after another on this thread. The result does not depend on which.
fn each<I, T, F>(threaded: bool, items: I, work: F) -> Vec<T>
where
    I: IntoIterator,
    I::Item: Send,
    T: Send,
    F: Fn(I::Item) -> T + Sync,
{
    let items: Vec<I::Item> = items.into_iter().collect();
    if !threaded || items.len() < 2 {
        return items.into_iter().map(work).collect();
    }
    let work = &work;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .into_iter()
            .map(|item| scope.spawn(move || work(item)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

fn seed_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + SEED].try_into().unwrap())
}

impl<'a> Index<'a> {
    fn new(old: &'a [u8], threads: usize) -> Self {
        let positions = old.len().saturating_sub(SEED - 1);
        // One bucket per 4–8 positions: a table small enough to stay mostly in cache.
        let bits = (usize::BITS - positions.max(1 << 12).leading_zeros()).min(30) - 3;
        let shift = 64 - bits;
        let mut buckets = vec![[NONE; WAYS]; 1 << bits];
        let part = buckets.len().div_ceil(threads);
        each(
            threads > 1,
            buckets.chunks_mut(part).enumerate(),
            |(n, mine)| {
                let first = n * part;
                for at in 0..positions {
                    let slot = Self::slot(seed_at(old, at), shift);
                    if let Some(bucket) = slot.checked_sub(first).and_then(|s| mine.get_mut(s)) {
                        bucket.copy_within(0..WAYS - 1, 1);
                        bucket[0] = at as u32;
                    }
                }
            },
        );
        Index {
            old,
            shift,
            buckets,
        }
    }

    fn slot(seed: u64, shift: u32) -> usize {
        (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> shift) as usize
    }

    /// The longest match of `new[at..]` among the candidates in `bucket`, or the match at
    /// `hint` (the current alignment) when that is long already: (length, old position).
    fn search(&self, new: &[u8], at: usize, hint: isize, bucket: &[u32; WAYS]) -> (usize, usize) {
        let mut best = (0, 0);
        if (0..self.old.len() as isize).contains(&hint) {
            best = (
                common_prefix(&self.old[hint as usize..], &new[at..]),
                hint as usize,
            );
            if best.0 >= GOOD_ENOUGH {
                return best;
            }
        }
        if at + SEED > new.len() {
            return best;
        }
        let seed = seed_at(new, at);
        for &candidate in bucket {
            if candidate == NONE {
                break;
            }
            let pos = candidate as usize;
            if seed_at(self.old, pos) == seed {
                let len = SEED + common_prefix(&self.old[pos + SEED..], &new[at + SEED..]);
                if len > best.0 {
                    best = (len, pos);
                }
            }
        }
        best
    }

    /// The buckets of the positions from `at` on, read together so that their cache misses
    /// overlap.
    fn ahead(&self, new: &[u8], at: usize) -> [[u32; WAYS]; AHEAD] {
        std::array::from_fn(|k| {
            if at + k + SEED > new.len() {
                return [NONE; WAYS];
            }
            self.buckets[Self::slot(seed_at(new, at + k), self.shift)]
        })
    }
}

/// How many leading bytes `a` and `b` share.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let limit = a.len().min(b.len());
    let mut n = 0;
    while n + 8 <= limit {
        let x = u64::from_le_bytes(a[n..n + 8].try_into().unwrap())
            ^ u64::from_le_bytes(b[n..n + 8].try_into().unwrap());
        if x != 0 {
            return n + (x.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    while n < limit && a[n] == b[n] {
        n += 1;
    }
    n
}

/// How many bytes `a` and `b` share at the same positions.
fn agreeing(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x == y).count()
}

/// The length of `new[..]` against `old[..]` (from their starts) that scores best when each
/// agreeing byte counts +1 and each other byte −1: how far a match extends while at least
/// half its bytes agree.
fn extend(old: &[u8], new: &[u8]) -> usize {
    let limit = old.len().min(new.len());
    let (mut score, mut best, mut best_at) = (0isize, 0isize, 0usize);
    let mut i = 0;
    while i < limit {
        let run = common_prefix(&old[i..limit], &new[i..limit]);
        if run > 0 {
            i += run;
            score += run as isize;
            if score > best {
                (best, best_at) = (score, i);
            }
        }
        if i < limit {
            i += 1;
            score -= 1;
        }
    }
    best_at
}

/// [`extend`] backwards: from the ends of `old` and `new`.
fn extend_back(old: &[u8], new: &[u8]) -> usize {
    let limit = old.len().min(new.len());
    let (mut score, mut best, mut best_at) = (0isize, 0isize, 0usize);
    for i in 1..=limit {
        score += if old[old.len() - i] == new[new.len() - i] {
            1
        } else {
            -1
        };
        if score > best {
            (best, best_at) = (score, i);
        }
    }
    best_at
}

/// The operations that make `new[start..]` (up to `new.len()`). bsdiff's scan: at each position, the longest match is compared with how many
/// bytes the current alignment gets right over its length; a new alignment must beat it by
/// more than [`BETTER_BY`].
fn align(index: &Index, new: &[u8], start: usize) -> Vec<Op> {
    let old = index.old;
    let mut ops = Vec::new();
    let same =
        |o: isize, n: usize| (0..old.len() as isize).contains(&o) && old[o as usize] == new[n];
    let (mut scan, mut len, mut pos) = (start, 0usize, 0usize);
    let (mut ahead, mut ahead_at) = ([[NONE; WAYS]; AHEAD], usize::MAX - AHEAD);
    // A part starts on the old file's same position (or its end).
    let (mut last_scan, mut last_pos) = (start, start.min(old.len()));
    let mut last_offset = last_pos as isize - start as isize;
    while scan < new.len() {
        let mut old_score = 0isize;
        scan += len;
        let mut scored = scan;
        while scan < new.len() {
            if !(ahead_at..ahead_at + AHEAD).contains(&scan) {
                ahead = index.ahead(new, scan);
                ahead_at = scan;
            }
            let bucket = &ahead[scan - ahead_at];
            (len, pos) = index.search(new, scan, scan as isize + last_offset, bucket);
            // Bytes the current alignment gets right in [scan, scan + len).
            let end = scan + len;
            if scored < end {
                let o = scored as isize + last_offset;
                let (lo, hi) = (
                    o.max(0),
                    (end as isize + last_offset).min(old.len() as isize),
                );
                if lo < hi {
                    let skip = (lo - o) as usize;
                    old_score += agreeing(
                        &old[lo as usize..hi as usize],
                        &new[scored + skip..scored + skip + (hi - lo) as usize],
                    ) as isize;
                }
                scored = end;
            }
            let len = len as isize;
            if (len == old_score && len != 0) || len > old_score + BETTER_BY {
                break;
            }
            if scan < scored && same(scan as isize + last_offset, scan) {
                old_score -= 1;
            }
            scan += 1;
            scored = scored.max(scan);
        }
        if len as isize == old_score && scan < new.len() {
            continue;
        }
        // Extend the last match forward and this one backward while at least half of their
        // bytes agree; where they overlap, split at the best point.
        let mut forward = extend(&old[last_pos..], &new[last_scan..scan]);
        let mut backward = if scan < new.len() {
            extend_back(&old[..pos], &new[last_scan..scan])
        } else {
            0
        };
        if last_scan + forward > scan - backward {
            let overlap = last_scan + forward - (scan - backward);
            let (mut score, mut best, mut split) = (0isize, 0isize, 0usize);
            for i in 0..overlap {
                if new[last_scan + forward - overlap + i] == old[last_pos + forward - overlap + i] {
                    score += 1;
                }
                if new[scan - backward + i] == old[pos - backward + i] {
                    score -= 1;
                }
                if score > best {
                    (best, split) = (score, i + 1);
                }
            }
            forward = forward + split - overlap;
            backward -= split;
        }
        ops.push(Op {
            from: last_pos,
            add: forward,
            copy: (scan - backward) - (last_scan + forward),
        });
        last_scan = scan - backward;
        last_pos = pos - backward;
        last_offset = pos as isize - scan as isize;
    }
    ops
}

fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The six streams of a delta, before compression.
#[derive(Debug, Default)]
struct Streams {
    adds: Vec<u8>,
    copies: Vec<u8>,
    seeks: Vec<u8>,
    runs: Vec<u8>,
    differences: Vec<u8>,
    extra: Vec<u8>,
}

impl Streams {
    fn new(old: &[u8], new: &[u8], ops: &[Op]) -> Self {
        let mut streams = Streams::default();
        let mut at = 0;
        let mut zeros = 0usize;
        // An operation that adds and copies nothing is written only first (where it moves
        // the old position before anything is read; `apply` refuses one anywhere else): the
        // operation before any other reaches the next one's start with its own seek.
        let ops: Vec<&Op> = ops
            .iter()
            .enumerate()
            .filter(|(n, op)| *n == 0 || op.add + op.copy > 0)
            .map(|(_, op)| op)
            .collect();
        for (n, op) in ops.iter().enumerate() {
            push_varint(&mut streams.adds, op.add as u64);
            push_varint(&mut streams.copies, op.copy as u64);
            let next = ops.get(n + 1).map_or(op.from + op.add, |next| next.from);
            let seek = next as i64 - (op.from + op.add) as i64;
            push_varint(&mut streams.seeks, ((seek << 1) ^ (seek >> 63)) as u64);
            // Differences: runs of zeros and of non-zero bytes, alternating, across operations.
            let (o, w) = (&old[op.from..op.from + op.add], &new[at..at + op.add]);
            let mut i = 0;
            while i < op.add {
                let run = common_prefix(&o[i..], &w[i..]);
                zeros += run;
                i += run;
                if i == op.add {
                    break;
                }
                let begin = i;
                while i < op.add && o[i] != w[i] {
                    streams.differences.push(w[i].wrapping_sub(o[i]));
                    i += 1;
                }
                push_varint(&mut streams.runs, zeros as u64);
                push_varint(&mut streams.runs, (i - begin) as u64);
                zeros = 0;
            }
            at += op.add;
            streams.extra.extend_from_slice(&new[at..at + op.copy]);
            at += op.copy;
        }
        streams
    }

    fn all(&self) -> [&[u8]; 6] {
        [
            &self.adds,
            &self.copies,
            &self.seeks,
            &self.runs,
            &self.differences,
            &self.extra,
        ]
    }
}

/// A delta that makes `new` from `old`.
///
/// # Panics
///
/// If either is 4 GiB or longer (the index holds 32-bit positions; bundles carry components
/// above [`crate::write::MAX_DELTA_BASE`] whole).
pub fn make(old: &[u8], new: &[u8]) -> Vec<u8> {
    assert!(
        old.len() < NONE as usize && new.len() < NONE as usize,
        "delta inputs must be under 4 GiB"
    );
    let threads = if old.len() + new.len() < THREADED_FROM {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .min(8)
    };
    let index = Index::new(old, threads);
    // The new file in up to PARTS parts of at least a MiB, each on a thread: how it is cut
    // depends on the file only, so the same inputs give the same delta on any machine.
    let part = new.len().div_ceil(PARTS).max(1 << 20);
    let index = &index;
    let ops: Vec<Op> = each(threads > 1, 0..new.len().div_ceil(part), |n| {
        let end = ((n + 1) * part).min(new.len());
        align(index, &new[..end], n * part)
    })
    .into_iter()
    .flatten()
    .collect();
    let streams = Streams::new(old, new, &ops);
    payload(old.len() as u64, new.len() as u64, streams.all())
}

/// A delta payload of these (uncompressed) streams: the header, then each stream compressed.
pub(crate) fn payload(old: u64, new: u64, streams: [&[u8]; 6]) -> Vec<u8> {
    let threaded = streams.iter().map(|s| s.len()).sum::<usize>() >= THREADED_FROM;
    let compressed: Vec<Vec<u8>> = each(
        threaded,
        streams.into_iter().zip(STREAMS),
        |(stream, (_, level))| compress(stream, level),
    );
    let mut out = Vec::with_capacity(HEADER_LEN + compressed.iter().map(Vec::len).sum::<usize>());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&old.to_le_bytes());
    out.extend_from_slice(&new.to_le_bytes());
    for stream in &compressed {
        out.extend_from_slice(&(stream.len() as u64).to_le_bytes());
    }
    for stream in &compressed {
        out.extend_from_slice(stream);
    }
    out
}

fn compress(stream: &[u8], level: i32) -> Vec<u8> {
    let mut compressor = zstd::bulk::Compressor::new(level).expect("zstd level");
    let log = (usize::BITS - stream.len().max(1 << 10).leading_zeros()).min(WINDOW_LOG);
    compressor
        .set_parameter(zstd::zstd_safe::CParameter::WindowLog(log))
        .expect("zstd window");
    compressor.compress(stream).expect("zstd in memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_do_not_change_the_result() {
        let old: Vec<u8> = (0..3_000_000_u32)
            .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let one = Index::new(&old, 1);
        for threads in [2, 3, 8] {
            assert!(
                one.buckets == Index::new(&old, threads).buckets,
                "{threads} threads"
            );
        }
        let square = |n: u64| n * n;
        assert_eq!(each(true, 0..10, square), each(false, 0..10, square));
    }
}
