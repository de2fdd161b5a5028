//! The hosted Brain: the same core as the protection domain, run as a Linux process.
//! It prints its ready line and a few heartbeats (`--beats N`, default 3) and exits.

use brain::protocol::Message;
use brain::{Event, Supervisor};

fn main() {
    let beats = std::env::args()
        .skip_while(|arg| arg != "--beats")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3_u64);
    let mut supervisor = Supervisor::new(["net", "pdf"]);
    println!("brain: ready");
    supervisor.spawned("net");
    supervisor.handle(Event::Message {
        from: "net".into(),
        message: Message::Ready,
    });
    for _ in 0..beats {
        let beat = supervisor.handle(Event::Tick);
        println!("brain: heartbeat {beat}");
    }
    if cfg!(feature = "trace") {
        println!("brain: net is {:?}", supervisor.state("net"));
    }
}
