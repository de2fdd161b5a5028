//! The delta decoder, two ways. An input starting with an even byte is a payload applied to
//! a fixed base: when it is accepted, the result has the length its header declares. An odd
//! first byte splits the rest into an old and a new file: the delta `make` writes between them
//! applies to the old and gives the new, exactly.

use hive_update::delta;

pub fn check(data: &[u8]) -> bool {
    let Some((&mode, rest)) = data.split_first() else {
        return false;
    };
    if mode % 2 == 0 {
        if let Ok(result) = delta::apply_in_memory(crate::fixture::delta_base(), rest) {
            let header = delta::Header::read(rest).expect("an applied delta has a header");
            assert_eq!(
                result.len() as u64,
                header.result_length,
                "the result's length"
            );
            return true;
        }
        false
    } else {
        // Where the old file ends: the next two bytes, as a share of the rest.
        let (split, files) = match rest {
            [a, b, files @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), files),
            _ => return false,
        };
        let (old, new) = files.split_at(split % (files.len() + 1));
        let payload = delta::make(old, new);
        let result = delta::apply_in_memory(old, &payload)
            .unwrap_or_else(|e| panic!("a delta `make` wrote does not apply: {e}"));
        assert!(result == new, "the delta `make` wrote gives other bytes");
        true
    }
}
