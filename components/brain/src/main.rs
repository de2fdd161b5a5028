//! The hosted Brain: the same core as the protection domain, run as a Linux process.
//!
//! With no arguments (or `--beats N`) it prints its ready line and a few heartbeats (default
//! 3) and exits. Built with the `mind` feature it also thinks: `brain serve` is the Brain the
//! hosted police starts, and `brain bench` measures its engine (`hosted/`).

#[cfg(all(feature = "mind", target_os = "linux"))]
mod hosted;

use brain::protocol::Message;
use brain::{Event, Supervisor};

fn main() -> std::process::ExitCode {
    #[cfg(all(feature = "mind", target_os = "linux"))]
    if let Some(code) = mind() {
        return code;
    }
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
    std::process::ExitCode::SUCCESS
}

/// `brain serve ...` and `brain bench ...`; `None` for the heartbeat mode.
#[cfg(all(feature = "mind", target_os = "linux"))]
fn mind() -> Option<std::process::ExitCode> {
    let mut args = std::env::args().skip(1);
    let command = args.next()?;
    let json = std::env::args().any(|a| a == "--json");
    let args = args.filter(|a| a != "--json");
    let result = match command.as_str() {
        "serve" => hosted::Args::parse(args).and_then(|a| hosted::serve(&a)),
        "bench" => hosted::Args::parse(args)
            .and_then(|a| hosted::bench::run(&a))
            .map(|figures| {
                if json {
                    println!(
                        "{}",
                        serde_json::to_string(&figures).expect("figures serialise")
                    );
                } else {
                    hosted::bench::print(&figures);
                }
            }),
        _ => return None,
    };
    Some(match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("brain: error: {error}");
            std::process::ExitCode::FAILURE
        }
    })
}
