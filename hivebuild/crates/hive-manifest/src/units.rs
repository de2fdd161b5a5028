//! Sizes (`16MiB`) and durations (`50ms`) as written in manifests.

use std::time::Duration;

/// A memory size in bytes, written with a binary unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

pub(crate) const PAGE: u64 = 4096;

impl Size {
    /// Parse `4096KiB`, `16MiB`, `1GiB` (or a plain number of bytes with `B`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (number, unit) = split_number(text)?;
        let multiplier: u64 = match unit {
            "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "" => return Err("a size needs a unit".into()),
            "KB" | "MB" | "GB" | "k" | "K" | "M" | "G" => {
                return Err(format!(
                    "unit `{unit}` is ambiguous; sizes use binary units"
                ));
            }
            other => return Err(format!("unknown unit `{other}`")),
        };
        let bytes = number
            .checked_mul(multiplier)
            .ok_or_else(|| "size is too large".to_string())?;
        if bytes == 0 {
            return Err("a size must be more than zero".into());
        }
        if bytes % PAGE != 0 {
            return Err(format!(
                "{bytes} bytes is not a whole number of 4 KiB pages"
            ));
        }
        Ok(Self(bytes))
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (value, unit) = match self.0 {
            b if b % (1 << 30) == 0 => (b >> 30, "GiB"),
            b if b % (1 << 20) == 0 => (b >> 20, "MiB"),
            b if b % (1 << 10) == 0 => (b >> 10, "KiB"),
            b => (b, "B"),
        };
        write!(f, "{value}{unit}")
    }
}

/// Parse `500us`, `50ms`, `2s`, `90m`, `12h`, `365d`: the one duration syntax of hivebuild
/// (manifest timeouts and the command line's `--expires`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration_or_zero(text)?;
    if duration.is_zero() {
        return Err("a duration must be more than zero".into());
    }
    Ok(duration)
}

/// [`parse_duration`], taking `0s` too (`--expires 0s`: metadata that is already stale).
pub fn parse_duration_or_zero(text: &str) -> Result<Duration, String> {
    let (number, unit) = split_number(text)?;
    let seconds = |per: u64| {
        number
            .checked_mul(per)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{text}` is too long"))
    };
    let duration = match unit {
        "us" => Duration::from_micros(number),
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => seconds(60)?,
        "h" => seconds(3_600)?,
        "d" => seconds(86_400)?,
        "" => return Err("a duration needs a unit".into()),
        other => return Err(format!("unknown unit `{other}`")),
    };
    Ok(duration)
}

fn split_number(text: &str) -> Result<(u64, &str), String> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(format!("`{text}` does not start with a number"));
    }
    let number = text[..digits]
        .parse()
        .map_err(|_| format!("`{}` is too large", &text[..digits]))?;
    Ok((number, text[digits..].trim_start()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(Size::parse("16MiB"), Ok(Size(16 << 20)));
        assert_eq!(Size::parse("4096B"), Ok(Size(4096)));
        assert_eq!(Size::parse("1GiB").unwrap().to_string(), "1GiB");
        assert!(Size::parse("16MB").unwrap_err().contains("ambiguous"));
        assert!(Size::parse("16").unwrap_err().contains("needs a unit"));
        assert!(Size::parse("0MiB").unwrap_err().contains("more than zero"));
        assert!(Size::parse("100B").unwrap_err().contains("4 KiB pages"));
        assert!(Size::parse("lots").is_err());
        assert!(Size::parse("99999999999999999999GiB").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("50ms"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
        assert!(parse_duration("50").is_err());
        assert!(parse_duration("50 minutes").is_err());
        assert!(parse_duration("0ms").is_err());
        assert_eq!(parse_duration("90m"), Ok(Duration::from_mins(90)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_hours(12)));
        assert_eq!(parse_duration("365d"), Ok(Duration::from_hours(365 * 24)));
        assert!(parse_duration("99999999999999999d").is_err());
    }
}
