//! What a skill's virtual machine looks like from inside, on the lanes where a skill is a
//! virtual machine of its own (a Unikraft unikernel under QEMU): where its network device is
//! and which address it has. `hive-qemu` builds the machine so, and `hive-plan` renders the
//! same facts into the skill (the `net-listener` template), so that the skill does not parse
//! them from a kernel command line at boot: under TCG, parsing them (`sscanf`, Unikraft's
//! kernel parameters) and lwip's generic interface set-up were ~10 % of the instructions `net`
//! translated before `ready` (11 038 -> 9 881), its warm p50 ~19 -> ~17 ms (docs/unikraft.md).

use std::net::Ipv4Addr;

/// The network a skill's device is on: QEMU's user networking (its default `10.0.2.0/24`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestNetwork {
    /// The guest's own address.
    pub address: Ipv4Addr,
    /// The length of the network's prefix.
    pub prefix: u8,
    /// The gateway: the host, as the guest reaches it.
    pub gateway: Ipv4Addr,
}

impl GuestNetwork {
    /// The network mask the prefix makes.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(
            u32::MAX
                .checked_shl(32 - u32::from(self.prefix))
                .unwrap_or(0),
        )
    }

    /// The network's own address (the guest's, its host part cleared).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & u32::from(self.netmask()))
    }
}

/// QEMU user networking, as every skill's device is set up (`-netdev user`).
pub const USER_NETWORK: GuestNetwork = GuestNetwork {
    address: Ipv4Addr::new(10, 0, 2, 15),
    prefix: 24,
    gateway: Ipv4Addr::new(10, 0, 2, 2),
};

/// A virtio-mmio transport: where a device's registers are and its interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VirtioMmio {
    pub base: u64,
    pub size: u64,
    pub irq: u32,
}

/// Where QEMU's `microvm` puts the first virtio-mmio device (with its default `ioapic2`: the
/// last of its 24 transports from `0xfeb0_0000`, 512 bytes each, on interrupt 16 + 23). QEMU
/// tells Linux guests so on their command line (`virtio_mmio.device=512@0xfeb02e00:39`);
/// a skill is built knowing it. (`virt` describes its devices in its device tree.)
pub const MICROVM_FIRST_VIRTIO: VirtioMmio = VirtioMmio {
    base: 0xfeb0_2e00,
    size: 512,
    irq: 39,
};

/// The first virtio-mmio transport of a board whose devices a guest cannot discover (no
/// device tree, no PCI), if `board` is one.
pub fn undiscoverable_virtio(board: &str) -> Option<VirtioMmio> {
    (board == "microvm").then_some(MICROVM_FIRST_VIRTIO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netmasks_from_prefixes() {
        assert_eq!(USER_NETWORK.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(USER_NETWORK.network(), Ipv4Addr::new(10, 0, 2, 0));
        let net = |prefix| GuestNetwork {
            prefix,
            ..USER_NETWORK
        };
        assert_eq!(net(0).netmask(), Ipv4Addr::UNSPECIFIED);
        assert_eq!(net(20).netmask(), Ipv4Addr::new(255, 255, 240, 0));
        assert_eq!(net(32).netmask(), Ipv4Addr::BROADCAST);
    }

    #[test]
    fn only_microvm_hides_its_devices() {
        assert_eq!(undiscoverable_virtio("microvm"), Some(MICROVM_FIRST_VIRTIO));
        assert_eq!(undiscoverable_virtio("qemu_virt_aarch64"), None);
    }
}
