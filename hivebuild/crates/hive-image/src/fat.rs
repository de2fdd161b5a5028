//! FAT32 partitions through the `fatfs` crate: format with a volume id derived from the
//! content, then create folders and files in sorted order with every timestamp set to
//! `SOURCE_DATE_EPOCH` (clamped to what FAT can store, 1980–2107).

use std::io::{self, Read as _, Write as _};

use fatfs::{
    Date, DateTime, FatType, FileSystem, FormatVolumeOptions, FsOptions, Time, TimeProvider,
};

use crate::window::Window;

#[derive(Debug)]
struct FixedTime(DateTime);

impl TimeProvider for FixedTime {
    fn get_current_date(&self) -> Date {
        self.0.date
    }

    fn get_current_date_time(&self) -> DateTime {
        self.0
    }
}

/// `fatfs` wants a `'static` clock; one small leak per distinct timestamp per process.
fn clock(epoch: u64) -> &'static FixedTime {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    static CLOCKS: Mutex<BTreeMap<u64, &'static FixedTime>> = Mutex::new(BTreeMap::new());
    let mut clocks = CLOCKS.lock().expect("clock table");
    clocks
        .entry(epoch)
        .or_insert_with(|| Box::leak(Box::new(FixedTime(to_dos(epoch)))))
}

/// Seconds since 1970 to a FAT date and time (UTC), clamped to FAT's range.
fn to_dos(epoch: u64) -> DateTime {
    let days = i64::try_from(epoch / 86_400).unwrap_or(i64::MAX);
    let seconds = epoch % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let clamp = |v: i64| u16::try_from(v).unwrap_or(0);
    if year < 1980 {
        return DateTime {
            date: Date {
                year: 1980,
                month: 1,
                day: 1,
            },
            time: Time {
                hour: 0,
                min: 0,
                sec: 0,
                millis: 0,
            },
        };
    }
    if year > 2107 {
        return DateTime {
            date: Date {
                year: 2107,
                month: 12,
                day: 31,
            },
            time: Time {
                hour: 23,
                min: 59,
                sec: 58,
                millis: 0,
            },
        };
    }
    DateTime {
        date: Date {
            year: clamp(year),
            month: clamp(month),
            day: clamp(day),
        },
        time: Time {
            hour: clamp(i64::try_from(seconds / 3600).unwrap_or(0)),
            min: clamp(i64::try_from(seconds % 3600 / 60).unwrap_or(0)),
            sec: clamp(i64::try_from(seconds % 60).unwrap_or(0)),
            millis: 0,
        },
    }
}

fn label_bytes(label: &str) -> [u8; 11] {
    let mut bytes = [b' '; 11];
    for (slot, byte) in bytes.iter_mut().zip(label.bytes()) {
        *slot = byte;
    }
    bytes
}

pub(crate) fn write(
    mut disk: Window<'_>,
    volume_id: u32,
    label: &str,
    files: &[(String, Vec<u8>, String)],
    epoch: u64,
) -> io::Result<()> {
    fatfs::format_volume(
        &mut disk,
        FormatVolumeOptions::new()
            .fat_type(FatType::Fat32)
            .volume_id(volume_id)
            .volume_label(label_bytes(label)),
    )?;
    io::Seek::seek(&mut disk, io::SeekFrom::Start(0))?;
    let filesystem = FileSystem::new(
        disk,
        FsOptions::new()
            .update_accessed_date(false)
            .time_provider(clock(epoch)),
    )?;
    {
        let root = filesystem.root_dir();
        for (path, bytes, _) in files {
            let parts: Vec<&str> = path.split('/').collect();
            let mut dir = root.clone();
            for folder in &parts[..parts.len() - 1] {
                dir = match dir.open_dir(folder) {
                    Ok(existing) => existing,
                    Err(_) => dir.create_dir(folder)?,
                };
            }
            let mut file = dir.create_file(parts[parts.len() - 1])?;
            file.truncate()?;
            file.write_all(bytes)?;
            file.flush()?;
        }
    }
    filesystem.unmount()
}

/// How deep folders may nest in a file system `read_all` reads: FAT's paths are at most 260
/// characters, so a deeper tree is a loop (a folder that holds itself or one above it).
pub(crate) const MAX_DEPTH: usize = 128;

/// Every file of a FAT file system, as (path, bytes), sorted by path. Bounded however the
/// file system lies: folders nest at most [`MAX_DEPTH`] deep, and the entries (32 bytes each)
/// and the files' bytes add up to no more than the partition holds (more means clusters
/// shared, or a folder's clusters in a loop); either is an error, as is anything `fatfs`
/// refuses.
pub(crate) fn read_all(disk: Window<'_>) -> io::Result<Vec<(String, Vec<u8>)>> {
    // `fatfs` 0.3.6 turns cluster numbers into offsets with unchecked arithmetic: a cluster
    // below 2 in a corrupt file system overflows there, which panics in a debug build (a
    // release build wraps, and the read fails). Found by fuzzing; the panic is the file
    // system's corruption, reported as such.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_all_unguarded(disk)))
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a cluster number outside the file system",
            ))
        })
}

fn read_all_unguarded(disk: Window<'_>) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut budget = disk.len();
    let corrupt = |message: String| io::Error::new(io::ErrorKind::InvalidData, message);
    let filesystem = FileSystem::new(disk, FsOptions::new().update_accessed_date(false))?;
    let mut out = Vec::new();
    let mut pending = vec![(String::new(), 0, filesystem.root_dir())];
    while let Some((prefix, depth, dir)) = pending.pop() {
        for entry in dir.iter() {
            let entry = entry?;
            let name = entry.file_name();
            if name == "." || name == ".." {
                continue;
            }
            let path = format!("{prefix}{name}");
            // Every entry takes 32 bytes of its folder: a folder that never ends (its clusters
            // in a loop) runs out of partition.
            budget = budget.checked_sub(32).ok_or_else(|| {
                corrupt(format!("more entries than the partition holds at `{path}`"))
            })?;
            if entry.is_dir() {
                if depth == MAX_DEPTH {
                    return Err(corrupt(format!(
                        "folders nest more than {MAX_DEPTH} deep at `{path}` (a folder inside itself?)"
                    )));
                }
                pending.push((format!("{path}/"), depth + 1, entry.to_dir()));
            } else {
                let size = entry.len();
                budget = budget.checked_sub(size).ok_or_else(|| {
                    corrupt(format!(
                        "`{path}` ({size} bytes) and the files before it are more than the partition holds"
                    ))
                })?;
                let mut bytes = Vec::new();
                entry.to_file().read_to_end(&mut bytes)?;
                out.push((path, bytes));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_times() {
        let at = |e| {
            let t = to_dos(e);
            (
                t.date.year,
                t.date.month,
                t.date.day,
                t.time.hour,
                t.time.min,
                t.time.sec,
            )
        };
        assert_eq!(at(315_532_800), (1980, 1, 1, 0, 0, 0));
        assert_eq!(at(1_700_000_000), (2023, 11, 14, 22, 13, 20));
        assert_eq!(at(0), (1980, 1, 1, 0, 0, 0), "before 1980 is clamped");
        assert_eq!(at(951_782_400), (2000, 2, 29, 0, 0, 0));
    }
}
