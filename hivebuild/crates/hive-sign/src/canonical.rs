//! Canonical JSON as TUF and securesystemslib encode it (the OLPC form): object keys sorted,
//! no insignificant white space, only `"` and `\` escaped. Signatures are made and checked
//! over these bytes of the `signed` object exactly as it appears in a file, unknown fields
//! included, so metadata written by another implementation verifies.

use serde::Serialize;

pub fn to_canonical(value: &impl Serialize) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut bytes, olpc_cjson::CanonicalFormatter::new());
    value
        .serialize(&mut serializer)
        .expect("metadata serialises to canonical JSON");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_compact_and_minimally_escaped() {
        let value: serde_json::Value =
            serde_json::from_str(r#"{"b": [1, {"z": "é\n", "a": "q\"\\"}], "a": true}"#).unwrap();
        assert_eq!(
            String::from_utf8(to_canonical(&value)).unwrap(),
            "{\"a\":true,\"b\":[1,{\"a\":\"q\\\"\\\\\",\"z\":\"é\n\"}]}"
        );
    }
}
