//! What a Unikraft skill's boot adds to its target's machine: the skill's memory, allocated
//! and touched when QEMU starts (`-mem-prealloc`: a paused pool VM's memory is ready, and the
//! host's first-touch page faults leave the boot; net's warm p90 29 -> 21 ms here); a CPU with a
//! hardware RNG when it links a network stack (lwip seeds from Unikraft's `ukrandom`, which
//! wants RDRAND on `x86_64` and RNDR on arm64: QEMU's `max` CPU has both, drawn from the host's
//! `getrandom`); a network device on QEMU's user network with a host port forward per `net:`
//! capability (virtio-mmio on microvm, PCI on virt; where it is and the skill's address are
//! built into the skill: `hive_manifest::guest`); and under TCG the instruction counter that
//! turns Unikraft's 100 ms TSC calibration against the PIT into ~100 000 guest instructions
//! (`shift=10`: 1 µs of guest time each; idle time follows the host's clock, `sleep=on`).
//! A skill that holds `channel:brain` gets a second serial line for it (`channel.rs`).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, UdpSocket};

use hive_manifest::caps::{self, Protocol};
use hive_manifest::guest::USER_NETWORK;
use hive_manifest::target::Arch;
use hive_manifest::{Skill, Target};

use crate::QemuError;
use crate::channel::ChannelEnd;

/// Where the host is from inside a guest under QEMU's user networking (its gateway).
pub const HOST_FROM_GUEST: Ipv4Addr = USER_NETWORK.gateway;

/// `address` as a skill's network reaches it: the host's loopback addresses are QEMU user
/// networking's gateway from inside the guest; any other address is reached as it is.
pub fn reached_from_guest(address: SocketAddrV4) -> SocketAddrV4 {
    if address.ip().is_loopback() {
        SocketAddrV4::new(HOST_FROM_GUEST, address.port())
    } else {
        address
    }
}

/// A skill's boot, besides its machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SkillMachine {
    pub args: Vec<String>,
    /// Only under TCG (`-icount` is refused with KVM).
    pub tcg_args: Vec<String>,
    /// The host's end of each `net:` capability.
    pub forwards: Vec<Forward>,
}

/// A host port that reaches the guest's port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forward {
    pub protocol: Protocol,
    pub host: SocketAddr,
    pub guest_port: u16,
}

/// The QEMU arguments of the boot of a skill that is a virtual machine of its own (a Unikraft
/// unikernel, or a stand-in built with the skill runtime) on `target`, its channel to the
/// Brain (if it holds one) going to `channel`. Host ports are free loopback ports picked now, but for
/// the UDP port `listened`, which its supervisor forwards from a fixed address once the guest
/// runs (one host socket per guest port: the guest's datagrams leave from it, so a peer sees
/// the address it sends to).
pub fn skill_machine(
    target: &Target,
    skill: &Skill,
    channel: &ChannelEnd,
    listened: Option<u16>,
) -> Result<SkillMachine, QemuError> {
    let mut machine = SkillMachine {
        tcg_args: ["-icount", "shift=10,sleep=on"].map(str::to_owned).into(),
        ..SkillMachine::default()
    };
    let mebibytes = skill.memory.0.div_ceil(1 << 20);
    machine.args.extend([
        "-m".to_owned(),
        format!("{mebibytes}M"),
        "-mem-prealloc".to_owned(),
    ]);
    if holds_brain_channel(skill) {
        machine
            .args
            .extend(["-chardev".to_owned(), channel.chardev()]);
        // The runtime's line: COM2 on microvm (which makes COM1 only), the second PL011 on
        // virt (the machine's `-serial stdio` is the first).
        machine.args.extend(match target.arch {
            Arch::X86_64 => [
                "-device".to_owned(),
                format!("isa-serial,chardev=brain,iobase={COM2:#x},irq=3"),
            ],
            Arch::Aarch64 => ["-serial".to_owned(), "chardev:brain".to_owned()],
        });
    }

    let ports: Vec<(Protocol, u16)> = caps::net_ports(&skill.caps).collect();
    if ports.is_empty() {
        return Ok(machine);
    }
    machine.args.extend(["-cpu".to_owned(), "max".to_owned()]);
    let network = USER_NETWORK;
    let mut netdev = format!(
        "user,id=net0,net={}/{},host={}",
        network.network(),
        network.prefix,
        network.gateway
    );
    for (protocol, guest_port) in ports {
        if protocol == Protocol::Udp && Some(guest_port) == listened {
            continue;
        }
        let host = free_port(protocol).map_err(QemuError::NoPort)?;
        let _ = write!(
            netdev,
            ",hostfwd={}",
            forward_rule(protocol, host, guest_port)
        );
        machine.forwards.push(Forward {
            protocol,
            host,
            guest_port,
        });
    }
    machine.args.extend([
        "-netdev".to_owned(),
        netdev,
        "-device".to_owned(),
        match target.arch {
            // microvm has no PCI bus: the first virtio-mmio transport (`hive_manifest::guest`).
            Arch::X86_64 => "virtio-net-device,netdev=net0".to_owned(),
            // virt's PCI bus, not one of its 32 virtio-mmio transports: Unikraft's platform bus
            // probes every transport of the device tree, ~1.15 ms each under TCG; on PCI net's
            // warm boot went 63 -> 39 ms (docs/unikraft.md). No option ROM: the skill boots
            // without firmware.
            Arch::Aarch64 => "virtio-net-pci,netdev=net0,romfile=".to_owned(),
        },
    ]);
    // The skill is built knowing its device and address (`hive_manifest::guest`): nothing
    // for it on the command line. Unikraft takes the command line's first word for the
    // program's name: QEMU's multiboot loader (x86_64) puts the kernel's file name there, the
    // device tree's `bootargs` (virt) has only what `-append` gives.
    if target.arch == Arch::Aarch64 {
        machine
            .args
            .extend(["-append".to_owned(), skill.name.clone()]);
    }
    Ok(machine)
}

/// A user-network forward in QEMU's syntax (`-netdev user,hostfwd=RULE`, the monitor's
/// `hostfwd_add net0 RULE`): the host's `host` to the guest's `guest_port` at its address.
pub(crate) fn forward_rule(protocol: Protocol, host: SocketAddr, guest_port: u16) -> String {
    let name = match protocol {
        Protocol::Udp => "udp",
        Protocol::Tcp => "tcp",
    };
    format!("{name}:{host}-{}:{guest_port}", USER_NETWORK.address)
}

/// The I/O port of the runtime's channel on `x86_64` (`components/skill-runtime/channel.c`).
const COM2: u16 = 0x2f8;

/// Whether the skill holds `channel:brain` (then its runtime has the line; the plan says so
/// to its build: `CONFIG_LIBHIVESKILL_BRAIN`).
pub fn holds_brain_channel(skill: &Skill) -> bool {
    caps::has_channel(&skill.caps, "brain")
}

/// A loopback port nothing listens on now.
fn free_port(protocol: Protocol) -> std::io::Result<SocketAddr> {
    let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    match protocol {
        Protocol::Udp => UdpSocket::bind(any)?.local_addr(),
        Protocol::Tcp => TcpListener::bind(any)?.local_addr(),
    }
}
