//! The bundle's container: a ustar stream in exactly one byte layout.
//!
//! Every member header is the one [`header`] writes for its name and size (mode 0644, owner
//! 0:0, time 0, a regular file, no user or group names, the name in the name field); data is
//! padded with zero bytes to a 512-byte block; the stream ends with two zero blocks and
//! nothing after them. The reader rebuilds each header from the name and size it found and
//! requires the same bytes, so a changed byte anywhere (padding included) is refused; it
//! names link, device and folder members, absolute names and `..` before that, so those get
//! errors of their own.

use std::io::{self, Read, Write};

use crate::UpdateError;

pub const BLOCK: usize = 512;

/// The longest member name (the ustar name field holds 100 bytes with its terminator).
pub const MAX_NAME: usize = 99;

/// Whether `name` may name a member: relative, `/`-separated parts of ASCII letters,
/// digits, `.`, `_` and `-`, none empty, `.` or `..`, none starting with `.`.
pub fn check_name(name: &str) -> Result<(), UpdateError> {
    let bad = |why: &str| UpdateError::BadMemberName {
        name: name.to_owned(),
        why: why.to_owned(),
    };
    if name.starts_with('/') {
        return Err(UpdateError::AbsoluteMember(name.to_owned()));
    }
    if name.split('/').any(|part| part == "..") {
        return Err(UpdateError::TraversingMember(name.to_owned()));
    }
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(bad("names have 1 to 99 bytes"));
    }
    for part in name.split('/') {
        if part.is_empty() || part.starts_with('.') {
            return Err(bad("a part is empty or starts with `.`"));
        }
        if !part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(bad("only ASCII letters, digits, `.`, `_` and `-`"));
        }
    }
    Ok(())
}

/// The header of a member: the only one the reader accepts for this name and size.
pub fn header(name: &str, size: u64) -> Result<[u8; BLOCK], UpdateError> {
    check_name(name)?;
    let mut header = tar::Header::new_ustar();
    header
        .set_path(name)
        .map_err(|e| UpdateError::BadMemberName {
            name: name.to_owned(),
            why: e.to_string(),
        })?;
    header.set_size(size);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut bytes = [0u8; BLOCK];
    bytes.copy_from_slice(header.as_bytes());
    Ok(bytes)
}

fn padding(size: u64) -> usize {
    let rest = usize::try_from(size % BLOCK as u64).expect("below 512");
    (BLOCK - rest) % BLOCK
}

/// Writes members in the canonical layout.
pub struct Writer<W: Write> {
    out: W,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// A member of `size` bytes whose data `copy` writes (it must write exactly `size`).
    pub fn member(
        &mut self,
        name: &str,
        size: u64,
        copy: impl FnOnce(&mut W) -> io::Result<u64>,
    ) -> Result<(), UpdateError> {
        self.out.write_all(&header(name, size)?)?;
        let written = copy(&mut self.out)?;
        if written != size {
            return Err(UpdateError::Io(io::Error::other(format!(
                "member `{name}`: {written} bytes written, {size} declared"
            ))));
        }
        self.out.write_all(&[0u8; BLOCK][..padding(size)])?;
        Ok(())
    }

    /// The end of the stream: two zero blocks.
    pub fn finish(mut self) -> Result<W, UpdateError> {
        self.out.write_all(&[0u8; 2 * BLOCK])?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads members, refusing anything but the canonical layout. Offsets in errors are from
/// the start of the stream.
pub struct Reader<R: Read> {
    input: R,
    offset: u64,
}

/// A member's header, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub size: u64,
    /// Where its header starts.
    pub offset: u64,
}

impl<R: Read> Reader<R> {
    pub fn new(input: R) -> Self {
        Self { input, offset: 0 }
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn read_exact(&mut self, buffer: &mut [u8]) -> Result<(), UpdateError> {
        self.input.read_exact(buffer).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                UpdateError::Truncated {
                    offset: self.offset,
                }
            } else {
                UpdateError::Io(e)
            }
        })?;
        self.offset += buffer.len() as u64;
        Ok(())
    }

    /// The next member's header, or None at the end of the stream (two zero blocks and
    /// nothing after them).
    pub fn next_member(&mut self) -> Result<Option<Member>, UpdateError> {
        let at = self.offset;
        let mut block = [0u8; BLOCK];
        self.read_exact(&mut block)?;
        if block.iter().all(|&b| b == 0) {
            self.read_exact(&mut block)?;
            if block.iter().any(|&b| b != 0) {
                return Err(UpdateError::NonCanonical {
                    offset: self.offset - BLOCK as u64,
                    what: "the end of the stream is two zero blocks".into(),
                });
            }
            let mut more = [0u8; 1];
            if self.input.read(&mut more)? != 0 {
                return Err(UpdateError::TrailingData {
                    offset: self.offset,
                });
            }
            return Ok(None);
        }
        let name_field = &block[..100];
        let end = name_field.iter().position(|&b| b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&name_field[..end]).into_owned();
        match block[156] {
            b'0' | 0 => {}
            b'1' | b'2' => return Err(UpdateError::LinkMember(name)),
            b'3' | b'4' | b'6' => return Err(UpdateError::DeviceMember(name)),
            b'5' => return Err(UpdateError::FolderMember(name)),
            other => {
                return Err(UpdateError::NonCanonical {
                    offset: at + 156,
                    what: format!("member `{name}` has type `{}`", char::from(other)),
                });
            }
        }
        check_name(&name)?;
        let size = parse_octal(&block[124..136]).ok_or_else(|| UpdateError::NonCanonical {
            offset: at + 124,
            what: format!("member `{name}` has no readable size"),
        })?;
        let expected = header(&name, size)?;
        if let Some(i) = (0..BLOCK).find(|&i| block[i] != expected[i]) {
            return Err(UpdateError::NonCanonical {
                offset: at + i as u64,
                what: format!("byte {i} of the header of `{name}`"),
            });
        }
        Ok(Some(Member {
            name,
            size,
            offset: at,
        }))
    }

    /// The data of the member just read, as a reader of exactly its size.
    pub fn data(&mut self, size: u64) -> Data<'_, R> {
        Data {
            reader: self,
            left: size,
        }
    }

    /// After a member's data: its padding, which must be zero bytes.
    pub fn end_member(&mut self, size: u64) -> Result<(), UpdateError> {
        let mut pad = [0u8; BLOCK];
        let n = padding(size);
        self.read_exact(&mut pad[..n])?;
        if let Some(i) = pad[..n].iter().position(|&b| b != 0) {
            return Err(UpdateError::NonCanonical {
                offset: self.offset - n as u64 + i as u64,
                what: "padding after a member is zero bytes".into(),
            });
        }
        Ok(())
    }
}

/// A member's data: reads stop at its end.
pub struct Data<'a, R: Read> {
    reader: &'a mut Reader<R>,
    left: u64,
}

impl<R: Read> Read for Data<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = usize::try_from(self.left.min(buffer.len() as u64)).expect("fits");
        let n = self.reader.input.read(&mut buffer[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the bundle ends inside a member",
            ));
        }
        self.left -= n as u64;
        self.reader.offset += n as u64;
        Ok(n)
    }
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_end_matches('\0').trim();
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u64::from_str_radix(digits, 8).ok()
}
