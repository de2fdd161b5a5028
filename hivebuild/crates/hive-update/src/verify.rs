//! Checking a bundle without installing it: everything `apply` checks that does not depend
//! on a device's slots (signatures against a trust root, expiry, the byte layout, every
//! payload's length and hash, and every full payload's result), with nothing written. The
//! throughput benchmark measures this next to `sha256sum`.

use std::io::{BufReader, Read};

use hive_sign::Envelope;
use time::OffsetDateTime;

use crate::UpdateError;
use crate::delta;
use crate::device::{HashingReader, check_stored, decompress_to, walk_roots};
use crate::format::Reader;
use crate::metadata::{self, BundleSigned, Carried};

/// Verify a bundle against `trusted` (the root a device would start from).
pub fn verify(
    bundle: impl Read,
    trusted: &Envelope,
    now: OffsetDateTime,
) -> Result<BundleSigned, UpdateError> {
    let mut reader = Reader::new(BufReader::with_capacity(64 * 1024, bundle));
    let (envelope, signed) = metadata::read(&mut reader)?;
    let root = walk_roots(trusted, &signed.custom.roots, now)?;
    envelope
        .verify_role(&root, "targets")
        .map_err(|e| UpdateError::Signatures(e.to_string()))?;
    hive_sign::check_expiry("bundle", &signed.expires, now)
        .map_err(|e| UpdateError::Expired(e.to_string()))?;
    for component in &signed.custom.components {
        let Some(payload) = component.payload.as_deref() else {
            continue;
        };
        let member = metadata::next_payload(&mut reader, &signed, payload)?;
        let mut data = HashingReader::new(reader.data(member.size));
        // A delta's result needs its base: its stored bytes and its header are checked.
        let mut head = Vec::new();
        if component.carried == Carried::Full {
            data = decompress_to(
                data,
                &mut std::io::sink(),
                component.length,
                &component.sha256,
                payload,
            )?;
        } else {
            (&mut data)
                .take(delta::Header::LEN as u64)
                .read_to_end(&mut head)?;
            std::io::copy(&mut data, &mut std::io::sink())?;
        }
        check_stored(&signed, payload, &data.finish())?;
        if component.carried == Carried::Delta {
            let failed = |source| UpdateError::Delta {
                component: component.name.clone(),
                source,
            };
            let header = delta::Header::read(head.as_slice()).map_err(failed)?;
            header
                .check(member.size, header.base_length, component.length)
                .map_err(failed)?;
        }
        reader.end_member(member.size)?;
    }
    metadata::expect_end(&mut reader)?;
    Ok(signed)
}
