//! The Brain↔skill protocol (`brain::protocol`) and the peer deliveries the `net` skill hands
//! the Brain (`brain::peer`). The first byte chooses what the rest is: a message, a message
//! between the police and the Brain (`Routed`), a delivery, or a byte stream of frames.
//!
//! Every encoding is canonical: what decodes encodes back to the same bytes, and framed, is
//! decoded again as itself. A stream gives the same messages however its bytes arrive, and
//! its deframer never holds more than what was pushed.

use brain::peer::Delivery;
use brain::protocol::{Deframer, FRAME_HEADER, FrameError, Message, Routed};

pub fn check(data: &[u8]) -> bool {
    let Some((&what, rest)) = data.split_first() else {
        return false;
    };
    match what % 4 {
        0 => {
            let Ok(message) = Message::decode(rest) else {
                return false;
            };
            assert_eq!(message.encode(), rest, "{message:?} encodes otherwise");
            if let Ok(frame) = message.frame() {
                let mut deframer = Deframer::new();
                deframer.push(&frame);
                assert_eq!(deframer.next_message(), Some(Ok(message)));
            }
            true
        }
        1 => {
            let Ok(routed) = Routed::decode(rest) else {
                return false;
            };
            assert_eq!(routed.encode(), rest, "{routed:?} encodes otherwise");
            if let Ok(frame) = routed.frame() {
                let mut deframer = Deframer::new();
                deframer.push(&frame);
                assert_eq!(deframer.next_routed(), Some(Ok(routed)));
            }
            true
        }
        2 => {
            let Some(delivery) = Delivery::decode(rest) else {
                return false;
            };
            assert_eq!(delivery.encode(), rest, "{delivery:?} encodes otherwise");
            true
        }
        _ => stream(rest),
    }
}

/// The same stream pushed whole, and a byte at a time: the same messages, up to the first
/// error, after which a caller drops the stream.
fn stream(bytes: &[u8]) -> bool {
    let whole = messages(std::iter::once(bytes));
    let trickled = messages(bytes.chunks(1));
    assert_eq!(
        whole, trickled,
        "a stream's messages depend on how its bytes arrive"
    );
    !whole.is_empty() && whole.iter().all(Result::is_ok)
}

fn messages<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> Vec<Result<Message, FrameError>> {
    let mut deframer = Deframer::new();
    let mut out = Vec::new();
    for chunk in chunks {
        deframer.push(chunk);
        while let Some(next) = deframer.next_message() {
            let failed = next.is_err();
            if let Ok(message) = &next {
                assert!(message.encode().len() + FRAME_HEADER <= 4 + brain::protocol::FRAME_MAX);
            }
            out.push(next);
            if failed {
                return out;
            }
        }
    }
    out
}
