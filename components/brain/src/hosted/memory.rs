//! The Brain's memory: past requests and what came of them, embedded, in one append-only file
//! in its `memory` store. Crash-safe: each entry is appended whole and synced before the
//! answer goes out; on load, a torn or damaged tail (a crash mid-append) is ignored and cut
//! off, and every entry before it is kept.
//!
//! File format (version 1): the magic `HIVEMEM1`, then entries, each
//! `length: u32 LE | crc32(payload): u32 LE | payload`, the payload being
//! `dimensions: u16 LE | dimensions × f32 LE | text (UTF-8)`.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use super::MindError;
use super::embed::cosine;

const MAGIC: &[u8; 8] = b"HIVEMEM1";
/// The largest entry read back (a longer length field is a damaged tail).
const ENTRY_MAX: usize = 1 << 20;

pub struct Memory {
    path: PathBuf,
    file: File,
    entries: Vec<Entry>,
    /// Where the last whole entry ends: a failed append is cut back to here before anything
    /// else is appended (else the entries after a torn one would be lost on the next open).
    length: u64,
    /// An append failed and its bytes may not have been cut off yet.
    torn: bool,
    /// Bytes of a torn tail cut off when the file was opened.
    pub dropped: u64,
}

pub struct Entry {
    pub vector: Vec<f32>,
    pub text: String,
}

/// A recalled entry and how close it is to the query.
#[derive(Clone, Debug, PartialEq)]
pub struct Recalled {
    pub score: f32,
    pub text: String,
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> MindError + '_ {
    move |e| MindError::Memory {
        path: path.to_owned(),
        why: e.to_string(),
    }
}

impl Memory {
    /// Open (or create) the memory file in `folder`.
    pub fn open(folder: &Path) -> Result<Self, MindError> {
        std::fs::create_dir_all(folder).map_err(io_error(folder))?;
        let path = folder.join("memory.hive");
        let shown = path.clone();
        let error = io_error(&shown);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(&error)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(&error)?;
        if bytes.is_empty() {
            file.write_all(MAGIC).map_err(&error)?;
            file.sync_all().map_err(&error)?;
            bytes.extend_from_slice(MAGIC);
        }
        if bytes.len() < MAGIC.len() && MAGIC.starts_with(&bytes) {
            // A crash while the magic itself was written.
            file.set_len(0).map_err(&error)?;
            file.write_all(MAGIC).map_err(&error)?;
            file.sync_all().map_err(&error)?;
            bytes = MAGIC.to_vec();
        }
        if !bytes.starts_with(MAGIC) {
            return Err(MindError::Memory {
                path,
                why: "not a Brain memory file (version 1): its first bytes are not `HIVEMEM1`"
                    .into(),
            });
        }
        let (entries, valid) = parse(&bytes[MAGIC.len()..]);
        let valid = MAGIC.len() + valid;
        let dropped = (bytes.len() - valid) as u64;
        if dropped > 0 {
            file.set_len(valid as u64).map_err(&error)?;
            file.sync_all().map_err(&error)?;
        }
        file.seek(SeekFrom::End(0)).map_err(&error)?;
        Ok(Self {
            path,
            file,
            entries,
            length: valid as u64,
            torn: false,
            dropped,
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Append an entry and sync it to disk.
    pub fn remember(&mut self, vector: Vec<f32>, text: &str) -> Result<(), MindError> {
        self.remember_all(vec![(vector, text.to_owned())])
    }

    /// Append entries and sync them to disk once.
    pub fn remember_all(&mut self, entries: Vec<(Vec<f32>, String)>) -> Result<(), MindError> {
        let mut bytes = Vec::new();
        for (vector, text) in &entries {
            bytes.extend_from_slice(&self.encode(vector, text)?);
        }
        let error = io_error(&self.path);
        if self.torn {
            self.file.set_len(self.length).map_err(&error)?;
            self.torn = false;
        }
        // A failed write or sync may leave part of the entries, or all of them, in the file:
        // they were not kept, so they are cut off (now, or before the next append). Found by
        // fault injection: appended after a torn entry, later entries were lost on reopen.
        if let Err(e) = self
            .file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data())
        {
            self.torn = true;
            if self.file.set_len(self.length).is_ok() {
                self.torn = false;
            }
            return Err(error(e));
        }
        self.length += bytes.len() as u64;
        self.entries.extend(
            entries
                .into_iter()
                .map(|(vector, text)| Entry { vector, text }),
        );
        Ok(())
    }

    fn encode(&self, vector: &[f32], text: &str) -> Result<Vec<u8>, MindError> {
        let mut payload = Vec::with_capacity(2 + vector.len() * 4 + text.len());
        let dimensions = u16::try_from(vector.len()).map_err(|_| MindError::Memory {
            path: self.path.clone(),
            why: format!("a vector of {} dimensions", vector.len()),
        })?;
        payload.extend_from_slice(&dimensions.to_le_bytes());
        for x in vector {
            payload.extend_from_slice(&x.to_le_bytes());
        }
        payload.extend_from_slice(text.as_bytes());
        let mut entry = Vec::with_capacity(8 + payload.len());
        let length = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        entry.extend_from_slice(&length.to_le_bytes());
        entry.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        entry.extend_from_slice(&payload);
        Ok(entry)
    }

    /// The `k` entries closest to `query` (a unit vector), closest first.
    pub fn recall(&self, query: &[f32], k: usize) -> Vec<Recalled> {
        let mut scored: Vec<(f32, usize)> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.vector.len() == query.len())
            .map(|(i, e)| (cosine(query, &e.vector), i))
            .collect();
        let k = k.min(scored.len());
        if k == 0 {
            return Vec::new();
        }
        scored.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
        scored.truncate(k);
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored
            .into_iter()
            .map(|(score, i)| Recalled {
                score,
                text: self.entries[i].text.clone(),
            })
            .collect()
    }
}

/// The whole entries at the start of `bytes`, and how many bytes they take.
fn parse(bytes: &[u8]) -> (Vec<Entry>, usize) {
    let mut entries = Vec::new();
    let mut at = 0;
    while let Some((entry, size)) = entry(&bytes[at..]) {
        entries.push(entry);
        at += size;
    }
    (entries, at)
}

fn entry(bytes: &[u8]) -> Option<(Entry, usize)> {
    let length = usize::try_from(u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?)).ok()?;
    let crc = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    if length > ENTRY_MAX {
        return None;
    }
    let payload = bytes.get(8..8 + length)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let dimensions = usize::from(u16::from_le_bytes(payload.get(..2)?.try_into().ok()?));
    let floats = payload.get(2..2 + dimensions * 4)?;
    let vector = floats
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("four bytes")))
        .collect();
    let text = std::str::from_utf8(&payload[2 + dimensions * 4..]).ok()?;
    Some((
        Entry {
            vector,
            text: text.to_owned(),
        },
        8 + length,
    ))
}

/// The fault injector of hivebuild's crash-consistency tests, compiled into this test only:
/// not a dependency, because hivebuild builds the Brain from a copy of this package alone.
#[cfg(test)]
#[path = "../../../../hivebuild/crates/hive-faults/src/lib.rs"]
#[allow(dead_code, unreachable_pub)]
mod hive_faults;

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("brain-memory-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn unit(i: usize) -> Vec<f32> {
        let mut v = vec![0.0; 4];
        v[i % 4] = 1.0;
        v
    }

    #[test]
    fn entries_survive_a_reopen_and_recall_returns_the_closest_first() {
        let dir = folder("reopen");
        let mut memory = Memory::open(&dir).unwrap();
        memory.remember(unit(0), "zero").unwrap();
        memory.remember(unit(1), "one").unwrap();
        memory
            .remember(vec![0.6, 0.8, 0.0, 0.0], "mostly one")
            .unwrap();
        drop(memory);
        let memory = Memory::open(&dir).unwrap();
        assert_eq!(memory.len(), 3);
        assert_eq!(memory.dropped, 0);
        let recalled = memory.recall(&unit(1), 2);
        let texts: Vec<&str> = recalled.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["one", "mostly one"]);
        assert!((recalled[1].score - 0.8).abs() < 1e-6);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_torn_or_damaged_tail_is_cut_off_and_the_entries_before_it_kept() {
        let dir = folder("torn");
        let mut memory = Memory::open(&dir).unwrap();
        memory.remember(unit(0), "kept").unwrap();
        memory.remember(unit(1), "torn").unwrap();
        drop(memory);
        let path = dir.join("memory.hive");
        let whole = std::fs::read(&path).unwrap();
        // Every cut inside the second entry: the first survives, the file is cut back to it.
        let first_end = MAGIC.len() + 8 + 2 + 16 + "kept".len();
        for cut in first_end..whole.len() {
            std::fs::write(&path, &whole[..cut]).unwrap();
            let mut memory = Memory::open(&dir).unwrap();
            assert_eq!(memory.len(), 1, "cut at {cut}");
            assert_eq!(memory.dropped, (cut - first_end) as u64);
            // And appending after the cut gives a clean file again.
            memory.remember(unit(2), "after").unwrap();
            drop(memory);
            assert_eq!(Memory::open(&dir).unwrap().len(), 2);
        }
        // A flipped byte in the last entry's payload: its checksum fails, it is dropped.
        let mut damaged = whole.clone();
        *damaged.last_mut().unwrap() ^= 0x55;
        std::fs::write(&path, &damaged).unwrap();
        assert_eq!(Memory::open(&dir).unwrap().len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The child of the fault sweep: remembers five entries one at a time, going on after a
    /// failure (as the Brain answers the next request), and prints each it was told is kept.
    #[test]
    #[ignore = "run by the fault sweep, in a child process"]
    fn child_remember() {
        let dir = PathBuf::from(std::env::var("HIVE_FAULTS_MEMORY").unwrap());
        let mut memory = Memory::open(&dir).unwrap();
        for i in 0..5 {
            if memory.remember(unit(i), &format!("entry {i}")).is_ok() {
                println!("remembered entry {i}");
            }
        }
    }

    /// The texts a memory holds, reopened.
    fn texts(dir: &Path) -> Vec<String> {
        let memory = Memory::open(dir).unwrap();
        memory.entries.iter().map(|e| e.text.clone()).collect()
    }

    /// Every write and sync of remembering fails (EIO, ENOSPC, a short write) or is the last
    /// thing the process does, one at a time (hive-faults). After each, the memory reopens
    /// with every entry it said it kept, in order, and nothing else but entries it was asked
    /// to keep; the next run adds to it.
    #[test]
    fn the_memory_survives_a_fault_at_every_write_and_sync() {
        let Some(injector) = super::hive_faults::Injector::for_test() else {
            return;
        };
        let dir = folder("faults");
        let report = injector.sweep(
            &dir,
            || {
                let _ = std::fs::remove_dir_all(&dir);
                Memory::open(&dir)
                    .unwrap()
                    .remember(unit(9), "before")
                    .unwrap();
                let mut command = std::process::Command::new(std::env::current_exe().unwrap());
                command
                    .args([
                        "hosted::memory::tests::child_remember",
                        "--exact",
                        "--ignored",
                    ])
                    .args(["--nocapture", "--test-threads", "1"])
                    .env("HIVE_FAULTS_MEMORY", &dir);
                command
            },
            |fault, run| {
                let found = texts(&dir);
                let told: Vec<String> = run
                    .stdout
                    .lines()
                    .filter_map(|l| l.strip_prefix("remembered "))
                    .map(str::to_owned)
                    .collect();
                assert_eq!(
                    found.first().map(String::as_str),
                    Some("before"),
                    "{fault:?}"
                );
                let mut rest = found[1..].iter();
                for kept in &told {
                    assert!(
                        rest.any(|f| f == kept),
                        "{fault:?}: `{kept}` was kept, the memory has {found:?}"
                    );
                }
                assert!(
                    found[1..].iter().all(|f| f.starts_with("entry ")),
                    "{fault:?}: {found:?}"
                );
                let mut memory = Memory::open(&dir).unwrap();
                memory.remember(unit(0), "after").unwrap();
                drop(memory);
                assert_eq!(
                    texts(&dir),
                    [&found[..], &["after".to_owned()]].concat(),
                    "{fault:?}"
                );
            },
        );
        eprintln!(
            "memory: {} injection points, {} runs",
            report.points, report.runs
        );
        assert!(report.points >= 10, "{report:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_that_is_not_a_memory_is_refused_not_overwritten() {
        let dir = folder("foreign");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("memory.hive"), b"something else entirely").unwrap();
        let error = Memory::open(&dir).err().unwrap().to_string();
        assert!(error.contains("not a Brain memory file"), "{error}");
        assert_eq!(
            std::fs::read(dir.join("memory.hive")).unwrap(),
            b"something else entirely"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
